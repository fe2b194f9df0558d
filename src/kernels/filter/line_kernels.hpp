// src/kernels/filter/line_kernels.hpp — per-ISA conversion of contiguous lines between the
// stored scalar types and the floating accumulators of the signal engines.
//
// gather_line / store_line (src/signal/lines.cpp) run in the baseline ISA; their inner copy
// with conversion is the whole cost of filtering integer images with small kernels, so the
// contiguous case goes through these vectorised loops. Semantics are those of
// signal/scalar_dispatch.hpp's convert<>() for the values the engines produce:
//   widen:  dst[j] = A(src[j])                       (integer → float rounds to nearest)
//   narrow: dst[j] = D(int64(src[j])) (wraps mod 2^bits), for integer-valued src with
//           |src| < 2^31 (float accumulator: every result is an integer below 2^24) or
//           |src| < 2^53 (double accumulator).
// Entries are null for types that keep the scalar path (bool, int64, uint64).
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"
#include "signal/filter_problem.hpp"

namespace convkit::signal::detail {

constexpr int kScalarCount = static_cast<int>(Scalar::f64) + 1;

template <typename A>
using WidenLine = void (*)(const void* src, A* dst, std::int64_t n);
template <typename A>
using NarrowLine = void (*)(const A* src, void* dst, std::int64_t n);

struct LineKernels {
  WidenLine<float> widen_f32[kScalarCount];
  WidenLine<double> widen_f64[kScalarCount];
  NarrowLine<float> narrow_f32[kScalarCount];
  NarrowLine<double> narrow_f64[kScalarCount];
};

extern const LineKernels line_kernels_generic;
extern const LineKernels line_kernels_avx2;
extern const LineKernels line_kernels_avx512;

const LineKernels& line_kernels(convkit::detail::Isa isa);

}  // namespace convkit::signal::detail
