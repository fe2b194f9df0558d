// src/kernels/conv/conv_generic.cpp — portable direct-convolution micro-kernels.
#include <cstdint>

#include "kernels/conv/conv_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#include "kernels/conv/conv_ukernel.inc"

namespace convkit::detail {

const ConvKernels conv_kernels_generic = {
    {CONVKIT_DCONV(float, 4, 2, 8, "f32_dconv_4x8__generic"),
     CONVKIT_DCONV(float, 2, 4, 16, "f32_dconv_2x16__generic"),
     CONVKIT_DCONV(float, 1, 4, 16, "f32_dconv_1x16__generic"),
     CONVKIT_DCONV(float, 8, 1, 4, "f32_dconv_8x4__generic"),
     CONVKIT_DCONV(float, 3, 3, 12, "f32_dconv_3x12__generic")},
    {CONVKIT_DCONV(double, 4, 2, 4, "f64_dconv_4x4__generic"),
     CONVKIT_DCONV(double, 2, 4, 8, "f64_dconv_2x8__generic"),
     CONVKIT_DCONV(double, 1, 4, 8, "f64_dconv_1x8__generic"),
     CONVKIT_DCONV(double, 8, 1, 2, "f64_dconv_8x2__generic"),
     CONVKIT_DCONV(double, 3, 3, 6, "f64_dconv_3x6__generic")},
};

const ConvKernels& conv_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512: return conv_kernels_avx512;
    case Isa::avx2: return conv_kernels_avx2;
    case Isa::generic: break;
  }
  return conv_kernels_generic;
}

}  // namespace convkit::detail
