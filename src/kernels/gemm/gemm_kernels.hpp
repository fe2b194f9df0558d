// src/kernels/gemm/gemm_kernels.hpp — GEMM micro-kernel tables, one per ISA.
//
// A micro-kernel computes one MR×NR tile: C[MR][ldc] (+)= A_panel · B_panel over kc, where
// A_panel holds kc groups of MR values (packed weights) and B_panel kc groups of NR values
// (packed im2col columns). It only ever sees full tiles; edges are padded by the packers.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

template <typename T>
using GemmUkernel = void (*)(std::int64_t kc, const T* a, const T* b, T* c, std::int64_t ldc,
                             bool accumulate);

template <typename T>
struct GemmKernel {
  GemmUkernel<T> run;
  int mr, nr;
  const char* name;  // dtype-family-tile-isa, e.g. "f32_gemm_8x32__avx512"
};

struct GemmKernels {
  GemmKernel<float> f32;
  GemmKernel<double> f64;
};

extern const GemmKernels gemm_kernels_generic;
extern const GemmKernels gemm_kernels_avx2;
extern const GemmKernels gemm_kernels_avx512;

/// The table for `isa`.
const GemmKernels& gemm_kernels(Isa isa);

}  // namespace convkit::detail
