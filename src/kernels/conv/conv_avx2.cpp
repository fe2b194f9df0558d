// src/kernels/conv/conv_avx2.cpp — direct-convolution micro-kernels for AVX2+FMA.
#include <cstdint>

#include "kernels/conv/conv_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/conv/conv_ukernel.inc"

namespace convkit::detail {

// 12 accumulators of the 16 ymm registers.
const ConvKernels conv_kernels_avx2 = {
    {CONVKIT_DCONV(float, 6, 2, 16, "f32_dconv_6x16__avx2"),
     CONVKIT_DCONV(float, 4, 3, 24, "f32_dconv_4x24__avx2"),
     CONVKIT_DCONV(float, 1, 8, 64, "f32_dconv_1x64__avx2"),
     CONVKIT_DCONV(float, 12, 1, 8, "f32_dconv_12x8__avx2"),
     CONVKIT_DCONV(float, 3, 4, 32, "f32_dconv_3x32__avx2")},
    {CONVKIT_DCONV(double, 6, 2, 8, "f64_dconv_6x8__avx2"),
     CONVKIT_DCONV(double, 4, 3, 12, "f64_dconv_4x12__avx2"),
     CONVKIT_DCONV(double, 1, 8, 32, "f64_dconv_1x32__avx2"),
     CONVKIT_DCONV(double, 12, 1, 4, "f64_dconv_12x4__avx2"),
     CONVKIT_DCONV(double, 3, 4, 16, "f64_dconv_3x16__avx2")},
};

}  // namespace convkit::detail
