// src/algos/pointwise_bwd_data.hpp — accessor for the 1×1 backward-data GEMM algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& pointwise_bwd_data_algorithm();

}  // namespace convkit::detail
