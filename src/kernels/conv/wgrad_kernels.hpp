// src/kernels/conv/wgrad_kernels.hpp — weight-gradient micro-kernel tables, one per ISA.
//
// A micro-kernel computes an MR × NJ block of dot products of length `len` (a multiple of
// the vector width): out[i·ldo + j] (+)= Σ_q rows[i][q] · cols[j][q], with rows = output-gradient
// rows (one per output channel) and cols = shifted input rows (one per (channel, tap)).
// Vector lanes hold interleaved partial sums that are added up in a fixed order at the end.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

template <typename T>
using WgradUkernel = void (*)(std::int64_t len, const T* const* rows, const T* const* cols, T* out,
                              std::int64_t ldo, bool accumulate);

/// Depthwise form: one output-gradient row against one shifted input row at every tap,
/// out[t] += Σ_q row[q] · col[offs[t] + q] for t < ntaps, len a multiple of the vector width;
/// the taps' sums stay in registers over the whole length (one horizontal sum per tap). col
/// must be readable one vector past col[offs[t] + len] for every t.
template <typename T>
using WgradTapsUkernel = void (*)(std::int64_t len, const T* row, const T* col,
                                  const std::int64_t* offs, std::int64_t ntaps, T* out);

template <typename T>
struct WgradKernel {
  WgradUkernel<T> run;
  int mr, nj, lanes;
  const char* name;  // e.g. "f32_wgrad_4x6__avx512"
  WgradTapsUkernel<T> run_taps;
  const char* taps_name;  // e.g. "f32_wgrad_taps9__avx512"
};

struct WgradKernels {
  WgradKernel<float> f32;
  WgradKernel<double> f64;
};

extern const WgradKernels wgrad_kernels_generic;
extern const WgradKernels wgrad_kernels_avx2;
extern const WgradKernels wgrad_kernels_avx512;

const WgradKernels& wgrad_kernels(Isa isa);

}  // namespace convkit::detail
