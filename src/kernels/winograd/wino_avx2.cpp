// src/kernels/winograd/wino_avx2.cpp — Winograd F(4×4, 3×3) float32 kernels for AVX2+FMA.
#include "kernels/winograd/wino_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/winograd/wino_ukernel.inc"

namespace convkit::detail {

const WinoKernels wino_kernels_avx2 = CONVKIT_WINO(4, "f32_wino4x3_4x16__avx2");

}  // namespace convkit::detail
