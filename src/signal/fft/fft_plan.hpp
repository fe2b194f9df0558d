// src/signal/fft/fft_plan.hpp — precomputed FFT plans: factorisation, per-stage twiddles,
// Bluestein chirps. Built once per (length, type) and cached for the life of the process.
//
// Every transform runs on a "block": one SIMD block of kFftBlockBytes holding kFftLanes<T>
// independent lines side by side (element j of lane l lives at ptr[j * stride + l]), so all
// butterflies vectorise across lines with broadcast twiddles and no shuffles. Complex data is
// split (separate real and imaginary arrays). Plans are immutable after construction and may
// be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace convkit::signal::fft {

/// Bytes of one SIMD block of lanes (64 = one AVX-512 register; two AVX2 or four SSE ones).
constexpr int kFftBlockBytes = 64;
template <typename T>
constexpr int kFftLanes = kFftBlockBytes / static_cast<int>(sizeof(T));

/// Odd radices up to this use the generic odd butterfly; a larger prime factor makes the
/// whole length go through Bluestein's chirp-z algorithm.
constexpr int kMaxGenericRadix = 31;

/// Complex forward transform X_k = sum_j x_j exp(-2 pi i jk/n) of length n (the inverse is
/// the same plan applied with real and imaginary parts swapped on input and output).
template <typename T>
struct ComplexFftPlan {
  /// One Stockham (self-sorting) pass: n_cur = radix * m, s = n / n_cur interleaved sequences.
  struct Stage {
    int radix;
    std::int64_t m, s;
    std::int64_t tw;     // offset into tw_re/tw_im: (radix - 1) * m twiddles, index p*(radix-1)+k-1
    std::int64_t roots;  // offset into root_cos/root_sin (generic odd radix): radix values
  };
  std::int64_t n = 0;
  std::vector<Stage> stages;   // empty for n == 1 (or Bluestein)
  std::vector<T> tw_re, tw_im;
  std::vector<T> root_cos, root_sin;  // cos/sin(2 pi j / radix), j < radix

  // Bluestein (chirp-z) for lengths with a prime factor > kMaxGenericRadix.
  bool bluestein = false;
  const ComplexFftPlan* conv = nullptr;  // plan of the convolution length (cached, shared)
  std::vector<T> chirp_re, chirp_im;     // exp(-pi i j^2 / n), j < n
  std::vector<T> bspec_re, bspec_im;     // FFT of the conjugate chirp filter, scaled by 1/M

  /// T elements of work memory one block transform needs (a multiple of the lane count).
  std::int64_t work_elems = 0;
};

/// Real-input transform of length n: forward gives n/2+1 bins, inverse takes them back
/// (unnormalised: inverse(forward(x)) = n x). Even n runs a half-length complex FFT plus a
/// post-processing pass; odd n runs the full-length complex FFT.
template <typename T>
struct RealFftPlan {
  std::int64_t n = 0;
  const ComplexFftPlan<T>* half = nullptr;  // length n/2 (even n) or n (odd n)
  std::vector<T> u_re, u_im;                // -i exp(-2 pi i k/n), k <= n/2 (even n)
  std::int64_t work_elems = 0;
};

/// A long complex transform of n = n1 * n2 points held as an [n2][n1] array (four-step):
/// FFTs down the columns (length n2, vectorised across columns), a twiddle W_n^(j1 k2), then
/// FFTs along the rows (length n1, kFftLanes rows at a time through lane transposes). The
/// spectrum comes out permuted: X[k2 + n2 k1] lands at [k2][k1] — fine for convolution,
/// where both factors share the order. n1 is a multiple of the lane count.
template <typename T>
struct FourStepPlan {
  std::int64_t n = 0, n1 = 0, n2 = 0;
  const ComplexFftPlan<T>* row_plan = nullptr;  // length n1
  const ComplexFftPlan<T>* col_plan = nullptr;  // length n2
  std::vector<T> tw_re, tw_im;                  // [k2][j1]: exp(-2 pi i j1 k2 / n)
  std::int64_t work_elems = 0;                  // lane buffers + the larger transform's work
};

/// Cached plans (thread-safe; the returned references stay valid forever). Throw
/// InvalidArgument for n < 1 and SizeOverflow for lengths too large to plan.
template <typename T>
const ComplexFftPlan<T>& complex_plan(std::int64_t n);
template <typename T>
const RealFftPlan<T>& real_plan(std::int64_t n);
/// n must be a multiple of kFftLanes<T> (InvalidArgument otherwise).
template <typename T>
const FourStepPlan<T>& four_step_plan(std::int64_t n);

/// Smallest 2^a 3^b 5^c >= n (even when `even` is set). n <= 2^62.
std::int64_t next_fast_length(std::int64_t n, bool even = false);

}  // namespace convkit::signal::fft
