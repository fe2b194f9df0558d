// src/kernels/gemm/gemm_avx2.cpp — GEMM micro-kernels for AVX2+FMA (compiled with -mavx2 -mfma).
#include <cstdint>

#include "kernels/gemm/gemm_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/gemm/gemm_ukernel.inc"

namespace convkit::detail {

// 6 rows × 2 ymm: 12 accumulators of the 16 ymm registers.
const GemmKernels gemm_kernels_avx2 = {
    {&gemm_ukernel<float, 6, 2>, 6, 16, "f32_gemm_6x16__avx2"},
    {&gemm_ukernel<double, 6, 2>, 6, 8, "f64_gemm_6x8__avx2"},
};

}  // namespace convkit::detail
