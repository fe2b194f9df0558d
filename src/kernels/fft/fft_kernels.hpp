// src/kernels/fft/fft_kernels.hpp — FFT block kernels, one table per ISA.
//
// A block is kFftLanes<T> independent lines processed side by side (see fft_plan.hpp); the
// kernels here are the only hot loops of the FFT: Stockham passes with radix-2/3/4/5/8 and
// generic odd butterflies, Bluestein, the real-FFT pre/post-processing, lane transposes and
// spectrum products. Strides are in elements of T and multiples of the lane count.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"
#include "signal/fft/fft_plan.hpp"

namespace convkit::signal::fft {

template <typename T>
struct FftKernelsFor {
  /// out = forward DFT of in (one block; in == out allowed). work: plan.work_elems.
  void (*complex_forward)(const ComplexFftPlan<T>& plan, const T* in_re, const T* in_im,
                          std::int64_t in_stride, T* out_re, T* out_im, std::int64_t out_stride,
                          T* work);
  /// n real values -> n/2+1 bins. work: plan.work_elems.
  void (*real_forward)(const RealFftPlan<T>& plan, const T* in, std::int64_t in_stride, T* out_re,
                       T* out_im, std::int64_t out_stride, T* work);
  /// n/2+1 bins -> n real values, unnormalised. work: plan.work_elems.
  void (*real_inverse)(const RealFftPlan<T>& plan, const T* in_re, const T* in_im,
                       std::int64_t in_stride, T* out, std::int64_t out_stride, T* work);
  /// dst[j * lanes + l] = rows[l][j] for j < n, l < lanes.
  void (*to_lanes)(const T* const* rows, std::int64_t n, T* dst);
  /// rows[l][j] = src[j * lanes + l] for j < n, l < lanes.
  void (*from_lanes)(const T* src, std::int64_t n, T* const* rows);
  /// (re, im)[i] *= (k_re, k_im)[i] for i < n.
  void (*multiply)(T* re, T* im, const T* k_re, const T* k_im, std::int64_t n);
  /// (re, im)[f * lanes + l] *= (k_re, k_im)[f] for f < n_freq.
  void (*multiply_broadcast)(T* re, T* im, const T* k_re, const T* k_im, std::int64_t n_freq);
};

struct FftKernels {
  FftKernelsFor<float> f32;
  FftKernelsFor<double> f64;
  convkit::detail::Isa isa;
};

extern const FftKernels fft_kernels_generic;
extern const FftKernels fft_kernels_avx2;
extern const FftKernels fft_kernels_avx512;

/// The table for `isa`.
const FftKernels& fft_kernels(convkit::detail::Isa isa);

template <typename T>
const FftKernelsFor<T>& kernels_for(const FftKernels& k) {
  if constexpr (sizeof(T) == 4)
    return k.f32;
  else
    return k.f64;
}

}  // namespace convkit::signal::fft
