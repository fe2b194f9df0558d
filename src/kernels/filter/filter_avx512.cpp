// src/kernels/filter/filter_avx512.cpp — 2-D filtering micro-kernels for avx512.
#include <cstdint>

#include "kernels/filter/filter_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#include "kernels/filter/filter_ukernel.inc"

namespace convkit::signal::detail {

// Output rows × vectors of columns per iteration: 4×4 (float), 4×4 (double, int64).
const FilterKernels filter_kernels_avx512 = {
    {&filter_ukernel<float, 4, 4>, &filter_sep_ukernel<float, 4, 4>, 4 * 64 / 4, "f32_filter_4x64__avx512"},
    {&filter_ukernel<double, 4, 4>, &filter_sep_ukernel<double, 4, 4>, 4 * 64 / 8, "f64_filter_4x32__avx512"},
    {&filter_ukernel<std::int64_t, 4, 4>, &filter_sep_ukernel<std::int64_t, 4, 4>, 4 * 64 / 8, "i64_filter_4x32__avx512"},
};

}  // namespace convkit::signal::detail
