// src/signal/fft/fft.hpp — convkit's own FFT: whole-array complex, real and N-d real
// transforms (any length: mixed radix 2/3/4/5/8 + generic odd radix, Bluestein for large
// prime factors), float and double, unnormalised in both directions (inverse(forward(x)) =
// n x), twiddles computed in long double. Plans are cached; scratch comes from the calling
// thread's reused arena. The filter engine uses the block-level pieces (fft_nd.hpp) directly.
#pragma once

#include <complex>
#include <cstdint>

#include "kernels/fft/fft_kernels.hpp"

namespace convkit::signal::fft {

/// The kernel table for the active ISA (convkit::detail::active_isa()).
const FftKernels& active_kernels();

/// out[k] = sum_j in[j] exp(-+2 pi i jk/n) (minus: forward, plus: inverse). in == out allowed.
template <typename T>
void fft(const std::complex<T>* in, std::complex<T>* out, std::int64_t n, bool inverse = false);

/// The n/2+1 non-redundant bins of the forward transform of n reals.
template <typename T>
void rfft(const T* in, std::complex<T>* out, std::int64_t n);

/// n reals from n/2+1 bins of a Hermitian spectrum (imaginary parts of bin 0, and of bin n/2
/// for even n, are ignored), unnormalised.
template <typename T>
void irfft(const std::complex<T>* in, T* out, std::int64_t n);

/// Row-major N-d real transform: in has shape[0..rank-1], out shape[0..rank-2] x (shape[last]/2+1).
template <typename T>
void rfftn(const T* in, std::complex<T>* out, const std::int64_t* shape, int rank);

/// Inverse of rfftn (unnormalised): in has shape[..] x (shape[last]/2+1), out has shape.
template <typename T>
void irfftn(const std::complex<T>* in, T* out, const std::int64_t* shape, int rank);

}  // namespace convkit::signal::fft
