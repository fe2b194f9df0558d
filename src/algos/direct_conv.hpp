// src/algos/direct_conv.hpp — accessor for the direct (shifted-input) forward algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& direct_conv_algorithm();

}  // namespace convkit::detail
