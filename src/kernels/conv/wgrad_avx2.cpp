// src/kernels/conv/wgrad_avx2.cpp — weight-gradient micro-kernels for AVX2+FMA.
#include <cstdint>

#include "kernels/conv/wgrad_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/conv/wgrad_ukernel.inc"

namespace convkit::detail {

const WgradKernels wgrad_kernels_avx2 = {
    {&wgrad_ukernel<float, 3, 4>, 3, 4, 8, "f32_wgrad_3x4__avx2", &wgrad_taps_ukernel<float>, "f32_wgrad_taps__avx2"},
    {&wgrad_ukernel<double, 3, 4>, 3, 4, 4, "f64_wgrad_3x4__avx2", &wgrad_taps_ukernel<double>, "f64_wgrad_taps__avx2"},
};

}  // namespace convkit::detail
