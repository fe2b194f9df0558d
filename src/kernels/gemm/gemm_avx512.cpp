// src/kernels/gemm/gemm_avx512.cpp — GEMM micro-kernels for AVX-512F (compiled with -mavx512f).
#include <cstdint>

#include "kernels/gemm/gemm_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#include "kernels/gemm/gemm_ukernel.inc"

namespace convkit::detail {

// 8 rows × 2 zmm: 16 accumulators, 2 B loads and 8 broadcasts per 16 FMAs.
const GemmKernels gemm_kernels_avx512 = {
    {&gemm_ukernel<float, 8, 2>, 8, 32, "f32_gemm_8x32__avx512"},
    {&gemm_ukernel<double, 8, 2>, 8, 16, "f64_gemm_8x16__avx512"},
};

}  // namespace convkit::detail
