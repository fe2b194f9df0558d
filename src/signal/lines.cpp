// src/signal/lines.cpp — reading and writing lines of a FilterProblem: boundary rules, dtype
// conversion, strides. Every engine goes through these, so the boundary semantics (scipy's
// fill / wrap / symm, periodic for any distance) live in exactly one place.
#include <cmath>
#include <cstdlib>
#include <type_traits>

#include <emmintrin.h>

#include "core/cpu_features.hpp"
#include "kernels/filter/line_kernels.hpp"
#include "signal/filter_problem.hpp"
#include "signal/scalar_dispatch.hpp"

namespace convkit::signal::detail {

std::int64_t map_coordinate(std::int64_t i, std::int64_t n, Boundary b) {
  if (i >= 0 && i < n) return i;
  switch (b) {
    case Boundary::fill:
      return -1;
    case Boundary::wrap: {
      std::int64_t r = i % n;
      return r < 0 ? r + n : r;
    }
    case Boundary::symm: {
      // Whole-sample symmetric reflection (the edge sample repeats), periodic with period 2n.
      std::int64_t k = (i >= 0 ? i : -(i + 1)) % (2 * n);
      return k >= n ? 2 * n - k - 1 : k;
    }
  }
  return -1;
}

namespace {

template <typename A>
A fill_value(const FilterProblem& p) {
  if constexpr (std::is_same_v<A, std::int64_t>)
    return p.fill_int;
  else
    return static_cast<A>(p.fill);
}

// Offset (in elements) of the input line at logical coordinates idx, or false for a fill line.
bool line_offset(const FilterProblem& p, const std::int64_t* idx, std::int64_t* offset) {
  std::int64_t off = 0;
  for (int d = 0; d + 1 < p.rank; ++d) {
    std::int64_t c = map_coordinate(idx[d], p.in_shape[d], p.boundary);
    if (c < 0) return false;
    off += c * p.in_stride[d];
  }
  *offset = off;
  return true;
}

// dst[0, n) = src[0, n) with streaming (non-temporal) stores: no read-for-ownership of the
// destination lines and no eviction of the caches' useful contents. Fenced before returning.
void stream_copy(float* dst, const float* src, std::int64_t n) {
  std::int64_t j = 0;
  for (; j < n && (reinterpret_cast<std::uintptr_t>(dst + j) & 15); ++j) dst[j] = src[j];
  for (; j + 4 <= n; j += 4) _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
  for (; j < n; ++j) dst[j] = src[j];
  _mm_sfence();
}
void stream_copy(double* dst, const double* src, std::int64_t n) {
  std::int64_t j = 0;
  if (reinterpret_cast<std::uintptr_t>(dst) & 7) {  // not even element-aligned: plain copy
    for (; j < n; ++j) dst[j] = src[j];
    return;
  }
  for (; j < n && (reinterpret_cast<std::uintptr_t>(dst + j) & 15); ++j) dst[j] = src[j];
  for (; j + 2 <= n; j += 2) _mm_stream_pd(dst + j, _mm_loadu_pd(src + j));
  for (; j < n; ++j) dst[j] = src[j];
  _mm_sfence();
}

template <typename A>
WidenLine<A> widen_kernel(const FilterProblem& p, Scalar s) {
  const LineKernels& k = line_kernels(p.isa);
  if constexpr (std::is_same_v<A, float>)
    return k.widen_f32[static_cast<int>(s)];
  else if constexpr (std::is_same_v<A, double>)
    return k.widen_f64[static_cast<int>(s)];
  else
    return nullptr;
}

template <typename A>
NarrowLine<A> narrow_kernel(const FilterProblem& p, Scalar s) {
  const LineKernels& k = line_kernels(p.isa);
  if constexpr (std::is_same_v<A, float>)
    return k.narrow_f32[static_cast<int>(s)];
  else if constexpr (std::is_same_v<A, double>)
    return k.narrow_f64[static_cast<int>(s)];
  else
    return nullptr;
}

}  // namespace

template <typename A>
void gather_line(const FilterProblem& p, const std::int64_t* idx, std::int64_t x0,
                 std::int64_t n, A* dst) {
  const A fill = fill_value<A>(p);
  std::int64_t offset = 0;
  if (!line_offset(p, idx, &offset)) {
    for (std::int64_t j = 0; j < n; ++j) dst[j] = fill;
    return;
  }
  const int last = p.rank - 1;
  const std::int64_t len = p.in_shape[last];
  const std::int64_t stride = p.in_stride[last];
  with_scalar(p.in_type, [&](auto tag) {
    using S = decltype(tag);
    const S* src = static_cast<const S*>(p.in) + offset;
    // Leading outside part, inside part (one strided copy with conversion), trailing part.
    const std::int64_t lead = x0 < 0 ? (-x0 < n ? -x0 : n) : 0;
    std::int64_t inside_end = len - x0 < n ? len - x0 : n;
    if (inside_end < lead) inside_end = lead;
    auto outside = [&](std::int64_t j) {
      std::int64_t c = map_coordinate(x0 + j, len, p.boundary);
      dst[j] = c < 0 ? fill : convert<A>(src[c * stride]);
    };
    for (std::int64_t j = 0; j < lead; ++j) outside(j);
    if (stride == 1) {
      const S* s = src + x0;
      if (const WidenLine<A> widen = widen_kernel<A>(p, p.in_type); widen && inside_end > lead)
        widen(s + lead, dst + lead, inside_end - lead);
      else
        for (std::int64_t j = lead; j < inside_end; ++j) dst[j] = convert<A>(s[j]);
    } else {
      for (std::int64_t j = lead; j < inside_end; ++j) dst[j] = convert<A>(src[(x0 + j) * stride]);
    }
    for (std::int64_t j = inside_end; j < n; ++j) outside(j);
  });
}

template <typename A>
void store_line(const FilterProblem& p, const std::int64_t* out_idx, std::int64_t x0,
                std::int64_t n, const A* src) {
  std::int64_t offset = 0;
  for (int d = 0; d + 1 < p.rank; ++d) offset += out_idx[d] * p.out_stride[d];
  const std::int64_t stride = p.out_stride[p.rank - 1];
  offset += x0 * stride;
  const bool negate = p.alpha < 0;
  with_scalar(p.out_type, [&](auto tag) {
    using D = decltype(tag);
    D* dst = static_cast<D*>(p.out) + offset;
    if constexpr (std::is_integral_v<D> && !std::is_integral_v<A>) {
      if (p.round) {  // FFT results headed for an integer type: NumPy's around, then cast
        for (std::int64_t j = 0; j < n; ++j) {
          A v = std::nearbyint(negate ? -src[j] : src[j]);
          if (p.accumulate) v += convert<A>(dst[j * stride]);
          dst[j * stride] = convert<D>(v);
        }
        return;
      }
    }
    if (!p.accumulate && !negate) {
      if constexpr (std::is_same_v<D, A> && std::is_floating_point_v<A>) {
        if (stride == 1 && p.nontemporal && n * sizeof(D) >= 1024) {
          stream_copy(dst, src, n);
          return;
        }
      }
      if constexpr (!std::is_integral_v<A> && std::is_integral_v<D> && !std::is_same_v<D, bool>) {
        // Exact-integer results in a floating accumulator are integers below 2^24 (float) or
        // 2^53 (double): the engines choose a floating accumulator only then.
        if (stride == 1 && !p.round)
          if (const NarrowLine<A> narrow = narrow_kernel<A>(p, p.out_type)) {
            narrow(src, dst, n);
            return;
          }
      }
      if (stride == 1)
        for (std::int64_t j = 0; j < n; ++j) dst[j] = convert<D>(src[j]);
      else
        for (std::int64_t j = 0; j < n; ++j) dst[j * stride] = convert<D>(src[j]);
      return;
    }
    for (std::int64_t j = 0; j < n; ++j) {
      A v = negate ? negate_value(src[j]) : src[j];
      if (p.accumulate) v = add_value(convert<A>(dst[j * stride]), v);
      dst[j * stride] = convert<D>(v);
    }
  });
}

template <typename A>
void pack_kernel(const FilterProblem& p, const std::int64_t* out_idx, A* dst) {
  std::int64_t base = 0;
  if (out_idx)
    for (int d = 0; d < p.rank; ++d) base += out_idx[d] * p.k_batch_stride[d];
  std::int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.k_shape[d];
  with_scalar(p.k_type, [&](auto tag) {
    using S = decltype(tag);
    const S* k = static_cast<const S*>(p.k) + base;
    std::int64_t pos[kMaxRank] = {};
    std::int64_t off = 0;
    for (std::int64_t i = 0; i < total; ++i) {
      dst[i] = convert<A>(k[off]);
      // Odometer increment over k_shape, row-major.
      for (int d = p.rank - 1; d >= 0; --d) {
        off += p.k_stride[d];
        if (++pos[d] < p.k_shape[d]) break;
        off -= p.k_stride[d] * p.k_shape[d];
        pos[d] = 0;
      }
    }
  });
}

#define CONVKIT_LINES_INSTANTIATE(A)                                                        \
  template void gather_line<A>(const FilterProblem&, const std::int64_t*, std::int64_t,     \
                               std::int64_t, A*);                                           \
  template void store_line<A>(const FilterProblem&, const std::int64_t*, std::int64_t,      \
                              std::int64_t, const A*);                                      \
  template void pack_kernel<A>(const FilterProblem&, const std::int64_t*, A*);
CONVKIT_LINES_INSTANTIATE(float)
CONVKIT_LINES_INSTANTIATE(double)
CONVKIT_LINES_INSTANTIATE(std::int64_t)
#undef CONVKIT_LINES_INSTANTIATE

}  // namespace convkit::signal::detail
