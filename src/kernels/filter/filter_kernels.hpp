// src/kernels/filter/filter_kernels.hpp — 2-D direct filtering micro-kernel tables, per ISA.
//
// A micro-kernel accumulates one block of output rows of a 2-D correlation:
//   acc[r·ld_acc + x] (+)= Σ_{j<kh, t<kw} ext[(r+j)·ld_ext + x + t] · g[j·kw + t]
// for r < rows and x < width (accumulating into acc, or overwriting it when !accumulate), where width is a multiple of `block` and `ext` rows are padded
// so that reading x + t up to width + kw - 1 is in bounds. Output rows are register-blocked
// four at a time (every input vector loaded, and every lane shift of it, feeds up to four
// rows' accumulators) and columns run in strips whose input rows stay in L1.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::signal::detail {

template <typename T>
using FilterUkernel = void (*)(const T* const* in, const T* g, int kh, int kw,
                               T* acc, std::int64_t ld_acc, int rows, std::int64_t width,
                               bool accumulate, bool stream);

// A separable (rank-1) kernel u·vᵀ, both 1-D passes fused:
//   acc[r·ld_acc + x] = Σ_{j<kh} u[j] · (Σ_{t<kw} ext[(r+j)·ld_ext + x + t] · v[t])
// summed in that order (inner sums over t ascending, then j ascending), overwriting acc.
template <typename T>
using FilterSepUkernel = void (*)(const T* const* in, const T* u, int kh, const T* v, int kw,
                                  T* acc, std::int64_t ld_acc, int rows, std::int64_t width,
                                  bool stream);

template <typename T>
struct FilterKernel {
  FilterUkernel<T> run;
  FilterSepUkernel<T> run_separable;
  int block;         // columns per iteration (NV · lanes); width must be a multiple
  const char* name;  // e.g. "f32_filter_4x64__avx512"
};

struct FilterKernels {
  FilterKernel<float> f32;
  FilterKernel<double> f64;
  FilterKernel<std::int64_t> i64;
};

extern const FilterKernels filter_kernels_generic;
extern const FilterKernels filter_kernels_avx2;
extern const FilterKernels filter_kernels_avx512;

const FilterKernels& filter_kernels(convkit::detail::Isa isa);

}  // namespace convkit::signal::detail
