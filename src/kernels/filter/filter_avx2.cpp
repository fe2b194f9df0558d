// src/kernels/filter/filter_avx2.cpp — 2-D filtering micro-kernels for avx2.
#include <cstdint>

#include "kernels/filter/filter_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/filter/filter_ukernel.inc"

namespace convkit::signal::detail {

// Output rows × vectors of columns per iteration: 4×3 (float), 4×3 (double, int64).
const FilterKernels filter_kernels_avx2 = {
    {&filter_ukernel<float, 4, 3>, &filter_sep_ukernel<float, 4, 3>, 3 * 32 / 4, "f32_filter_4x24__avx2"},
    {&filter_ukernel<double, 4, 3>, &filter_sep_ukernel<double, 4, 3>, 3 * 32 / 8, "f64_filter_4x12__avx2"},
    {&filter_ukernel<std::int64_t, 4, 3>, &filter_sep_ukernel<std::int64_t, 4, 3>, 3 * 32 / 8, "i64_filter_4x12__avx2"},
};

}  // namespace convkit::signal::detail
