// src/kernels/dwconv/dwconv_generic.cpp — depthwise micro-kernels for any CPU.
#include <cstdint>

#include "kernels/dwconv/dwconv_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#include "kernels/dwconv/dwconv_ukernel.inc"

namespace convkit::detail {

// Four vectors of outputs per iteration.
const DwconvKernels dwconv_kernels_generic = {
    {&dwconv_ukernel<float>, &dwconv_copy_rows<float>, &dwconv_split_rows<float>, &dwconv_cl_row<float, 8>, &dwconv_cl_wgrad_row<float, 2>, &dwconv_cl_wgrad_3x3<float>, &dwconv_transpose<float>, 16, 4, "f32_dwconv_16__generic", "f32_dwconv_cl_4x16__generic", "f32_dwconv_cl_wgrad_3x8__generic", "f32_dwconv_cl_wgrad_3x3x4__generic"},
    {&dwconv_ukernel<double>, &dwconv_copy_rows<double>, &dwconv_split_rows<double>, &dwconv_cl_row<double, 8>, &dwconv_cl_wgrad_row<double, 2>, &dwconv_cl_wgrad_3x3<double>, &dwconv_transpose<double>, 8, 2, "f64_dwconv_8__generic", "f64_dwconv_cl_4x8__generic", "f64_dwconv_cl_wgrad_3x4__generic", "f64_dwconv_cl_wgrad_3x3x2__generic"},
};

}  // namespace convkit::detail

namespace convkit::detail {

const DwconvKernels& dwconv_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512: return dwconv_kernels_avx512;
    case Isa::avx2: return dwconv_kernels_avx2;
    case Isa::generic: break;
  }
  return dwconv_kernels_generic;
}

}  // namespace convkit::detail
