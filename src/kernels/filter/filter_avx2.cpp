// src/kernels/filter/filter_avx2.cpp — 2-D filtering micro-kernels for avx2.
#include <cstdint>

#include "kernels/filter/filter_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#include "kernels/filter/filter_ukernel.inc"

namespace convkit::signal::detail {

// Output rows × vectors of columns per iteration of the general kernel: 3×3 (12 accumulators
// of 4×3 left too few of the 16 registers for the rows' shifted inputs: 7×7 and 11×11 ran at
// 0.78× and 0.66× the time with 3×3); the fused separable kernel keeps 4×3 (its 5×5 Gaussian
// ran 1.11× slower at 3×3).
const FilterKernels filter_kernels_avx2 = {
    {&filter_ukernel<float, 3, 3>, &filter_sep_ukernel<float, 4, 3>, 3 * 32 / 4, "f32_filter_3x24__avx2"},
    {&filter_ukernel<double, 3, 3>, &filter_sep_ukernel<double, 4, 3>, 3 * 32 / 8, "f64_filter_3x12__avx2"},
    {&filter_ukernel<std::int64_t, 3, 3>, &filter_sep_ukernel<std::int64_t, 4, 3>, 3 * 32 / 8, "i64_filter_3x12__avx2"},
};

}  // namespace convkit::signal::detail
