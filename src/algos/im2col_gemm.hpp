// src/algos/im2col_gemm.hpp — accessor for the im2col + GEMM forward algorithm.
#pragma once

#include <string>

#include "algos/algorithm.hpp"
#include "core/cpu_features.hpp"

namespace convkit::detail {

const Algorithm& im2col_gemm_algorithm();
/// Name of the micro-kernel the algorithm runs for `t` on `isa`, e.g. "f32_gemm_8x32__avx512".
std::string gemm_kernel_name(DType t, Isa isa);

}  // namespace convkit::detail
