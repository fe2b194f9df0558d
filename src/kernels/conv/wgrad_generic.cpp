// src/kernels/conv/wgrad_generic.cpp — weight-gradient micro-kernels for any CPU.
#include <cstdint>

#include "kernels/conv/wgrad_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#include "kernels/conv/wgrad_ukernel.inc"

namespace convkit::detail {

const WgradKernels wgrad_kernels_generic = {
    {&wgrad_ukernel<float, 2, 4>, 2, 4, 4, "f32_wgrad_2x4__generic", &wgrad_taps_ukernel<float>, "f32_wgrad_taps__generic"},
    {&wgrad_ukernel<double, 2, 4>, 2, 4, 2, "f64_wgrad_2x4__generic", &wgrad_taps_ukernel<double>, "f64_wgrad_taps__generic"},
};

}  // namespace convkit::detail

namespace convkit::detail {

const WgradKernels& wgrad_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512: return wgrad_kernels_avx512;
    case Isa::avx2: return wgrad_kernels_avx2;
    case Isa::generic: break;
  }
  return wgrad_kernels_generic;
}

}  // namespace convkit::detail
