// src/algos/direct_conv_backward_weights.hpp — accessor for the direct weight-gradient algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& direct_conv_backward_weights_algorithm();

}  // namespace convkit::detail
