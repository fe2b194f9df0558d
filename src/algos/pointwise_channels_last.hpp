// src/algos/pointwise_channels_last.hpp — accessor for the channels-last 1×1 GEMM algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& pointwise_channels_last_algorithm();

}  // namespace convkit::detail
