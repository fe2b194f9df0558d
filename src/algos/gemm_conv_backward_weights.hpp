// src/algos/gemm_conv_backward_weights.hpp — accessor for the GEMM weight-gradient algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& gemm_conv_backward_weights_algorithm();

}  // namespace convkit::detail
