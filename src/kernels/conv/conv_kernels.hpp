// src/kernels/conv/conv_kernels.hpp — direct-convolution micro-kernel tables, one per ISA.
//
// A micro-kernel computes an MR (output channels) × NR (consecutive output positions) tile:
//   out[i][q] (+)= Σ_c Σ_t wrows[i][c·ntaps + t] · x[c·cstride + taps[t] + q]
// reading each output channel's weights in their own memory order (no packing per call)
// continuing the sums already in `out` when `accumulate` is set (channel blocking), which
// gives exactly the values of one pass over all channels.
// over a "shifted" input layout in which every tap of the filter is a constant offset
// (src/algos/direct_conv.cpp builds it), so each tap is NR/lanes plain vector loads.
// The reduction order (channels, then taps) is fixed: results do not depend on threads.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

template <typename T>
using ConvUkernel = void (*)(std::int64_t channels, std::int64_t ntaps, const std::int64_t* taps,
                             const T* x, std::int64_t cstride, const T* const* wrows, T* out,
                             bool accumulate);

template <typename T>
struct ConvKernel {
  ConvUkernel<T> run;
  int mr, nr;
  const char* name;  // dtype-family-tile-isa, e.g. "f32_dconv_8x48__avx512"
};

/// Variants by MR (output channels per tile), widest first: [0] MR 8, [1] MR 4, [2] MR 1.
struct ConvKernels {
  ConvKernel<float> f32[3];
  ConvKernel<double> f64[3];
};

extern const ConvKernels conv_kernels_generic;
extern const ConvKernels conv_kernels_avx2;
extern const ConvKernels conv_kernels_avx512;

const ConvKernels& conv_kernels(Isa isa);

}  // namespace convkit::detail
