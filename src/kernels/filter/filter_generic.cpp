// src/kernels/filter/filter_generic.cpp — 2-D filtering micro-kernels for generic.
#include <cstdint>

#include "kernels/filter/filter_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#include "kernels/filter/filter_ukernel.inc"

namespace convkit::signal::detail {

// Output rows × vectors of columns per iteration: 4×2 (float), 4×2 (double, int64).
const FilterKernels filter_kernels_generic = {
    {&filter_ukernel<float, 4, 2>, &filter_sep_ukernel<float, 4, 2>, 2 * 16 / 4, "f32_filter_4x8__generic"},
    {&filter_ukernel<double, 4, 2>, &filter_sep_ukernel<double, 4, 2>, 2 * 16 / 8, "f64_filter_4x4__generic"},
    {&filter_ukernel<std::int64_t, 4, 2>, &filter_sep_ukernel<std::int64_t, 4, 2>, 2 * 16 / 8, "i64_filter_4x4__generic"},
};

const FilterKernels& filter_kernels(convkit::detail::Isa isa) {
  switch (isa) {
    case convkit::detail::Isa::avx512: return filter_kernels_avx512;
    case convkit::detail::Isa::avx2: return filter_kernels_avx2;
    case convkit::detail::Isa::generic: break;
  }
  return filter_kernels_generic;
}

}  // namespace convkit::signal::detail
