// src/signal/signal_api.cpp — the scipy.signal-compatible front end.
//
// Each public function validates its arguments (messages name the argument, the value and
// what was expected), works out scipy's output shape, result dtype, centring and swaps, and
// reduces the call to FilterProblems (filter_problem.hpp): complex data becomes real parts,
// convolution becomes correlation with a flipped kernel view, 'same'/'valid' become base
// offsets. It then picks the engine (direct or FFT) and the accumulator (exact for integers).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "convkit/error.hpp"
#include "convkit/signal.hpp"
#include "core/threading.hpp"
#include "core/workspace_limit.hpp"
#include "kernels/scan/finite_kernels.hpp"
#include "signal/direct_filter.hpp"
#include "signal/fft_filter.hpp"
#include "signal/filter_problem.hpp"
#include "signal/scalar_dispatch.hpp"

namespace convkit::signal {

using detail::Acc;
using detail::FilterProblem;
using detail::kMaxRank;
using detail::Scalar;

// ---- parsing ------------------------------------------------------------------------------

Mode parse_mode(std::string_view s) {
  if (s == "full") return Mode::full;
  if (s == "same") return Mode::same;
  if (s == "valid") return Mode::valid;
  throw InvalidArgument("mode: got '" + std::string(s) + "', expected 'full', 'same' or 'valid'");
}

Boundary parse_boundary(std::string_view s) {
  if (s == "fill" || s == "pad") return Boundary::fill;
  if (s == "wrap" || s == "circular") return Boundary::wrap;
  if (s == "symm" || s == "symmetric") return Boundary::symm;
  throw InvalidArgument("boundary: got '" + std::string(s) +
                        "', expected 'fill', 'wrap' (or 'circular') or 'symm' (or 'symmetric')");
}

Method parse_method(std::string_view s) {
  if (s == "auto") return Method::automatic;
  if (s == "direct") return Method::direct;
  if (s == "fft") return Method::fft;
  throw InvalidArgument("method: got '" + std::string(s) + "', expected 'auto', 'direct' or 'fft'");
}

const char* method_name(Method m) {
  return m == Method::direct ? "direct" : m == Method::fft ? "fft" : "auto";
}

namespace {
const char* function_name(Function f) {
  static const char* const names[] = {"convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve"};
  return names[static_cast<int>(f)];
}
}  // namespace

ArrayView ArrayView::contiguous(void* data, ScalarType type, std::vector<std::int64_t> shape) {
  ArrayView v;
  v.data = data;
  v.type = type;
  v.strides.assign(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d)
    v.strides[d] = v.strides[d + 1] * std::max<std::int64_t>(shape[d + 1], 1);
  v.shape = std::move(shape);
  return v;
}

namespace {

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

bool is_complex(ScalarType t) { return t == ScalarType::complex64 || t == ScalarType::complex128; }
bool is_integer_like(ScalarType t) {
  return t != ScalarType::float32 && t != ScalarType::float64 && !is_complex(t);
}

Scalar real_scalar(ScalarType t) {
  switch (t) {
    case ScalarType::bool_: return Scalar::b8;
    case ScalarType::int8: return Scalar::i8;
    case ScalarType::uint8: return Scalar::u8;
    case ScalarType::int16: return Scalar::i16;
    case ScalarType::uint16: return Scalar::u16;
    case ScalarType::int32: return Scalar::i32;
    case ScalarType::uint32: return Scalar::u32;
    case ScalarType::int64: return Scalar::i64;
    case ScalarType::uint64: return Scalar::u64;
    case ScalarType::float32: case ScalarType::complex64: return Scalar::f32;
    case ScalarType::float64: case ScalarType::complex128: return Scalar::f64;
  }
  return Scalar::f64;
}

void check_view(const ArrayView& v, const char* name) {
  if (v.shape.size() != v.strides.size())
    throw InvalidArgument(std::string(name) + ": shape has " + std::to_string(v.shape.size()) +
                          " dimensions but strides have " + std::to_string(v.strides.size()));
  if (v.shape.size() > static_cast<std::size_t>(kMaxRank))
    throw InvalidArgument(std::string(name) + ": " + std::to_string(v.shape.size()) +
                          " dimensions, at most 32 are supported");
  std::int64_t total = 1;
  for (auto e : v.shape) {
    if (e < 0) throw ShapeError(std::string(name) + ": negative extent in shape " + shape_str(v.shape));
    if (e > 0 && total > std::numeric_limits<std::int64_t>::max() / e)
      throw SizeOverflow(std::string(name) + ": element count of shape " + shape_str(v.shape) +
                         " overflows 64-bit arithmetic");
    total *= e;
  }
  if (total > 0 && v.data == nullptr) throw InvalidArgument(std::string(name) + ": data is null");
}

// Element count; throws SizeOverflow when it does not fit in int64.
std::int64_t numel(const std::vector<std::int64_t>& s) {
  std::int64_t n = 1;
  for (auto e : s) {
    if (e == 0) return 0;
  }
  for (auto e : s)
    if (__builtin_mul_overflow(n, e, &n))
      throw SizeOverflow("element count of shape " + shape_str(s) + " overflows 64-bit arithmetic");
  return n;
}

// Byte range [lo, hi) an array touches.
void byte_range(const ArrayView& v, std::uintptr_t* lo, std::uintptr_t* hi) {
  const std::int64_t es = static_cast<std::int64_t>(scalar_type_size(v.type));
  std::int64_t a = 0, b = 0;
  for (std::size_t d = 0; d < v.shape.size(); ++d) {
    if (v.shape[d] == 0) { *lo = *hi = 0; return; }
    const std::int64_t span = (v.shape[d] - 1) * v.strides[d] * es;
    (span < 0 ? a : b) += span;
  }
  *lo = reinterpret_cast<std::uintptr_t>(v.data) + a;
  *hi = reinterpret_cast<std::uintptr_t>(v.data) + b + es;
}

void check_out(const ArrayView& out, const std::vector<std::int64_t>& shape, ScalarType type,
               const ArrayView& in1, const ArrayView& in2) {
  check_view(out, "out");
  if (out.shape != shape)
    throw ShapeError("out: shape " + shape_str(out.shape) + ", expected " + shape_str(shape));
  if (out.type != type)
    throw UnsupportedError(std::string("out: dtype ") + scalar_type_name(out.type) +
                           ", expected " + scalar_type_name(type));
  for (std::size_t d = 0; d < out.shape.size(); ++d)
    if (out.strides[d] == 0 && out.shape[d] > 1)
      throw InvalidArgument("out: stride 0 along axis " + std::to_string(d) +
                            " (a broadcast view cannot be written)");
  std::uintptr_t olo, ohi;
  byte_range(out, &olo, &ohi);
  for (const ArrayView* in : {&in1, &in2}) {
    std::uintptr_t lo, hi;
    byte_range(*in, &lo, &hi);
    if (olo < ohi && lo < hi && olo < hi && lo < ohi)
      throw InvalidArgument(std::string("out: overlaps ") + (in == &in1 ? "in1" : "in2") +
                            "; pass a separate output array");
  }
}

// ---- real parts of (possibly complex) operands ---------------------------------------------

struct Part {
  const void* data = nullptr;  // nullptr: this part is absent (identically zero)
  Scalar type = Scalar::f64;
  std::int64_t stride[kMaxRank] = {};
};

Part real_part(const ArrayView& v) {
  Part p;
  p.data = v.data;
  p.type = real_scalar(v.type);
  const std::int64_t mul = is_complex(v.type) ? 2 : 1;
  for (std::size_t d = 0; d < v.shape.size(); ++d) p.stride[d] = v.strides[d] * mul;
  return p;
}

Part imag_part(const ArrayView& v) {
  Part p;
  if (!is_complex(v.type)) return p;
  p = real_part(v);
  p.data = static_cast<const char*>(v.data) + scalar_type_size(v.type) / 2;
  return p;
}

const double kZero = 0.0;

// ---- exactness analysis for integer results ------------------------------------------------

// Calls f(value as double) for every element of one real part, in row-major order; stops
// early when f returns false.
template <typename F>
void for_each_value(const Part& part, const std::vector<std::int64_t>& shape, F&& f) {
  const int r = static_cast<int>(shape.size());
  const std::int64_t total = numel(shape);
  detail::with_scalar(part.type, [&](auto tag) {
    using S = decltype(tag);
    const S* base = static_cast<const S*>(part.data);
    std::int64_t pos[kMaxRank] = {}, off = 0;
    for (std::int64_t i = 0; i < total; ++i) {
      if (!f(static_cast<double>(base[off]))) return;
      for (int d = r - 1; d >= 0; --d) {  // odometer step over the strided shape
        off += part.stride[d];
        if (++pos[d] < shape[d]) break;
        off -= part.stride[d] * shape[d];
        pos[d] = 0;
      }
    }
  });
}

// Largest |value| in an integer-like array: the dtype's bound for narrow types, a scan otherwise.
double max_abs(const ArrayView& v) {
  switch (v.type) {
    case ScalarType::bool_: return 1;
    case ScalarType::int8: return 128;
    case ScalarType::uint8: return 255;
    case ScalarType::int16: return 32768;
    case ScalarType::uint16: return 65535;
    default: break;
  }
  double m = 0;
  for_each_value(real_part(v), v.shape, [&](double x) {
    m = std::max(m, std::fabs(x));
    return true;
  });
  return m;
}

double sum_abs(const ArrayView& v) {
  double s = 0;
  for_each_value(real_part(v), v.shape, [&](double x) {
    s += std::fabs(x);
    return true;
  });
  return s;
}

// Whether one real part holds only finite values: contiguous lines go through the
// vectorised line scan, in parallel (whole 4K images are scanned before choosing an FFT).
bool part_finite(const Part& part, const std::vector<std::int64_t>& shape) {
  const int r = static_cast<int>(shape.size());
  const std::int64_t total = numel(shape);
  if (total == 0) return true;
  if (part.stride[r - 1] != 1) {
    bool finite = true;
    for_each_value(part, shape, [&](double x) { return finite = std::isfinite(x); });
    return finite;
  }
  const std::int64_t n = shape[r - 1], lines = total / n;
  std::atomic<bool> finite{true};
  convkit::detail::parallel_for(lines, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t l = begin; l < end && finite.load(std::memory_order_relaxed); ++l) {
      std::int64_t off = 0, rem = l;
      for (int d = r - 2; d >= 0; --d) {
        off += (rem % shape[d]) * part.stride[d];
        rem /= shape[d];
      }
      const bool ok = part.type == Scalar::f32
                          ? convkit::detail::all_finite(static_cast<const float*>(part.data) + off, n)
                          : convkit::detail::all_finite(static_cast<const double*>(part.data) + off, n);
      if (!ok) finite.store(false, std::memory_order_relaxed);
    }
  });
  return finite.load();
}

bool all_finite(const ArrayView& v) {
  if (is_integer_like(v.type)) return true;
  if (v.shape.empty()) {
    bool finite = true;
    for_each_value(real_part(v), v.shape, [&](double x) { return finite = std::isfinite(x); });
    if (is_complex(v.type))
      for_each_value(imag_part(v), v.shape, [&](double x) { return finite = finite && std::isfinite(x); });
    return finite;
  }
  if (is_complex(v.type) && v.strides.back() == 1) {
    // Interleaved real and imaginary parts: one real line of twice the length.
    Part both = real_part(v);
    std::vector<std::int64_t> shape = v.shape;
    shape.back() *= 2;
    both.stride[shape.size() - 1] = 1;
    return part_finite(both, shape);
  }
  if (!part_finite(real_part(v), v.shape)) return false;
  return !is_complex(v.type) || part_finite(imag_part(v), v.shape);
}

// The accumulator that makes an integer-like result exact: float32 while every partial sum is
// an integer below 2^24, float64 below 2^53, else wrapping int64.
Acc exact_acc(double bound) {
  if (bound <= 16777216.0) return Acc::f32;
  if (bound <= 9007199254740992.0) return Acc::f64;
  return Acc::i64;
}

// ---- the generic lowering --------------------------------------------------------------------

// Everything a call needs to become FilterProblems (per dimension of the output).
struct Lowering {
  int rank = 0;
  const ArrayView* x = nullptr;      // the extended input ("image")
  const ArrayView* k = nullptr;      // the kernel
  ArrayView out;                     // possibly reversed by the lowering
  std::int64_t base[kMaxRank] = {};
  bool flip[kMaxRank] = {};          // kernel reversed along this dim (convolution)
  bool batch[kMaxRank] = {};         // fftconvolve's non-convolved axes
  std::int64_t batch_offset[kMaxRank] = {};  // 'same' centring of broadcast batch axes
  bool kernel_conj = false;
  bool out_conj = false;
  bool padding_is_term = false;      // convolve2d/correlate2d: the fill value is a term
  Boundary boundary = Boundary::fill;
  std::complex<double> fill = 0.0;
  ScalarType result = ScalarType::float64;
};

// A lowering of out = in1 ⋆ in2 with no flips, offsets or swaps yet.
Lowering start_lowering(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
                        ScalarType R) {
  Lowering L;
  L.rank = static_cast<int>(in1.shape.size());
  L.result = R;
  L.x = &in1;
  L.k = &in2;
  L.out = out;
  return L;
}

// Fill in the geometry of a FilterProblem for one (x part, k part) pair.
FilterProblem make_problem(const Lowering& L, const Part& xp, const Part& kp, const Part& op) {
  FilterProblem p;
  p.rank = L.rank == 0 ? 1 : L.rank;
  const ArrayView& x = *L.x;
  const ArrayView& k = *L.k;
  p.in = xp.data ? xp.data : &kZero;
  p.in_type = xp.data ? xp.type : Scalar::f64;
  p.k_type = kp.type;
  p.out = const_cast<void*>(op.data);
  p.out_type = op.type;
  p.boundary = static_cast<detail::Boundary>(L.boundary);
  p.padding_is_term = L.padding_is_term;
  const char* kb = static_cast<const char*>(kp.data);
  const std::size_t kes = detail::with_scalar(kp.type, [](auto t) { return sizeof(t); });
  if (L.rank == 0) {
    p.in_shape[0] = p.k_shape[0] = p.out_shape[0] = 1;
    p.k = kp.data;
    return p;
  }
  for (int d = 0; d < L.rank; ++d) {
    p.out_shape[d] = L.out.shape[d];
    p.out_stride[d] = op.stride[d];
    p.in_stride[d] = xp.data ? xp.stride[d] : 0;
    if (L.batch[d]) {
      // Not convolved: out index m reads x and the kernel at m + offset (or 0 if broadcast).
      const std::int64_t full = std::max(x.shape[d], k.shape[d]);
      p.in_shape[d] = x.shape[d] == 1 ? full : x.shape[d];
      if (x.shape[d] == 1) p.in_stride[d] = 0;
      p.base[d] = L.batch_offset[d];
      p.k_shape[d] = 1;
      if (k.shape[d] != 1) {
        p.k_batch_stride[d] = kp.stride[d];
        kb += static_cast<std::int64_t>(kes) * kp.stride[d] * L.batch_offset[d];
      }
      continue;
    }
    p.in_shape[d] = x.shape[d];
    p.k_shape[d] = k.shape[d];
    p.base[d] = L.base[d];
    if (L.flip[d]) {
      kb += static_cast<std::int64_t>(kes) * kp.stride[d] * (k.shape[d] - 1);
      p.k_stride[d] = -kp.stride[d];
    } else {
      p.k_stride[d] = kp.stride[d];
    }
  }
  p.k = kb;
  return p;
}

using Engine = void (*)(const FilterProblem&);

// Runs out = x ⋆ k (correlation in the Lowering's geometry) for every real part.
void execute(const Lowering& L, Method method) {
  const ArrayView& x = *L.x;
  const ArrayView& k = *L.k;
  const bool fft = method == Method::fft;
  Engine engine = fft ? &detail::fft_filter : &detail::direct_filter;
  const ScalarType R = L.result;

  // The fill value converted to the result type, as scipy does (1.5 -> 1, -1 -> 255 for
  // uint8): its exact integer value (wrapping) and its magnitude as a double.
  struct Fill { std::int64_t as_int = 0; double value = 0; };
  auto convert_fill = [&](double v) {
    Fill f;
    if (is_integer_like(R)) {
      const std::int64_t t = std::isfinite(v) && std::fabs(v) < 9.2e18 ? static_cast<std::int64_t>(v) : INT64_MIN;
      detail::with_scalar(real_scalar(R), [&](auto tag) {
        using D = decltype(tag);
        if constexpr (std::is_same_v<D, bool>) {
          f.as_int = t != 0;
          f.value = static_cast<double>(f.as_int);
        } else {
          const D d = static_cast<D>(t);
          f.as_int = static_cast<std::int64_t>(d);
          f.value = static_cast<double>(d);
        }
      });
    } else if (R == ScalarType::float32 || R == ScalarType::complex64) {
      f.value = static_cast<double>(static_cast<float>(v));
    } else {
      f.value = v;
    }
    return f;
  };
  const Fill fill_re = convert_fill(L.fill.real()), fill_im = convert_fill(L.fill.imag());

  Acc acc;
  double xmax = 0;  // integer data: bound on |x|, lets the engine prove separable passes exact
  if (is_integer_like(R) && !fft) xmax = std::max(max_abs(x), std::fabs(fill_re.value));
  if (R == ScalarType::float32 || R == ScalarType::complex64)
    acc = Acc::f32;
  else if (R == ScalarType::float64 || R == ScalarType::complex128)
    acc = Acc::f64;
  else if (fft)
    acc = Acc::f64;
  else
    acc = exact_acc(xmax * sum_abs(k));

  FilterProblem proto;
  proto.acc = acc;
  proto.round = fft && is_integer_like(R);
  auto fill_for = [&](const Fill& f, FilterProblem& p) {
    p.fill_int = f.as_int;
    p.fill = f.value;
  };

  const Part xr = real_part(x), xi = imag_part(x);
  const Part kr = real_part(k), ki = imag_part(k);
  const Part orr = real_part(L.out), oi = imag_part(L.out);
  // X = a + ib (b may be a zero array extended by a complex fill), G = c + id.
  const bool x_imag = xi.data != nullptr || L.fill.imag() != 0.0;
  const double dsign = L.kernel_conj ? -1.0 : 1.0;
  const double isign = L.out_conj ? -1.0 : 1.0;
  struct Term { const Part* xp; bool x_is_imag; const Part* kp; double alpha; };
  auto run = [&](const Part& op, std::initializer_list<Term> terms) {
    bool first = true;
    for (const Term& t : terms) {
      if (!t.kp->data) continue;
      if (t.x_is_imag && !x_imag) continue;
      FilterProblem p = make_problem(L, *t.xp, *t.kp, op);
      p.acc = proto.acc;
      p.round = proto.round;
      fill_for(t.x_is_imag ? fill_im : fill_re, p);
      p.alpha = t.alpha;
      p.accumulate = !first;
      p.in_max_abs = xmax;
      engine(p);
      first = false;
    }
    if (first) {  // no term contributes: zeros (e.g. imaginary part of real ⋆ real)
      FilterProblem p = make_problem(L, xr, kr, op);
      p.acc = proto.acc;
      p.fill = 0;
      p.in = &kZero;
      p.in_type = Scalar::f64;
      for (int d = 0; d < p.rank; ++d) p.in_stride[d] = 0;
      detail::direct_filter(p);  // cheap enough: only reached for degenerate complex cases
    }
  };
  const Part zero_imag;  // absent imaginary part of x: read as zeros with the fill's imag part
  const Part& xb = xi.data ? xi : zero_imag;
  run(orr, {Term{&xr, false, &kr, 1.0}, Term{&xb, true, &ki, -dsign}});
  if (oi.data)
    run(oi, {Term{&xr, false, &ki, dsign * isign}, Term{&xb, true, &kr, isign}});
}

void check_same_ndim(const ArrayView& a, const ArrayView& b) {
  if (a.shape.size() != b.shape.size())
    throw ShapeError("in1 and in2 should have the same dimensionality: in1 has shape " +
                     shape_str(a.shape) + ", in2 has shape " + shape_str(b.shape));
}

void check_not_empty(const ArrayView& a, const ArrayView& b) {
  if (numel(a.shape) == 0 || numel(b.shape) == 0)
    throw ShapeError("in1 and in2 must not be empty: got shapes " + shape_str(a.shape) + " and " +
                     shape_str(b.shape));
}

// For 'valid' mode: is in2 larger in every dimension (swap), or in1 (no swap)? Else an error.
bool valid_swap(const std::vector<std::int64_t>& s1, const std::vector<std::int64_t>& s2,
                const std::vector<int>& axes) {
  bool ok1 = true, ok2 = true;
  for (int a : axes) {
    ok1 = ok1 && s1[a] >= s2[a];
    ok2 = ok2 && s2[a] >= s1[a];
  }
  if (!ok1 && !ok2)
    throw ShapeError("mode 'valid': one input must be at least as large as the other in every "
                     "dimension; got in1 " + shape_str(s1) + " and in2 " + shape_str(s2));
  return !ok1;
}

std::vector<int> all_axes(std::size_t n) {
  std::vector<int> a(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<int>(i);
  return a;
}

std::vector<std::int64_t> direct_shape(const std::vector<std::int64_t>& s1,
                                       const std::vector<std::int64_t>& s2, Mode mode) {
  std::vector<std::int64_t> o(s1.size());
  if (mode == Mode::valid) valid_swap(s1, s2, all_axes(s1.size()));
  for (std::size_t d = 0; d < s1.size(); ++d) {
    if (mode == Mode::full) {
      if (s1[d] > std::numeric_limits<std::int64_t>::max() - s2[d])
        throw SizeOverflow("output extent along axis " + std::to_string(d) + " overflows");
      o[d] = s1[d] + s2[d] - 1;
    } else if (mode == Mode::same) {
      o[d] = s1[d];
    } else {
      o[d] = (s1[d] > s2[d] ? s1[d] - s2[d] : s2[d] - s1[d]) + 1;
    }
  }
  std::int64_t total = 1;
  for (auto e : o) {
    if (e > 0 && total > std::numeric_limits<std::int64_t>::max() / e)
      throw SizeOverflow("output shape " + shape_str(o) + ": element count overflows");
    total *= e;
  }
  return o;
}

// fftconvolve's axes: normalised, unique, in range, without length-1 axes.
std::vector<int> fft_axes(const std::vector<std::int64_t>& s1, const std::vector<std::int64_t>& s2,
                          const std::vector<int>& given) {
  const int n = static_cast<int>(s1.size());
  std::vector<int> axes;
  std::vector<bool> seen(n, false);
  if (given.empty()) {
    axes = all_axes(n);
  } else {
    for (int a : given) {
      int b = a < 0 ? a + n : a;
      if (b < 0 || b >= n)
        throw InvalidArgument("axes: axis " + std::to_string(a) + " is out of range for " +
                              std::to_string(n) + "-dimensional inputs");
      if (seen[b]) throw InvalidArgument("axes: all axes must be unique, got " + std::to_string(a) + " twice");
      seen[b] = true;
      axes.push_back(b);
    }
  }
  std::vector<int> kept;
  for (int a : axes)
    if (s1[a] != 1 && s2[a] != 1) kept.push_back(a);
  for (int d = 0; d < n; ++d) {
    if (std::find(kept.begin(), kept.end(), d) != kept.end()) continue;
    if (!(s1[d] == s2[d] || s1[d] == 1 || s2[d] == 1))
      throw ShapeError("incompatible shapes for in1 and in2: " + shape_str(s1) + " and " +
                       shape_str(s2) + " (axis " + std::to_string(d) +
                       " is not convolved, so its extents must be equal or 1)");
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::vector<std::int64_t> fft_shape(std::vector<std::int64_t> s1, std::vector<std::int64_t> s2,
                                    Mode mode, const std::vector<int>& axes) {
  if (mode == Mode::valid && valid_swap(s1, s2, axes)) std::swap(s1, s2);
  std::vector<std::int64_t> o(s1.size());
  for (std::size_t d = 0; d < s1.size(); ++d) {
    const bool conv = contains(axes, static_cast<int>(d));
    if (!conv)
      o[d] = mode == Mode::same ? s1[d] : std::max(s1[d], s2[d]);
    else if (mode == Mode::full)
      o[d] = s1[d] + s2[d] - 1;
    else if (mode == Mode::same)
      o[d] = s1[d];
    else
      o[d] = s1[d] - s2[d] + 1;
  }
  return o;
}

// ---- automatic method choice -----------------------------------------------------------------

struct Choice {
  Method method = Method::direct;
  double direct_s = 0, fft_s = 0;
  std::string why;
};

// Extra memory the engine behind `method` needs for the lowered call (all threads).
std::size_t workspace_needed(const Lowering& L, Method method) {
  FilterProblem p = make_problem(L, real_part(*L.x), real_part(*L.k), real_part(L.out));
  const bool single = L.result == ScalarType::float32 || L.result == ScalarType::complex64;
  p.acc = single ? Acc::f32 : (is_integer_like(L.result) && method == Method::direct ? Acc::i64 : Acc::f64);
  const int threads = convkit::detail::current_num_threads();
  return method == Method::fft ? detail::fft_filter_workspace_bytes(p, threads)
                               : detail::direct_filter_workspace_bytes(p, threads);
}

// Throws OutOfMemory when `method` needs more extra memory than the workspace limit allows.
void check_workspace(const Lowering& L, Method method) {
  if (L.rank == 0) return;
  const std::string over = convkit::detail::workspace_exceeds(
      workspace_needed(L, method), convkit::detail::effective_workspace_limit());
  if (!over.empty())
    throw OutOfMemory(std::string("method '") + method_name(method) + "' " + over +
                      " (raise it with convkit::set_workspace_limit)");
}

// Picks direct or FFT for a lowered call: the cheaper by the cost models, unless the FFT
// would be inexact (integer results beyond the rounding bound, bool) or would spread NaN/Inf.
Choice choose(const Lowering& L) {
  Choice c;
  const ScalarType R = L.result;
  const ArrayView& in1 = *L.x;
  const ArrayView& in2 = *L.k;
  Part xp = real_part(*L.x), kp = real_part(*L.k), op = real_part(L.out);
  FilterProblem p = make_problem(L, xp, kp, op);
  const bool single = R == ScalarType::float32 || R == ScalarType::complex64;
  p.acc = single ? Acc::f32 : Acc::f64;
  const int parts = is_complex(in1.type) && is_complex(in2.type) ? 4 : (is_complex(R) ? 2 : 1);
  c.direct_s = detail::direct_filter_cost_seconds(p) * parts;
  if (L.rank == 0) {
    c.why = "0-d inputs: a single product";
    return c;
  }
  const std::int64_t limit = convkit::detail::effective_workspace_limit();
  // Small kernels: direct is cheaper than any FFT's memory traffic; planning an FFT tiling
  // to cost it would take longer than the filtering itself.
  const double fft_floor = detail::fft_filter_cost_lower_bound(p) * parts;
  if (c.direct_s < fft_floor &&
      (limit < 0 || convkit::detail::workspace_exceeds(workspace_needed(L, Method::direct), limit).empty())) {
    c.fft_s = fft_floor;
    std::ostringstream why;
    why << "estimated direct " << c.direct_s * 1e3 << " ms, below " << fft_floor * 1e3
        << " ms, what any fft tiling spends reading and writing the data (one core); direct is cheaper";
    c.why = why.str();
    return c;
  }
  c.fft_s = detail::fft_filter_cost_seconds(p) * parts;
  if (limit >= 0) {
    const std::string fft_over = convkit::detail::workspace_exceeds(workspace_needed(L, Method::fft), limit);
    const std::string direct_over = convkit::detail::workspace_exceeds(workspace_needed(L, Method::direct), limit);
    if (!fft_over.empty() && direct_over.empty()) {
      c.why = "fft " + fft_over + ": direct";
      return c;
    }
    if (!direct_over.empty() && fft_over.empty()) {
      c.method = Method::fft;
      c.why = "direct " + direct_over + ": fft";
      return c;
    }
  }
  const auto& fake_out = L.out;
  std::ostringstream why;
  why << "estimated direct " << c.direct_s * 1e3 << " ms, fft " << c.fft_s * 1e3 << " ms (one core)";
  if (c.fft_s >= c.direct_s) {
    why << "; direct is cheaper";
    c.why = why.str();
    return c;
  }
  if (R == ScalarType::bool_) {
    why << "; bool result: direct (exact)";
    c.why = why.str();
    return c;
  }
  if (is_integer_like(R)) {
    // A float64 FFT's absolute error is below ~ 4·eps·log2(L)·Σ|x|·Σ|k|/√ (we use the plain
    // product bound); rounding recovers the exact integer only if that is below 1/2.
    double len = 1;
    for (auto e : fake_out.shape) len *= static_cast<double>(e) + 1;
    const double bound = max_abs(*L.x) * max_abs(*L.k) *
                         static_cast<double>(std::min(numel(in1.shape), numel(in2.shape)));
    const double err = 8 * 1.1102230246251565e-16 * std::log2(len + 2) * bound;
    if (err >= 0.5) {
      why << "; integer result with magnitude bound " << bound
          << ": a float64 FFT could round wrongly, so direct (exact)";
      c.why = why.str();
      return c;
    }
    why << "; integer result, magnitude bound " << bound << " keeps FFT rounding exact";
  }
  if (!all_finite(in1) || !all_finite(in2)) {
    why << "; inputs hold NaN or Inf, which an FFT would spread to every output: direct";
    c.why = why.str();
    return c;
  }
  if (single) {
    // float32 FFT: error ~ c·eps32·log2(L) relative to max|x|·Σ|k|, within the 1e-5 relative
    // accuracy convkit promises for float32 results while log2(L) ≤ 40.
    why << "; float32 FFT error bound 4·eps·log2(L) ≤ 1e-5 of the output scale holds";
  }
  c.method = Method::fft;
  why << "; fft";
  c.why = why.str();
  return c;
}

// convolve/correlate's geometry: x = in1, k = in2 (flipped for convolution, conjugated for
// correlation); in valid mode with in2 larger, scipy swaps the inputs (and for correlate
// reverses and conjugates the result), which is reproduced literally.
Lowering convolve_lowering(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
                           Mode mode, bool correlate, ScalarType R) {
  Lowering L = start_lowering(in1, in2, out, R);
  bool swapped = mode == Mode::valid && L.rank > 0 && valid_swap(in1.shape, in2.shape, all_axes(L.rank));
  if (swapped) std::swap(L.x, L.k);
  L.kernel_conj = correlate;
  for (int d = 0; d < L.rank; ++d) {
    const std::int64_t K = L.k->shape[d];
    L.flip[d] = !correlate;
    if (mode == Mode::full) L.base[d] = -(K - 1);
    else if (mode == Mode::same) L.base[d] = (K - 1) / 2 - (K - 1);
    else L.base[d] = 0;
  }
  if (swapped && correlate) {
    // scipy: reverse_and_conj(correlate(in2, in1))
    L.out_conj = true;
    for (int d = 0; d < L.rank && L.out.data; ++d) {  // (no data: explain's geometry only)
      L.out.data = static_cast<char*>(L.out.data) +
                   (L.out.shape[d] - 1) * L.out.strides[d] * static_cast<std::int64_t>(scalar_type_size(L.out.type));
      L.out.strides[d] = -L.out.strides[d];
    }
  }
  return L;
}

void convolve_impl(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                   Method method, bool correlate) {
  check_view(in1, "in1");
  check_view(in2, "in2");
  check_same_ndim(in1, in2);
  const ScalarType R = result_type(Function::convolve, in1.type, in2.type);
  const auto shape = output_shape(correlate ? Function::correlate : Function::convolve, in1.shape,
                                  in2.shape, mode);
  check_out(out, shape, R, in1, in2);
  Lowering L = convolve_lowering(in1, in2, out, mode, correlate, R);
  if (method == Method::automatic) method = choose(L).method;
  check_workspace(L, method);
  execute(L, method);
}

/// The lowering of convolve2d/correlate2d (the output may be a null-data view, for explain).
Lowering filter2d_lowering(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                           Boundary boundary, std::complex<double> fill, bool correlate) {
  const ScalarType R = out.type;
  Lowering L = start_lowering(in1, in2, out, R);
  L.boundary = boundary;
  L.fill = fill;
  L.padding_is_term = true;
  const bool swapped = mode == Mode::valid && valid_swap(in1.shape, in2.shape, {0, 1});
  if (swapped) std::swap(L.x, L.k);
  L.kernel_conj = correlate;
  for (int d = 0; d < 2; ++d) {
    const std::int64_t K = L.k->shape[d];
    L.flip[d] = !correlate;
    if (mode == Mode::full) L.base[d] = -(K - 1);
    else if (mode == Mode::same) L.base[d] = correlate ? -((K - 1) / 2) : (K - 1) / 2 - (K - 1);
    else L.base[d] = 0;
  }
  if (swapped && correlate && L.out.data) {  // scipy: correlate2d(in2, in1)[::-1, ::-1], not conjugated
    for (int d = 0; d < 2; ++d) {
      L.out.data = static_cast<char*>(L.out.data) +
                   (L.out.shape[d] - 1) * L.out.strides[d] * static_cast<std::int64_t>(scalar_type_size(L.out.type));
      L.out.strides[d] = -L.out.strides[d];
    }
  }
  return L;
}

void filter2d_impl(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                   Boundary boundary, std::complex<double> fill, bool correlate) {
  check_view(in1, "in1");
  check_view(in2, "in2");
  const Function f = correlate ? Function::correlate2d : Function::convolve2d;
  const ScalarType R = result_type(f, in1.type, in2.type);
  const auto shape = output_shape(f, in1.shape, in2.shape, mode);
  check_out(out, shape, R, in1, in2);
  if (fill.imag() != 0 && !is_complex(R))
    throw InvalidArgument("fillvalue: " + std::to_string(fill.real()) + "+" + std::to_string(fill.imag()) +
                          "j is complex but the result dtype is " + scalar_type_name(R));
  if (!std::isfinite(fill.real()) && is_integer_like(R))
    throw InvalidArgument("fillvalue: a non-finite value cannot be converted to the result dtype " +
                          std::string(scalar_type_name(R)));
  Lowering L = filter2d_lowering(in1, in2, out, mode, boundary, fill, correlate);
  const Method method = choose(L).method;
  check_workspace(L, method);
  execute(L, method);
}

void fft_impl(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
              const std::vector<int>& given_axes, Function f) {
  check_view(in1, "in1");
  check_view(in2, "in2");
  const ScalarType R = result_type(f, in1.type, in2.type);
  const auto shape = output_shape(f, in1.shape, in2.shape, mode, given_axes);
  check_out(out, shape, R, in1, in2);
  if (numel(in1.shape) == 0 || numel(in2.shape) == 0) return;  // scipy returns an empty array
  Lowering L = start_lowering(in1, in2, out, R);
  if (L.rank == 0) {
    execute(L, Method::direct);
    return;
  }
  const std::vector<int> axes = fft_axes(in1.shape, in2.shape, given_axes);
  if (mode == Mode::valid && valid_swap(in1.shape, in2.shape, axes)) std::swap(L.x, L.k);
  for (int d = 0; d < L.rank; ++d) {
    const std::int64_t K = L.k->shape[d];
    if (!contains(axes, d)) {
      L.batch[d] = true;
      const std::int64_t full = std::max(L.x->shape[d], L.k->shape[d]);
      L.batch_offset[d] = (full - L.out.shape[d]) / 2;
      continue;
    }
    L.flip[d] = true;
    if (mode == Mode::full) L.base[d] = -(K - 1);
    else if (mode == Mode::same) L.base[d] = (K - 1) / 2 - (K - 1);
    else L.base[d] = 0;
  }
  check_workspace(L, Method::fft);
  execute(L, Method::fft);
}

}  // namespace

std::vector<std::int64_t> output_shape(Function f, const std::vector<std::int64_t>& in1,
                                       const std::vector<std::int64_t>& in2, Mode mode,
                                       const std::vector<int>& axes) {
  if (in1.size() != in2.size())
    throw ShapeError("in1 and in2 should have the same dimensionality: in1 has shape " +
                     shape_str(in1) + ", in2 has shape " + shape_str(in2));
  for (const auto* s : {&in1, &in2})
    for (auto e : *s)
      if (e < 0) throw ShapeError("negative extent in shape " + shape_str(*s));
  const bool empty = numel(in1) == 0 || numel(in2) == 0;
  switch (f) {
    case Function::convolve2d:
    case Function::correlate2d:
      if (in1.size() != 2)
        throw ShapeError(std::string(function_name(f)) +
                         " inputs must both be 2-D arrays; got shapes " + shape_str(in1) + " and " +
                         shape_str(in2));
      [[fallthrough]];
    case Function::convolve:
    case Function::correlate:
      if (empty)
        throw ShapeError("in1 and in2 must not be empty: got shapes " + shape_str(in1) + " and " +
                         shape_str(in2));
      if (!axes.empty()) throw InvalidArgument("axes: only fftconvolve and oaconvolve take axes");
      return direct_shape(in1, in2, mode);
    case Function::fftconvolve:
    case Function::oaconvolve: {
      if (in1.empty()) return {};
      if (empty) return {0};  // scipy returns np.array([])
      const std::vector<int> ax = fft_axes(in1, in2, axes);
      return fft_shape(in1, in2, mode, ax);
    }
  }
  return {};
}

void convolve(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode, Method method) {
  convolve_impl(in1, in2, out, mode, method, false);
}
void correlate(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode, Method method) {
  convolve_impl(in1, in2, out, mode, method, true);
}
void convolve2d(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                Boundary boundary, std::complex<double> fillvalue) {
  filter2d_impl(in1, in2, out, mode, boundary, fillvalue, false);
}
void correlate2d(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                 Boundary boundary, std::complex<double> fillvalue) {
  filter2d_impl(in1, in2, out, mode, boundary, fillvalue, true);
}
void fftconvolve(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                 const std::vector<int>& axes) {
  fft_impl(in1, in2, out, mode, axes, Function::fftconvolve);
}
void oaconvolve(const ArrayView& in1, const ArrayView& in2, const ArrayView& out, Mode mode,
                const std::vector<int>& axes) {
  fft_impl(in1, in2, out, mode, axes, Function::oaconvolve);
}

Method choose_conv_method(const ArrayView& in1, const ArrayView& in2, Mode mode) {
  check_view(in1, "in1");
  check_view(in2, "in2");
  check_same_ndim(in1, in2);
  check_not_empty(in1, in2);
  const ScalarType R = result_type(Function::convolve, in1.type, in2.type);
  const ArrayView out = ArrayView::contiguous(nullptr, R, output_shape(Function::convolve, in1.shape, in2.shape, mode));
  return choose(convolve_lowering(in1, in2, out, mode, false, R)).method;
}

std::string explain(Function f, const ArrayView& in1, const ArrayView& in2, Mode mode,
                    Method method, Boundary boundary) {
  check_view(in1, "in1");
  check_view(in2, "in2");
  const bool fixed_fft = f == Function::fftconvolve || f == Function::oaconvolve;
  if ((f == Function::convolve2d || f == Function::correlate2d) && method != Method::automatic)
    throw InvalidArgument(std::string("method: ") + function_name(f) +
                          " has no method argument (it always chooses automatically), so explain "
                          "accepts only method 'auto' for it, got '" + method_name(method) + "'");
  if (fixed_fft && method == Method::direct)
    throw InvalidArgument(std::string("method: ") + function_name(f) +
                          " always uses the FFT, so explain accepts only method 'auto' or 'fft' for it, got 'direct'");
  std::ostringstream s;
  const ScalarType R = result_type(f, in1.type, in2.type);
  const auto shape = output_shape(f, in1.shape, in2.shape, mode);
  s << "result " << scalar_type_name(R) << " " << shape_str(shape);
  if (numel(in1.shape) == 0 || numel(in2.shape) == 0 || in1.shape.size() != shape.size())
    return s.str() + "; empty input: nothing to compute";
  const bool correlate = f == Function::correlate || f == Function::correlate2d;
  const bool fn2d = f == Function::convolve2d || f == Function::correlate2d;
  ArrayView out = ArrayView::contiguous(nullptr, R, shape);
  Lowering L = fn2d ? filter2d_lowering(in1, in2, out, mode, boundary, 0.0, correlate)
                    : convolve_lowering(in1, in2, out, mode, correlate, R);
  if (f == Function::fftconvolve || f == Function::oaconvolve) {
    method = Method::fft;
    s << "; method fft (requested by the function)";
  } else if (method == Method::automatic) {
    Choice c = choose(L);
    method = c.method;
    s << "; method " << method_name(method) << " (auto: " << c.why << ")";
  } else {
    s << "; method " << method_name(method) << " (requested)";
  }
  if (in1.shape.empty()) return s.str();
  FilterProblem p = make_problem(L, real_part(*L.x), real_part(*L.k), real_part(L.out));
  p.acc = (R == ScalarType::float32 || R == ScalarType::complex64) ? Acc::f32 : Acc::f64;
  if (is_integer_like(R) && method == Method::direct) {
    p.in_max_abs = max_abs(*L.x);
    p.acc = exact_acc(p.in_max_abs * sum_abs(*L.k));
  }
  const int threads = convkit::detail::current_num_threads();
  if (method == Method::direct) {
    s << "; engine direct: " << detail::direct_filter_describe(p) << ", workspace "
      << detail::direct_filter_workspace_bytes(p, threads) << " bytes";
    if (is_integer_like(R))
      s << "; integer result computed exactly in "
        << (p.acc == Acc::f32 ? "float32 (every partial sum is an integer below 2^24)"
            : p.acc == Acc::f64 ? "float64 (every partial sum is an integer below 2^53)"
                                : "wrapping int64");
  } else {
    s << "; engine fft: " << detail::fft_filter_describe(p) << ", workspace "
      << detail::fft_filter_workspace_bytes(p, threads) << " bytes";
  }
  if (is_complex(R)) s << "; complex data as real parts (up to 4 real filters)";
  return s.str();
}

}  // namespace convkit::signal
