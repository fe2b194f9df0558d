// src/kernels/dwconv/dwconv_avx2.cpp — depthwise micro-kernels for AVX2+FMA.
#include <cstdint>

#include "kernels/dwconv/dwconv_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/dwconv/dwconv_ukernel.inc"

namespace convkit::detail {

// Four vectors of outputs per iteration.
const DwconvKernels dwconv_kernels_avx2 = {
    {&dwconv_ukernel<float>, &dwconv_copy_rows<float>, &dwconv_split_rows<float>, &dwconv_cl_row<float, 8>, &dwconv_cl_wgrad_row<float, 2>, &dwconv_cl_wgrad_3x3<float>, &dwconv_transpose<float>, 32, 8, "f32_dwconv_32__avx2", "f32_dwconv_cl_4x32__avx2", "f32_dwconv_cl_wgrad_3x16__avx2", "f32_dwconv_cl_wgrad_3x3x8__avx2"},
    {&dwconv_ukernel<double>, &dwconv_copy_rows<double>, &dwconv_split_rows<double>, &dwconv_cl_row<double, 8>, &dwconv_cl_wgrad_row<double, 2>, &dwconv_cl_wgrad_3x3<double>, &dwconv_transpose<double>, 16, 4, "f64_dwconv_16__avx2", "f64_dwconv_cl_4x16__avx2", "f64_dwconv_cl_wgrad_3x8__avx2", "f64_dwconv_cl_wgrad_3x3x4__avx2"},
};

}  // namespace convkit::detail
