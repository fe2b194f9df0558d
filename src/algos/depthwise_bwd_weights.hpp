// src/algos/depthwise_bwd_weights.hpp — accessor for the depthwise weight-gradient algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& depthwise_bwd_weights_algorithm();

}  // namespace convkit::detail
