// src/kernels/dwconv/dwconv_avx512.cpp — depthwise micro-kernels for AVX-512F.
#include <cstdint>

#include "kernels/dwconv/dwconv_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#include "kernels/dwconv/dwconv_ukernel.inc"

namespace convkit::detail {

// Four vectors of outputs per iteration.
const DwconvKernels dwconv_kernels_avx512 = {
    {&dwconv_ukernel<float>, &dwconv_copy_rows<float>, &dwconv_split_rows<float>, &dwconv_cl_row<float, 8>, &dwconv_cl_wgrad_row<float, 4>, &dwconv_cl_wgrad_3x3<float>, &dwconv_transpose<float>, 64, 16, "f32_dwconv_64__avx512", "f32_dwconv_cl_4x64__avx512", "f32_dwconv_cl_wgrad_3x64__avx512", "f32_dwconv_cl_wgrad_3x3x16__avx512"},
    {&dwconv_ukernel<double>, &dwconv_copy_rows<double>, &dwconv_split_rows<double>, &dwconv_cl_row<double, 8>, &dwconv_cl_wgrad_row<double, 4>, &dwconv_cl_wgrad_3x3<double>, &dwconv_transpose<double>, 32, 8, "f64_dwconv_32__avx512", "f64_dwconv_cl_4x32__avx512", "f64_dwconv_cl_wgrad_3x32__avx512", "f64_dwconv_cl_wgrad_3x3x8__avx512"},
};

}  // namespace convkit::detail
