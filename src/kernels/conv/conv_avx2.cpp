// src/kernels/conv/conv_avx2.cpp — direct-convolution micro-kernels for AVX2+FMA.
#include <cstdint>

#include "kernels/conv/conv_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/conv/conv_ukernel.inc"

namespace convkit::detail {

// 12 accumulators of the 16 ymm registers.
const ConvKernels conv_kernels_avx2 = {
    {{&conv_ukernel<float, 6, 2>, 6, 16, "f32_dconv_6x16__avx2"},
     {&conv_ukernel<float, 4, 3>, 4, 24, "f32_dconv_4x24__avx2"},
     {&conv_ukernel<float, 1, 8>, 1, 64, "f32_dconv_1x64__avx2"},
     {&conv_ukernel<float, 12, 1>, 12, 8, "f32_dconv_12x8__avx2"}},
    {{&conv_ukernel<double, 6, 2>, 6, 8, "f64_dconv_6x8__avx2"},
     {&conv_ukernel<double, 4, 3>, 4, 12, "f64_dconv_4x12__avx2"},
     {&conv_ukernel<double, 1, 8>, 1, 32, "f64_dconv_1x32__avx2"},
     {&conv_ukernel<double, 12, 1>, 12, 4, "f64_dconv_12x4__avx2"}},
};

}  // namespace convkit::detail
