// src/kernels/dwconv/dwconv_kernels.hpp — depthwise-convolution micro-kernel tables, per ISA.
//
// A micro-kernel computes one channel's row of extended positions:
//   out[q] = Σ_t w[t] · x[q + taps[t]]   for q in [0, len), len a multiple of `block`,
// on the shifted layout (src/algos/shifted_layout.hpp). The tap weights stay in registers and
// NV vectors of outputs are accumulated at a time, so there is no tile buffer and no per-tile
// bookkeeping: depthwise layers are limited by loads, not by multiply-adds.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

template <typename T>
using DwconvUkernel = void (*)(std::int64_t len, std::int64_t ntaps, const std::int64_t* taps,
                               const T* x, const T* w, T* out);

template <typename T>
struct DwconvKernel {
  DwconvUkernel<T> run;
  int block;  // positions per iteration (NV · lanes)
  const char* name;  // e.g. "f32_dwconv_64__avx512"
};

struct DwconvKernels {
  DwconvKernel<float> f32;
  DwconvKernel<double> f64;
};

extern const DwconvKernels dwconv_kernels_generic;
extern const DwconvKernels dwconv_kernels_avx2;
extern const DwconvKernels dwconv_kernels_avx512;

const DwconvKernels& dwconv_kernels(Isa isa);

}  // namespace convkit::detail
