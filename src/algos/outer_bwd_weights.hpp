// src/algos/outer_bwd_weights.hpp — accessor for the outer-product weight-gradient algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& outer_bwd_weights_algorithm();

}  // namespace convkit::detail
