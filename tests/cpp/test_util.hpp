// tests/cpp/test_util.hpp — shared helpers for the convkit tests: strided tensor buffers built
// from naive::Array values (any layout, gaps, negative strides, permuted memory order), reading
// them back, checking that nothing outside a view was written, and exact array comparison.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convkit/convkit.hpp"
#include "naive_conv.hpp"

namespace ckt {

using i64 = std::int64_t;
using naive::Array;
using naive::Shape;

inline naive::Mode to_naive(convkit::PaddingMode m) {
  switch (m) {
    case convkit::PaddingMode::zeros: return naive::Mode::constant;
    case convkit::PaddingMode::reflect: return naive::Mode::reflect;
    case convkit::PaddingMode::replicate: return naive::Mode::edge;
    case convkit::PaddingMode::circular: return naive::Mode::wrap;
  }
  return naive::Mode::constant;
}

inline std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

/// How a test tensor is laid out in memory, beyond its layout.
enum class ViewKind { contiguous, gapped, flipped, mixed };

inline const char* view_kind_name(ViewKind k) {
  switch (k) {
    case ViewKind::contiguous: return "contiguous";
    case ViewKind::gapped: return "gapped";
    case ViewKind::flipped: return "flipped";
    case ViewKind::mixed: return "mixed";
  }
  return "?";
}

inline ViewKind random_view_kind(std::mt19937_64& rng) {
  const int r = static_cast<int>(rng() % 10);
  if (r < 4) return ViewKind::contiguous;
  if (r < 6) return ViewKind::gapped;
  if (r < 8) return ViewKind::flipped;
  return ViewKind::mixed;
}

/// A tensor stored somewhere inside `storage` with arbitrary strides. `logical` is the
/// channels-first logical shape; physical dimension i shows logical dimension perm[i].
template <class T>
struct Strided {
  std::vector<T> storage;
  i64 base = 0;
  Shape logical;
  std::vector<int> perm;
  Shape pshape, pstrides;

  convkit::TensorView view() const {
    T* data = storage.empty() ? nullptr : const_cast<T*>(storage.data()) + base;
    return convkit::TensorView(data, convkit::dtype_of<T>::value, pshape, pstrides);
  }
  i64 offset_of(const Shape& lidx) const {
    i64 o = base;
    for (std::size_t i = 0; i < perm.size(); ++i) o += lidx[perm[i]] * pstrides[i];
    return o;
  }
};

/// Physical-from-logical permutation: channels-last activations are (N, *spatial, C).
inline std::vector<int> layout_perm(int ndim, bool activation, convkit::Layout layout) {
  std::vector<int> p(ndim);
  std::iota(p.begin(), p.end(), 0);
  if (activation && layout == convkit::Layout::channels_last) {
    for (int i = 1; i < ndim - 1; ++i) p[i] = i + 1;
    p[ndim - 1] = 1;
  }
  return p;
}

/// Allocates a tensor of logical shape `logical` laid out as `kind` says; storage is filled
/// with `sentinel`, the view's own elements with `fill` (or the values of `values`).
template <class T>
Strided<T> make_strided(const Shape& logical, bool activation, convkit::Layout layout, ViewKind kind,
                        std::mt19937_64& rng, T sentinel, const Array* values, T fill = T(0)) {
  Strided<T> s;
  const int nd = static_cast<int>(logical.size());
  s.logical = logical;
  s.perm = layout_perm(nd, activation, layout);
  s.pshape.resize(nd);
  for (int i = 0; i < nd; ++i) s.pshape[i] = logical[s.perm[i]];
  // Memory order (outermost first), extra extent per dimension, step of the innermost one.
  std::vector<int> order(nd);
  std::iota(order.begin(), order.end(), 0);
  Shape gap(nd, 0);
  std::vector<bool> flip(nd, false);
  i64 step = 1;
  const bool gaps = kind == ViewKind::gapped || kind == ViewKind::mixed;
  const bool flips = kind == ViewKind::flipped || kind == ViewKind::mixed;
  if (kind == ViewKind::mixed) std::shuffle(order.begin(), order.end(), rng);
  if (gaps) {
    for (int i = 0; i < nd; ++i) gap[i] = static_cast<i64>(rng() % 3);
    step = 1 + static_cast<i64>(rng() % 2);
  }
  if (flips) {
    for (int i = 0; i < nd; ++i) flip[i] = rng() % 2 == 0;
    flip[rng() % nd] = true;
  }
  s.pstrides.assign(nd, 0);
  i64 span = step;
  for (int j = nd - 1; j >= 0; --j) {
    const int d = order[j];
    s.pstrides[d] = span;
    span *= std::max<i64>(s.pshape[d] + gap[d], 1);  // keep strides non-zero for empty dims
  }
  if (naive::element_count(s.pshape) == 0) span = 0;  // an empty tensor owns no storage
  s.storage.assign(static_cast<std::size_t>(span), sentinel);
  for (int i = 0; i < nd; ++i)
    if (flip[i] && s.pshape[i] > 1) {
      s.base += (s.pshape[i] - 1) * s.pstrides[i];
      s.pstrides[i] = -s.pstrides[i];
    }
  naive::for_each_index(logical, [&](const Shape& idx) {
    s.storage[static_cast<std::size_t>(s.offset_of(idx))] =
        values ? static_cast<T>(values->at(idx)) : fill;
  });
  return s;
}

/// The logical (channels-first) values of a strided tensor.
template <class T>
Array read(const Strided<T>& s) {
  Array a(s.logical);
  naive::for_each_index(s.logical, [&](const Shape& idx) {
    a.at(idx) = static_cast<double>(s.storage[static_cast<std::size_t>(s.offset_of(idx))]);
  });
  return a;
}

/// True when every storage element outside the view still holds `sentinel` (bitwise).
template <class T>
::testing::AssertionResult outside_untouched(const Strided<T>& s, T sentinel) {
  std::vector<char> inside(s.storage.size(), 0);
  naive::for_each_index(s.logical, [&](const Shape& idx) {
    inside[static_cast<std::size_t>(s.offset_of(idx))] = 1;
  });
  for (std::size_t i = 0; i < s.storage.size(); ++i)
    if (!inside[i] && std::memcmp(&s.storage[i], &sentinel, sizeof(T)) != 0)
      return ::testing::AssertionFailure()
             << "storage element " << i << " outside the view was overwritten with "
             << s.storage[i];
  return ::testing::AssertionSuccess();
}

/// Exact equality of two arrays (shape and every value; NaN equals NaN).
inline ::testing::AssertionResult same_values(const Array& got, const Array& want) {
  if (got.shape != want.shape)
    return ::testing::AssertionFailure()
           << "shape " << shape_str(got.shape) << " != expected " << shape_str(want.shape);
  i64 bad = 0, first = -1;
  for (i64 i = 0; i < got.size(); ++i) {
    const double a = got.v[i], b = want.v[i];
    const bool eq = (std::isnan(a) && std::isnan(b)) || a == b;
    if (!eq) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  // Report the multi-index of the first mismatch.
  Shape idx(got.shape.size());
  i64 r = first;
  for (int d = static_cast<int>(idx.size()) - 1; d >= 0; --d) {
    idx[d] = r % got.shape[d];
    r /= got.shape[d];
  }
  return ::testing::AssertionFailure()
         << bad << " of " << got.size() << " values differ; first at " << shape_str(idx)
         << ": got " << got.v[first] << ", expected " << want.v[first];
}

/// The error bound conv.hpp documents for approximate algorithms (algorithm_is_approximate:
/// Winograd F(4×4, 3×3)), for a forward result over `channels` input channels per group:
/// 2⁻²⁴ · 2304 · (channels + 32) · max|x| · max|w|.
inline double approximate_bound(const Array& x, const Array& w, i64 channels) {
  double mx = 0, mw = 0;
  for (double v : x.v) mx = std::max(mx, std::fabs(v));
  for (double v : w.v) mw = std::max(mw, std::fabs(v));
  return std::ldexp(1.0, -24) * 2304.0 * static_cast<double>(channels + 32) * mx * mw;
}

/// Winograd's documented weight-gradient bound (conv.hpp): 2⁻²⁴ · 2845 · (T + 32) · max|x| ·
/// max|dy|, T = N · (⌈OH/4⌉ + 2·dh) · (⌈OW/4⌉ + 2·dw) (an upper bound on the 4×4 output tiles
/// summed, dilation phases included). dy has shape (N, K, OH, OW).
inline double approximate_bound_bwd_weights(const Array& x, const Array& dy, i64 dh, i64 dw) {
  double mx = 0, md = 0;
  for (double v : x.v) mx = std::max(mx, std::fabs(v));
  for (double v : dy.v) md = std::max(md, std::fabs(v));
  const i64 n = dy.shape[0], oh = dy.shape[dy.shape.size() - 2], ow = dy.shape.back();
  const double tiles = static_cast<double>(n) * static_cast<double>((oh + 3) / 4 + 2 * dh) *
                       static_cast<double>((ow + 3) / 4 + 2 * dw);
  return std::ldexp(1.0, -24) * 2845.0 * (tiles + 32.0) * mx * md;
}

/// |got − want| ≤ tol + 2⁻²³·|want| element-wise (shapes equal; NaN matches NaN only).
inline ::testing::AssertionResult values_within(const Array& got, const Array& want, double tol) {
  if (got.shape != want.shape)
    return ::testing::AssertionFailure()
           << "shape " << shape_str(got.shape) << " != expected " << shape_str(want.shape);
  for (i64 i = 0; i < got.size(); ++i) {
    const double a = got.v[i], b = want.v[i];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= tol + std::ldexp(std::fabs(b), -23)))
      return ::testing::AssertionFailure() << "value " << i << ": got " << a << ", expected "
                                           << b << " (tolerance " << tol << ")";
  }
  return ::testing::AssertionSuccess();
}

/// Maximum absolute difference; shapes must agree.
inline double max_abs_diff(const Array& a, const Array& b) {
  double m = 0;
  for (i64 i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a.v[i] - b.v[i]));
  return m;
}

inline Array random_ints(const Shape& shape, std::mt19937_64& rng, int lo = -3, int hi = 3) {
  Array a(shape);
  std::uniform_int_distribution<int> dist(lo, hi);
  for (auto& v : a.v) v = dist(rng);
  return a;
}

inline Array random_reals(const Shape& shape, std::mt19937_64& rng, double lo = -1, double hi = 1) {
  Array a(shape);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (auto& v : a.v) v = dist(rng);
  return a;
}

/// Dense contiguous storage of `a` converted to T, in the given layout.
template <class T>
Strided<T> dense(const Array& a, bool activation, convkit::Layout layout) {
  std::mt19937_64 unused(0);
  return make_strided<T>(a.shape, activation, layout, ViewKind::contiguous, unused, T(0), &a);
}

/// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = convkit::get_num_threads();
  ~ThreadCountGuard() { convkit::set_num_threads(saved); }
};

}  // namespace ckt
