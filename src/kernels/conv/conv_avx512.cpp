// src/kernels/conv/conv_avx512.cpp — direct-convolution micro-kernels for AVX-512F.
#include <cstdint>

#include "kernels/conv/conv_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#include "kernels/conv/conv_ukernel.inc"

namespace convkit::detail {

// 24 accumulators of the 32 zmm registers in each variant.
const ConvKernels conv_kernels_avx512 = {
    {CONVKIT_DCONV(float, 8, 3, 48, "f32_dconv_8x48__avx512"),
     CONVKIT_DCONV(float, 4, 6, 96, "f32_dconv_4x96__avx512"),
     CONVKIT_DCONV(float, 1, 8, 128, "f32_dconv_1x128__avx512"),
     CONVKIT_DCONV(float, 12, 2, 32, "f32_dconv_12x32__avx512"),
     CONVKIT_DCONV(float, 6, 4, 64, "f32_dconv_6x64__avx512")},
    {CONVKIT_DCONV(double, 8, 3, 24, "f64_dconv_8x24__avx512"),
     CONVKIT_DCONV(double, 4, 6, 48, "f64_dconv_4x48__avx512"),
     CONVKIT_DCONV(double, 1, 8, 64, "f64_dconv_1x64__avx512"),
     CONVKIT_DCONV(double, 12, 2, 16, "f64_dconv_12x16__avx512"),
     CONVKIT_DCONV(double, 6, 4, 32, "f64_dconv_6x32__avx512")},
};

}  // namespace convkit::detail
