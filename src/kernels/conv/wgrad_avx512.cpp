// src/kernels/conv/wgrad_avx512.cpp — weight-gradient micro-kernels for AVX-512F.
#include <cstdint>

#include "kernels/conv/wgrad_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#include "kernels/conv/wgrad_ukernel.inc"

namespace convkit::detail {

const WgradKernels wgrad_kernels_avx512 = {
    {&wgrad_ukernel<float, 4, 6>, 4, 6, 16, "f32_wgrad_4x6__avx512", &wgrad_taps_ukernel<float>, "f32_wgrad_taps__avx512"},
    {&wgrad_ukernel<double, 4, 6>, 4, 6, 8, "f64_wgrad_4x6__avx512", &wgrad_taps_ukernel<double>, "f64_wgrad_taps__avx512"},
};

}  // namespace convkit::detail
