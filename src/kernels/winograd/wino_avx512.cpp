// src/kernels/winograd/wino_avx512.cpp — Winograd F(4×4, 3×3) float32 kernels for AVX-512F.
#include "kernels/winograd/wino_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#include "kernels/winograd/wino_ukernel.inc"

namespace convkit::detail {

const WinoKernels wino_kernels_avx512 = CONVKIT_WINO(8, "f32_wino4x3_8x32__avx512");

}  // namespace convkit::detail
