// src/signal/filter_problem.hpp — the one internal form every scipy-style filtering call reduces to.
//
// convolve / correlate / convolve2d / correlate2d / fftconvolve / oaconvolve (any mode,
// boundary, dtype, axes) are all normalised by the front end (src/signal/signal_api.cpp) into
//
//     out[m] = (accumulate ? out[m] : 0) + alpha * sum_t X[m + base + t] * k[kb(m) + t]
//
// over `rank` dimensions, where X is the input extended past its edges by `boundary`
// (fill value, periodic wrap, or symmetric reflection, both periodic for any distance),
// m runs over out_shape, t over k_shape. Convolution is correlation with a flipped kernel
// view (negative strides); complex data is split by the front end into real parts (strided
// real views), so the engines only ever see real scalars.
//
// Batch dimensions (fftconvolve's non-convolved axes) have k_shape 1, base 0, and a kernel
// that may move with m: kb(m) = sum_d m_d * k_batch_stride[d]. A broadcast input has stride 0.
//
// Engines (direct_filter, fft_filter) compute in an accumulator type `acc` (f32, f64 or i64
// with wrap-around); reads convert from `in_type`/`k_type`, writes convert to `out_type`.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::signal::detail {

constexpr int kMaxRank = 32;  // NumPy's limit

/// Real scalar types the engines read and write (complex data arrives as two real views).
enum class Scalar : std::uint8_t { b8, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64 };
/// Accumulator types.
enum class Acc : std::uint8_t { f32, f64, i64 };

enum class Boundary : std::uint8_t { fill, wrap, symm };

struct FilterProblem {
  int rank = 0;
  std::int64_t in_shape[kMaxRank] = {};
  std::int64_t k_shape[kMaxRank] = {};
  std::int64_t out_shape[kMaxRank] = {};
  std::int64_t base[kMaxRank] = {};            // may be negative
  std::int64_t in_stride[kMaxRank] = {};       // elements of in_type, any sign, 0 = broadcast
  std::int64_t k_stride[kMaxRank] = {};        // elements of k_type
  std::int64_t k_batch_stride[kMaxRank] = {};  // kernel offset per output index (batch dims)
  std::int64_t out_stride[kMaxRank] = {};      // elements of out_type
  const void* in = nullptr;
  const void* k = nullptr;
  void* out = nullptr;
  Scalar in_type = Scalar::f32, k_type = Scalar::f32, out_type = Scalar::f32;
  Acc acc = Acc::f32;
  Boundary boundary = Boundary::fill;
  double fill = 0;                 // fill value when acc is f32/f64
  std::int64_t fill_int = 0;       // fill value when acc is i64
  double alpha = 1;                // +1 or -1 (complex parts); i64: applied as negation
  bool accumulate = false;
  bool round = false;              // round to nearest (even) before an integer out_type (FFT)
  double in_max_abs = 0;           // integer inputs: a bound on |X| (0 = unknown), used to
                                   // prove a separable pass exact
  bool padding_is_term = false;    // fill-boundary values outside the input are terms (fill·k,
                                   // so 0·Inf = NaN), as in convolve2d; otherwise (convolve,
                                   // correlate) zero padding is no term at all, as in np.convolve
  bool nontemporal = false;        // engines set this for outputs far larger than the caches:
                                   // store_line then writes with streaming stores
  convkit::detail::Isa isa = convkit::detail::active_isa();  // whose kernels run (line
                                   // conversions, direct micro-kernels): fixed when made
  bool kernel_varies() const {
    for (int d = 0; d < rank; ++d)
      if (k_batch_stride[d] != 0) return true;
    return false;
  }
};

// ---- line access shared by the engines (src/signal/lines.cpp) ---------------------------
// A "line" runs along the last dimension. Coordinates of the other rank-1 dimensions are
// given in idx[] (logical, may lie outside the input: the boundary rule applies).

/// Maps a logical input coordinate to a stored one by the boundary rule; -1 means "fill".
std::int64_t map_coordinate(std::int64_t i, std::int64_t n, Boundary b);

/// dst[j] = X[idx..., x0 + j] for j < n, converted to A (float, double or int64_t).
template <typename A>
void gather_line(const FilterProblem& p, const std::int64_t* idx, std::int64_t x0,
                 std::int64_t n, A* dst);

/// Writes out[idx..., x0 + j] (= or += alpha * src[j]) for j < n, converting to out_type.
template <typename A>
void store_line(const FilterProblem& p, const std::int64_t* out_idx, std::int64_t x0,
                std::int64_t n, const A* src);

/// The kernel slice for output batch position out_idx (ignored when !kernel_varies()),
/// packed row-major over k_shape as A. dst holds prod(k_shape) values.
template <typename A>
void pack_kernel(const FilterProblem& p, const std::int64_t* out_idx, A* dst);

}  // namespace convkit::signal::detail
