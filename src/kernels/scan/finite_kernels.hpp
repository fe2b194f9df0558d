// src/kernels/scan/finite_kernels.hpp — per-ISA scans for NaN/Inf in contiguous runs.
//
// Several algorithms must prove that inputs or results hold no NaN/Inf before trusting a
// shortcut (padding zeros multiplied by an infinite weight, an FFT spreading a NaN, ...); they
// scan whole tensors for it, so the scan is a vectorised kernel rather than baseline-ISA code.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

struct FiniteKernels {
  bool (*f32)(const float* p, std::int64_t n);   // true when no p[i] is NaN or ±Inf
  bool (*f64)(const double* p, std::int64_t n);
};

extern const FiniteKernels finite_kernels_generic;
extern const FiniteKernels finite_kernels_avx2;
extern const FiniteKernels finite_kernels_avx512;

const FiniteKernels& finite_kernels(Isa isa);

/// p[0, n) holds no NaN or ±Inf, scanned with the widest ISA this CPU has (a predicate: the
/// ISA cap that selects computing kernels does not apply).
template <typename T>
bool all_finite(const T* p, std::int64_t n) {
  static const FiniteKernels& k = finite_kernels(cpu_isa());
  if constexpr (sizeof(T) == 4)
    return k.f32(p, n);
  else
    return k.f64(p, n);
}

}  // namespace convkit::detail
