// tests/fuzz/fuzz_signal.cpp — libFuzzer harness for convkit::signal (scipy.signal semantics).
//
// Role: from arbitrary bytes build two N-d inputs (rank 0-4, small extents incl. 0 and 1, every
// ScalarType, mixed pairs, contiguous / gapped / negative-stride / broadcast (stride 0) views),
// a function (convolve, correlate, convolve2d, correlate2d, fftconvolve, oaconvolve), a mode,
// method, boundary, fill value and axes (incl. invalid ones); then
//   * output_shape / result_type / choose_conv_method / explain either succeed or throw
//     convkit::Error (anything else is a finding);
//   * when output_shape succeeds the call itself must succeed (except for fill values the result
//     dtype cannot hold), and its result must match a naive reference written here from
//     scipy's semantics (signal.hpp, python/convkit/signal.py):
//       - convolve = correlate with the flipped kernel; correlate conjugates in2;
//       - 'same' starts at (K-1)/2 of the 'full' output (correlate2d: K/2), 'valid' at K-1;
//       - 'valid' swaps the inputs when in2 is larger (correlate: result reversed and
//         conjugated; correlate2d: reversed only);
//       - convolve/correlate/fft*: zero padding is no term; convolve2d/correlate2d extend in1
//         by fill (a term, converted to the result dtype), wrap (periodic) or symm (mirror
//         with the edge repeated, periodic with period 2N);
//       - fftconvolve/oaconvolve: only `axes` (minus length-1 ones) are convolved, the others
//         broadcast, centred for 'same';
//     exact (wrapping modulo the result type) for integer/bool results, 1e-4 (float32) /
//     1e-10 (float64) relative to the sum of |term| for direct sums, 1e-3 / 1e-9 relative to
//     sum|in1| * sum|in2| for FFT results. Complex products are formed from real parts
//     (ac - bd, ad + bc) as separate sums, which is what makes NaN/Inf classification
//     well-defined; with the "non-finite" flag the inputs hold NaN/Inf and direct results are
//     checked for the same NaN/Inf pattern.
// Each input also caps the kernels' ISA (CONVKIT_MAX_ISA) to avx512, avx2, generic or none.
// Built with clang -fsanitize=fuzzer,address,undefined by scripts/fuzz; replayed over the
// seed corpus by replay_main.cpp as an ordinary test.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "convkit/error.hpp"
#include "convkit/signal.hpp"
#include "fuzz_input.hpp"

using namespace convkit::signal;
using convkit::Error;
using convkit_fuzz::FuzzInput;
using convkit_fuzz::Rng;

namespace {

constexpr const char* kHarness = "fuzz_signal";
constexpr int kNumTypes = 13;
constexpr double kMaxWork = 20000;  // reference multiply-adds

bool is_complex(ScalarType t) { return t == ScalarType::complex64 || t == ScalarType::complex128; }
bool is_float(ScalarType t) {
  return t == ScalarType::float32 || t == ScalarType::float64 || is_complex(t);
}
bool is_single(ScalarType t) { return t == ScalarType::float32 || t == ScalarType::complex64; }

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + ")";
}

// ---- arrays ---------------------------------------------------------------------------------

// An element read as doubles (re, im) and, for integer/bool types, its exact value (uint64
// values as their bit pattern).
struct Elem {
  double re = 0, im = 0;
  std::int64_t i = 0;
};

Elem load(const char* p, ScalarType t) {
  Elem e;
  auto ld = [](const char* q, auto v) {
    std::memcpy(&v, q, sizeof v);
    return v;
  };
  switch (t) {
    case ScalarType::bool_: e.i = ld(p, std::uint8_t{}); break;  // raw byte: 2 would be a finding
    case ScalarType::int8: e.i = ld(p, std::int8_t{}); break;
    case ScalarType::uint8: e.i = ld(p, std::uint8_t{}); break;
    case ScalarType::int16: e.i = ld(p, std::int16_t{}); break;
    case ScalarType::uint16: e.i = ld(p, std::uint16_t{}); break;
    case ScalarType::int32: e.i = ld(p, std::int32_t{}); break;
    case ScalarType::uint32: e.i = ld(p, std::uint32_t{}); break;
    case ScalarType::int64: e.i = ld(p, std::int64_t{}); break;
    case ScalarType::uint64: {
      const std::uint64_t u = ld(p, std::uint64_t{});
      e.i = static_cast<std::int64_t>(u);
      e.re = static_cast<double>(u);
      return e;
    }
    case ScalarType::float32: e.re = ld(p, float{}); return e;
    case ScalarType::float64: e.re = ld(p, double{}); return e;
    case ScalarType::complex64: e.re = ld(p, float{}); e.im = ld(p + 4, float{}); return e;
    case ScalarType::complex128: e.re = ld(p, double{}); e.im = ld(p + 8, double{}); return e;
  }
  e.re = static_cast<double>(e.i);
  return e;
}

// An integer wrapped to integer type t (bool: nonzero), as NumPy's cast does.
std::int64_t wrap_to(std::uint64_t v, ScalarType t) {
  switch (t) {
    case ScalarType::bool_: return v != 0;
    case ScalarType::int8: return static_cast<std::int8_t>(v);
    case ScalarType::uint8: return static_cast<std::uint8_t>(v);
    case ScalarType::int16: return static_cast<std::int16_t>(v);
    case ScalarType::uint16: return static_cast<std::uint16_t>(v);
    case ScalarType::int32: return static_cast<std::int32_t>(v);
    case ScalarType::uint32: return static_cast<std::uint32_t>(v);
    default: return static_cast<std::int64_t>(v);
  }
}

// A test array: backing storage and a (possibly strided) view of it.
struct Array {
  std::vector<std::uint64_t> storage;  // 8-byte aligned
  ArrayView view;
  const char* at(const std::vector<std::int64_t>& idx) const {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * view.strides[d];
    return static_cast<const char*>(view.data) + off * static_cast<std::int64_t>(scalar_type_size(view.type));
  }
  Elem get(const std::vector<std::int64_t>& idx) const { return load(at(idx), view.type); }
};

// Random contents for a whole backing buffer. `small`: integers in [-4, 4] / eighths in
// [-8, 8]; otherwise full-range integers and floats up to ~1e3. `nonfinite`: some NaN/Inf.
void fill_random(char* p, std::int64_t n, ScalarType t, Rng& rng, bool small, bool nonfinite) {
  const std::size_t es = scalar_type_size(t);
  auto real = [&]() -> double {
    if (nonfinite && rng.range(0, 7) == 0) {
      const double special[] = {std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
      return special[rng.range(0, 2)];
    }
    return small ? static_cast<double>(rng.range(-64, 64)) / 8
                 : static_cast<double>(rng.range(-1000000, 1000000)) / 1024;
  };
  for (std::int64_t k = 0; k < n; ++k, p += es) {
    const std::uint64_t bits = small ? static_cast<std::uint64_t>(rng.range(-4, 4)) : rng.next();
    switch (t) {
      case ScalarType::bool_: { std::uint8_t v = rng.next() & 1; std::memcpy(p, &v, 1); break; }
      case ScalarType::uint8: case ScalarType::uint16: case ScalarType::uint32: case ScalarType::uint64: {
        std::uint64_t v = small ? static_cast<std::uint64_t>(rng.range(0, 4)) : bits;
        // Finding 5: uint64 kernels >= 2^63 hit an out-of-range double -> int64 cast (UB) in
        // the direct engine's separability test.
        if (t == ScalarType::uint64 && convkit_fuzz::avoid("u64-separable-cast")) v &= ~(std::uint64_t{1} << 63);
        std::memcpy(p, &v, es);  // little-endian: the low bytes
        break;
      }
      case ScalarType::int8: case ScalarType::int16: case ScalarType::int32: case ScalarType::int64:
        std::memcpy(p, &bits, es);
        break;
      case ScalarType::float32: { float v = static_cast<float>(real()); std::memcpy(p, &v, 4); break; }
      case ScalarType::float64: { double v = real(); std::memcpy(p, &v, 8); break; }
      case ScalarType::complex64: {
        float v[2] = {static_cast<float>(real()), static_cast<float>(real())};
        std::memcpy(p, v, 8);
        break;
      }
      case ScalarType::complex128: { double v[2] = {real(), real()}; std::memcpy(p, v, 16); break; }
    }
  }
}

Array make_array(ScalarType t, const std::vector<std::int64_t>& shape, FuzzInput& in, Rng& rng,
                 bool output, bool small, bool nonfinite) {
  Array a;
  const convkit_fuzz::Strided s = convkit_fuzz::make_strided(shape, in, /*allow_zero=*/!output);
  const std::size_t es = scalar_type_size(t);
  a.storage.assign((static_cast<std::size_t>(s.backing) * es + 7) / 8 + 1, 0);
  char* base = reinterpret_cast<char*>(a.storage.data());
  if (output)
    std::memset(base, 0xA5, static_cast<std::size_t>(s.backing) * es);  // never-written marker
  else
    fill_random(base, s.backing, t, rng, small, nonfinite);
  a.view.data = base + s.offset * static_cast<std::int64_t>(es);
  a.view.type = t;
  a.view.shape = shape;
  a.view.strides = s.strides;
  return a;
}

// ---- the naive reference ------------------------------------------------------------------------

enum class Ext { none, fill, wrap, symm };  // what an out-of-range in1 index reads

struct Axis {
  bool conv = true;    // convolved (else: a broadcast batch axis)
  bool flip = true;    // convolution (kernel reversed) or correlation
  std::int64_t start = 0;   // offset into the 'full' output (conv), or batch offset
};

struct RefOut {
  // Float results: the two components and the sums of |term| (error scale) per component.
  double re = 0, im = 0, scale_re = 0, scale_im = 0;
  std::uint64_t i = 0;  // integer results: the exact sum modulo 2^64
};

struct RefSpec {
  const Array* x = nullptr;
  const Array* k = nullptr;
  std::vector<Axis> axes;
  Ext ext = Ext::none;
  std::complex<double> fill = 0.0;
  bool kernel_conj = false, out_conj = false, reverse_out = false;
  ScalarType result = ScalarType::float64;
  std::vector<std::int64_t> out_shape;
};

std::int64_t extend(std::int64_t i, std::int64_t n, Ext e, bool* outside) {
  if (i >= 0 && i < n) return i;
  if (e == Ext::wrap) return ((i % n) + n) % n;
  if (e == Ext::symm) {
    std::int64_t r = ((i % (2 * n)) + 2 * n) % (2 * n);
    return r < n ? r : 2 * n - 1 - r;
  }
  *outside = true;
  return 0;
}

std::vector<RefOut> reference(const RefSpec& s) {
  const int r = static_cast<int>(s.out_shape.size());
  std::int64_t total = 1;
  for (auto e : s.out_shape) total *= e;
  std::vector<RefOut> out(static_cast<std::size_t>(total));
  const bool integer = !is_float(s.result);
  const bool x_imag = is_complex(s.x->view.type) || s.fill.imag() != 0;
  const bool k_imag = is_complex(s.k->view.type);
  // The fill value converted to the result type (scipy: 1.5 -> 1, -1 -> 255 for uint8).
  Elem fill;
  if (integer) {
    const double v = s.fill.real();
    const std::int64_t t = std::fabs(v) < 9.2e18 ? static_cast<std::int64_t>(v) : 0;
    fill.i = wrap_to(static_cast<std::uint64_t>(t), s.result);
  } else if (is_single(s.result)) {
    fill.re = static_cast<float>(s.fill.real());
    fill.im = static_cast<float>(s.fill.imag());
  } else {
    fill.re = s.fill.real();
    fill.im = s.fill.imag();
  }
  std::vector<std::int64_t> ksh(r), o(r, 0), j(r), xi(r), ki(r);
  for (int d = 0; d < r; ++d) ksh[d] = s.axes[d].conv ? s.k->view.shape[d] : 1;
  std::int64_t ktotal = 1;
  for (auto e : ksh) ktotal *= e;
  for (std::int64_t n = 0; n < total; ++n) {
    RefOut acc;
    double s_ac = 0, s_bd = 0, s_ad = 0, s_bc = 0, a_ac = 0, a_bd = 0, a_ad = 0, a_bc = 0;
    std::fill(j.begin(), j.end(), 0);
    for (std::int64_t t = 0; t < ktotal; ++t) {
      bool outside = false;
      for (int d = 0; d < r; ++d) {
        const Axis& ax = s.axes[d];
        const std::int64_t N = s.x->view.shape[d], K = s.k->view.shape[d];
        if (!ax.conv) {
          xi[d] = N == 1 ? 0 : o[d] + ax.start;
          ki[d] = K == 1 ? 0 : o[d] + ax.start;
          continue;
        }
        ki[d] = j[d];
        const std::int64_t i = ax.flip ? o[d] + ax.start - j[d] : o[d] + ax.start + j[d] - (K - 1);
        xi[d] = extend(i, N, s.ext, &outside);
      }
      if (!(outside && s.ext == Ext::none)) {
        const Elem xv = outside ? fill : s.x->get(xi);
        const Elem kv = s.k->get(ki);
        if (integer) {
          acc.i += static_cast<std::uint64_t>(xv.i) * static_cast<std::uint64_t>(kv.i);
        } else {
          const double a = xv.re, b = xv.im, c = kv.re, dd = s.kernel_conj ? -kv.im : kv.im;
          s_ac += a * c; a_ac += std::fabs(a * c);
          if (x_imag && k_imag) { s_bd += b * dd; a_bd += std::fabs(b * dd); }
          if (k_imag) { s_ad += a * dd; a_ad += std::fabs(a * dd); }
          if (x_imag) { s_bc += b * c; a_bc += std::fabs(b * c); }
        }
      }
      for (int d = r - 1; d >= 0; --d) {
        if (++j[d] < ksh[d]) break;
        j[d] = 0;
      }
    }
    if (!integer) {
      acc.re = s_ac - s_bd;
      acc.im = s_ad + s_bc;
      if (s.out_conj) acc.im = -acc.im;
      acc.scale_re = a_ac + a_bd;
      acc.scale_im = a_ad + a_bc;
    }
    std::int64_t pos = 0;  // C-order position of the output element (reversed if asked)
    for (int d = 0; d < r; ++d) pos = pos * s.out_shape[d] + (s.reverse_out ? s.out_shape[d] - 1 - o[d] : o[d]);
    out[static_cast<std::size_t>(pos)] = acc;
    for (int d = r - 1; d >= 0; --d) {
      if (++o[d] < s.out_shape[d]) break;
      o[d] = 0;
    }
  }
  return out;
}

// ---- comparison -------------------------------------------------------------------------------

struct Check {
  bool fft = false;            // the result came from an FFT (normwise tolerance)
  bool exact_integer = true;   // integer results must be exact
  std::string what;
};

[[noreturn]] void mismatch(const Check& c, const std::vector<std::int64_t>& idx, const std::string& detail) {
  std::fprintf(stderr, "%s\n  at output index %s: %s\n", c.what.c_str(), shape_str(idx).c_str(), detail.c_str());
  convkit_fuzz::fail(kHarness, "result differs from the naive reference");
}

void compare(const Array& out, const std::vector<RefOut>& ref, const RefSpec& s, const Check& c) {
  const auto& shape = s.out_shape;
  const int r = static_cast<int>(shape.size());
  const ScalarType R = s.result;
  const bool integer = !is_float(R);
  if (integer && !c.exact_integer) return;
  const double tol = c.fft ? (is_single(R) ? 1e-3 : 1e-9) : (is_single(R) ? 1e-4 : 1e-10);
  // FFT results: normwise, relative to sum|in1| * sum|in2| (a bound on every output).
  double norm_scale = 0;
  if (c.fft) {
    double sx = 0, sk = 0;
    for (const Array* a : {s.x, s.k}) {
      double& sum = a == s.x ? sx : sk;
      std::vector<std::int64_t> idx(a->view.shape.size(), 0);
      std::int64_t n = 1;
      for (auto e : a->view.shape) n *= e;
      for (std::int64_t q = 0; q < n; ++q) {
        const Elem e = a->get(idx);
        sum += std::fabs(e.re) + std::fabs(e.im);
        for (int d = static_cast<int>(idx.size()) - 1; d >= 0; --d) {
          if (++idx[d] < a->view.shape[d]) break;
          idx[d] = 0;
        }
      }
    }
    norm_scale = sx * sk;
  }
  std::vector<std::int64_t> idx(r, 0);
  for (std::size_t n = 0; n < ref.size(); ++n) {
    const Elem got = out.get(idx);
    const RefOut& want = ref[n];
    if (integer) {
      const std::int64_t w = wrap_to(want.i, R);
      if (got.i != w)
        mismatch(c, idx, "got " + std::to_string(got.i) + ", expected " + std::to_string(w));
    } else {
      auto component = [&](double g, double w, double scale, const char* part) {
        if (std::isnan(w) || std::isinf(w)) {
          const bool ok = std::isnan(w) ? std::isnan(g) : g == w;
          if (!ok && !c.fft)
            mismatch(c, idx, std::string(part) + ": got " + std::to_string(g) + ", expected " + std::to_string(w));
          return;
        }
        const double bound = tol * (c.fft ? norm_scale : scale) + (is_single(R) ? 1e-30 : 1e-300);
        if (!(std::fabs(g - w) <= bound))
          mismatch(c, idx, std::string(part) + ": got " + std::to_string(g) + ", expected " + std::to_string(w) +
                               " (tolerance " + std::to_string(bound) + ")");
      };
      component(got.re, want.re, want.scale_re, "real part");
      if (is_complex(R)) component(got.im, want.im, want.scale_im, "imaginary part");
    }
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- building a case from bytes -------------------------------------------------------------------

std::vector<std::int64_t> random_shape(FuzzInput& in, int rank) {
  std::vector<std::int64_t> s(rank);
  for (auto& e : s) {
    const std::uint8_t b = in.u8();
    e = b < 16 ? 0 : b < 200 ? 1 + b % 5 : b % 13;  // mostly 1-5, sometimes 0, up to 12
  }
  return s;
}

// in2's shape: independent, equal, or 1 per axis (the fft functions' broadcast rule).
std::vector<std::int64_t> second_shape(FuzzInput& in, const std::vector<std::int64_t>& s1, bool fft) {
  std::vector<std::int64_t> s = random_shape(in, static_cast<int>(s1.size()));
  if (fft) {
    for (std::size_t d = 0; d < s.size(); ++d) {
      const unsigned c = in.pick(4);
      if (c == 0) s[d] = s1[d];
      if (c == 1) s[d] = 1;
    }
  }
  return s;
}

bool valid_swap_needed(const std::vector<std::int64_t>& s1, const std::vector<std::int64_t>& s2,
                       const std::vector<int>& axes) {
  bool ok1 = true;
  for (int a : axes) ok1 = ok1 && s1[a] >= s2[a];
  return !ok1;  // output_shape has already rejected the case where neither fits
}

std::int64_t start_of(Mode m, std::int64_t K, bool correlate2d) {
  if (m == Mode::full) return 0;
  if (m == Mode::valid) return K - 1;
  return correlate2d ? K / 2 : (K - 1) / 2;
}

const char* fn_name(Function f) {
  const char* n[] = {"convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve"};
  return n[static_cast<int>(f)];
}

void run_case(FuzzInput& in) {
  const Function f = static_cast<Function>(in.pick(6));
  const bool fft_fn = f == Function::fftconvolve || f == Function::oaconvolve;
  const bool fn2d = f == Function::convolve2d || f == Function::correlate2d;
  const Mode mode = static_cast<Mode>(in.pick(3));
  const Method method = static_cast<Method>(in.pick(3));
  const Boundary boundary = static_cast<Boundary>(in.pick(3));
  const ScalarType t1 = static_cast<ScalarType>(in.pick(kNumTypes));
  const ScalarType t2 = in.one_in(3) ? t1 : static_cast<ScalarType>(in.pick(kNumTypes));
  const bool small = !in.one_in(4);
  const bool nonfinite = in.one_in(8);
  const std::complex<double> fills[] = {0.0, 1.0, -1.0, 2.5, -3.75, 300.0, {1.0, 2.0}, {0.0, -0.5},
                                        std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity()};
  const unsigned fill_pick = in.pick(nonfinite ? 10 : 8);
  const std::complex<double> fill = fills[fill_pick];

  int rank = fn2d && !in.one_in(8) ? 2 : static_cast<int>(in.pick(5));
  auto s1 = random_shape(in, rank);
  auto s2 = second_shape(in, s1, fft_fn);
  // Keep convkit's own work small too (a 4-d 11^4 ⋆ 11^4 direct sum takes seconds under ASan):
  // at most 400 elements per input.
  for (auto* s : {&s1, &s2}) {
    double n = 1;
    for (auto e : *s) n *= static_cast<double>(std::max<std::int64_t>(e, 1));
    if (n > 400)
      for (auto& e : *s) e = std::min<std::int64_t>(e, 4);
  }
  if (in.one_in(16)) s2 = random_shape(in, static_cast<int>(in.pick(5)));  // rank mismatch
  std::vector<int> axes;
  if (fft_fn || in.one_in(16)) {
    const unsigned c = in.pick(4);
    for (unsigned a = 0; a < c; ++a) axes.push_back(static_cast<int>(in.pick(2 * rank + 3)) - rank - 1);
  }

  // Shape and dtype queries: a value or convkit::Error.
  const ScalarType R = result_type(f, t1, t2);
  std::vector<std::int64_t> oshape;
  bool shape_ok = true;
  try {
    oshape = output_shape(f, s1, s2, mode, fft_fn ? axes : std::vector<int>{});
  } catch (const Error&) {
    shape_ok = false;
  }
  if (!fft_fn && !axes.empty()) {  // only the fft functions take axes
    bool threw = false;
    try {
      (void)output_shape(f, s1, s2, mode, axes);
    } catch (const Error&) {
      threw = true;
    }
    if (!threw) convkit_fuzz::fail(kHarness, "output_shape accepted axes for a non-fft function");
  }

  Rng rng(in.seed_from_rest() ^ in.u64());
  const Array a1 = make_array(t1, s1, in, rng, false, small, nonfinite);
  const Array a2 = make_array(t2, s2, in, rng, false, small, nonfinite);
  const bool wrong_out = in.one_in(32);
  const ScalarType out_type = wrong_out ? static_cast<ScalarType>((static_cast<int>(R) + 1) % kNumTypes) : R;
  Array out = make_array(out_type, shape_ok ? oshape : s1, in, rng, true, small, false);

  // The harness's expectation of success: shapes valid, a fill value the result can hold.
  bool expect_ok = shape_ok && !wrong_out;
  if (fn2d && ((fill.imag() != 0 && !is_complex(R)) || (!std::isfinite(fill.real()) && !is_float(R))))
    expect_ok = false;

  std::string what = std::string(fn_name(f)) + "(" + scalar_type_name(t1) + shape_str(s1) + ", " +
                     scalar_type_name(t2) + shape_str(s2) + ", mode " + std::to_string(int(mode)) +
                     ", method " + method_name(method) + ", boundary " + std::to_string(int(boundary)) +
                     ", fill " + std::to_string(fill.real()) + "+" + std::to_string(fill.imag()) + "j, " +
                     std::to_string(axes.size()) + " axes) -> " + scalar_type_name(R) + shape_str(oshape);

  static const bool verbose = std::getenv("CONVKIT_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "case: %s\n", what.c_str());

  Method chosen = method;
  try {
    if ((f == Function::convolve || f == Function::correlate) && method == Method::automatic)
      chosen = choose_conv_method(a1.view, a2.view, mode);
  } catch (const Error&) {
  }
  // Finding 3: explain() of a swapped 'valid' correlation offsets its null output pointer (UB).
  // Finding 4: explain() of fftconvolve/oaconvolve with an empty input reads past the shape
  // of its 1-d "(0,)" output (heap-buffer-overflow).
  const bool explain_known_ub =
      ((f == Function::correlate || f == Function::correlate2d) && mode == Mode::valid &&
       convkit_fuzz::avoid("explain-null-offset")) ||
      (fft_fn && convkit_fuzz::avoid("explain-fft-empty") &&
       (std::find(s1.begin(), s1.end(), 0) != s1.end() || std::find(s2.begin(), s2.end(), 0) != s2.end()));
  std::string explanation;  // (the 2-D functions have no method argument: auto decides)
  try {
    if (!explain_known_ub) explanation = explain(f, a1.view, a2.view, mode, method, boundary);
  } catch (const Error&) {
  }
  if (fn2d) chosen = explanation.find("method fft") != std::string::npos ? Method::fft : Method::direct;

  try {
    switch (f) {
      case Function::convolve: convolve(a1.view, a2.view, out.view, mode, method); break;
      case Function::correlate: correlate(a1.view, a2.view, out.view, mode, method); break;
      case Function::convolve2d: convolve2d(a1.view, a2.view, out.view, mode, boundary, fill); break;
      case Function::correlate2d: correlate2d(a1.view, a2.view, out.view, mode, boundary, fill); break;
      case Function::fftconvolve: fftconvolve(a1.view, a2.view, out.view, mode, axes); break;
      case Function::oaconvolve: oaconvolve(a1.view, a2.view, out.view, mode, axes); break;
    }
  } catch (const Error& e) {
    if (expect_ok) {
      std::fprintf(stderr, "%s\n  threw: %s\n", what.c_str(), e.what());
      convkit_fuzz::fail(kHarness, "a valid call threw convkit::Error");
    }
    return;
  }
  if (!expect_ok) {
    std::fprintf(stderr, "%s\n", what.c_str());
    convkit_fuzz::fail(kHarness, shape_ok ? "a wrong output dtype was accepted"
                                          : "output_shape rejected the call but the call succeeded");
  }

  // ---- the reference ----
  std::int64_t n1 = 1, n2 = 1;
  for (auto e : s1) n1 *= e;
  for (auto e : s2) n2 *= e;
  if (fft_fn && (n1 == 0 || n2 == 0)) return;  // scipy returns an empty array: nothing to compare
  RefSpec spec;
  spec.x = &a1;
  spec.k = &a2;
  spec.result = R;
  spec.out_shape = oshape;
  spec.axes.assign(rank, Axis{});
  const bool correlate = f == Function::correlate || f == Function::correlate2d;
  std::vector<int> conv_axes;
  if (fft_fn) {
    std::vector<int> given = axes;
    if (given.empty())
      for (int d = 0; d < rank; ++d) given.push_back(d);
    for (int a : given) {  // (output_shape has validated them; 0-d inputs ignore axes, as scipy)
      const int b = a < 0 ? a + rank : a;
      if (b >= 0 && b < rank && s1[b] != 1 && s2[b] != 1) conv_axes.push_back(b);
    }
  } else {
    for (int d = 0; d < rank; ++d) conv_axes.push_back(d);
  }
  const bool swapped = mode == Mode::valid && rank > 0 && valid_swap_needed(s1, s2, conv_axes);
  if (swapped) std::swap(spec.x, spec.k);
  if (fn2d) spec.ext = boundary == Boundary::fill ? Ext::fill : boundary == Boundary::wrap ? Ext::wrap : Ext::symm;
  spec.fill = fn2d ? fill : std::complex<double>(0.0);  // only the 2-D functions have a fill value
  spec.kernel_conj = correlate;
  spec.out_conj = swapped && f == Function::correlate;
  spec.reverse_out = swapped && correlate;
  double work = 1;
  for (auto e : oshape) work *= static_cast<double>(e);
  for (int d = 0; d < rank; ++d) {
    Axis& ax = spec.axes[d];
    const std::int64_t K = spec.k->view.shape[d];
    ax.conv = std::find(conv_axes.begin(), conv_axes.end(), d) != conv_axes.end();
    ax.flip = !correlate;
    if (ax.conv) {
      ax.start = start_of(mode, K, f == Function::correlate2d);
      work *= static_cast<double>(K);
    } else {
      ax.start = (std::max(spec.x->view.shape[d], K) - oshape[d]) / 2;
    }
  }
  if (work > kMaxWork) return;
  const std::vector<RefOut> ref = reference(spec);

  Check c;
  c.what = what;
  c.fft = fft_fn || chosen == Method::fft;
  if (c.fft && !is_float(R)) {
    // An FFT on integer data is exact only while rounding provably recovers the integer
    // (convkit's own bound); beyond it the result is not compared.
    auto max_abs = [](const Array& a, std::int64_t n) {
      (void)n;
      double m = 0;
      std::vector<std::int64_t> idx(a.view.shape.size(), 0);
      for (std::int64_t q = 0; q < n; ++q) {
        m = std::max(m, std::fabs(a.get(idx).re));
        for (int d = static_cast<int>(idx.size()) - 1; d >= 0; --d) {
          if (++idx[d] < a.view.shape[d]) break;
          idx[d] = 0;
        }
      }
      return m;
    };
    double len = 1;
    for (auto e : oshape) len *= static_cast<double>(e) + 1;
    const double bound = max_abs(a1, n1) * max_abs(a2, n2) * static_cast<double>(std::min(n1, n2));
    c.exact_integer = 8 * 1.1102230246251565e-16 * std::log2(len + 2) * bound < 0.5;
  }
  if (nonfinite && c.fft) return;  // an FFT spreads NaN/Inf everywhere by design
  compare(out, ref, spec, c);
}

// The string parsers: a value or convkit::Error.
void parse_strings(FuzzInput& in) {
  const char* words[] = {"full", "same", "valid", "fill", "pad", "wrap", "circular", "symm",
                         "symmetric", "auto", "direct", "fft", "", "FULL", "reflect", "same\0x"};
  const char* w = words[in.pick(16)];
  try { (void)parse_mode(w); } catch (const Error&) {}
  try { (void)parse_boundary(w); } catch (const Error&) {}
  try { (void)parse_method(w); } catch (const Error&) {}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  // The ISA path of the direct and FFT kernels, from a hash of the whole input (so the byte
  // stream the cases are drawn from, and the seed corpus, keep their meaning).
  convkit_fuzz::cap_isa(static_cast<unsigned>(FuzzInput(data, size).seed_from_rest() >> 60) % 4);
  parse_strings(in);
  run_case(in);
  return 0;
}
