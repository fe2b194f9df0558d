// src/algos/reference_algorithm.hpp — accessor for the reference algorithm object.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& reference_algorithm();

}  // namespace convkit::detail
