// src/algos/depthwise_conv.hpp — accessor for the depthwise forward algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& depthwise_conv_algorithm();

}  // namespace convkit::detail
