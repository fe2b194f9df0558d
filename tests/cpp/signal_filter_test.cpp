// tests/cpp/signal_filter_test.cpp — the direct filtering engine against its reference twin
// and an independent naive loop (exact on integer-valued data), under every ISA cap and
// boundary rule, plus the scipy-compatible front end: the notebook's Sobel numbers, dtypes,
// centring, swaps and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "convkit/convkit.hpp"
#include "core/cpu_features.hpp"
#include "signal/direct_filter.hpp"
#include "signal/filter_problem.hpp"

namespace {

using namespace convkit::signal;
using detail::Acc;
using detail::FilterProblem;
using detail::Scalar;
using i64 = std::int64_t;

// Independent oracle: out[m] = Σ_t X[m + base + t] k[t], X by the boundary rule, in double.
std::vector<double> naive(const std::vector<double>& x, const std::vector<i64>& xs,
                          const std::vector<double>& k, const std::vector<i64>& ks,
                          const std::vector<i64>& os, const std::vector<i64>& base,
                          detail::Boundary b, double fill) {
  const int r = static_cast<int>(xs.size());
  i64 on = 1, kn = 1;
  for (int d = 0; d < r; ++d) on *= os[d], kn *= ks[d];
  std::vector<double> out(on);
  std::vector<i64> m(r), t(r);
  for (i64 o = 0; o < on; ++o) {
    i64 rem = o;
    for (int d = r - 1; d >= 0; --d) m[d] = rem % os[d], rem /= os[d];
    double s = 0;
    for (i64 q = 0; q < kn; ++q) {
      i64 rq = q;
      for (int d = r - 1; d >= 0; --d) t[d] = rq % ks[d], rq /= ks[d];
      i64 off = 0;
      bool filled = false;
      for (int d = 0; d < r; ++d) {
        i64 i = m[d] + base[d] + t[d], n = xs[d];
        if (i < 0 || i >= n) {
          if (b == detail::Boundary::fill) { filled = true; break; }
          if (b == detail::Boundary::wrap) i = ((i % n) + n) % n;
          else { i64 kk = (i >= 0 ? i : -(i + 1)) % (2 * n); i = kk >= n ? 2 * n - kk - 1 : kk; }
        }
        off = off * n + i;
      }
      s += (filled ? fill : x[off]) * k[q];
    }
    out[o] = s;
  }
  return out;
}

struct IsaCap {
  explicit IsaCap(const char* isa) {
    const char* s = std::getenv("CONVKIT_MAX_ISA");
    had_ = s != nullptr;
    if (had_) saved_ = s;
    setenv("CONVKIT_MAX_ISA", isa, 1);
  }
  ~IsaCap() {
    if (had_) setenv("CONVKIT_MAX_ISA", saved_.c_str(), 1);
    else unsetenv("CONVKIT_MAX_ISA");
  }
  bool had_;
  std::string saved_;
};

// Random problems of rank 1..3 with integer-valued data: direct == reference == naive exactly.
template <typename T>
void random_direct_problems(Acc acc, Scalar st, int cases, unsigned seed) {
  std::mt19937_64 rng(seed);
  auto uni = [&](i64 lo, i64 hi) { return std::uniform_int_distribution<i64>(lo, hi)(rng); };
  for (int c = 0; c < cases; ++c) {
    const int r = static_cast<int>(uni(1, 3));
    std::vector<i64> xs(r), ks(r), os(r), base(r);
    i64 xn = 1, kn = 1, on = 1;
    for (int d = 0; d < r; ++d) {
      // The last dimension reaches past the kernel block (64 floats) so that in-place
      // segments (rows read straight from the input, results written straight to the output)
      // are exercised next to gathered borders.
      const i64 cap = r == 1 ? 300 : (d == r - 1 ? 200 : r == 2 ? 40 : 12);
      xs[d] = uni(1, cap);
      ks[d] = uni(1, std::min<i64>(cap, d == r - 1 ? 17 : 9));
      os[d] = uni(1, cap + 5);
      if (c % 2) os[d] = std::max<i64>(1, xs[d] - ks[d] + 1 + uni(-2, 2));  // valid-like
      base[d] = uni(-ks[d] - 3, 3);
      xn *= xs[d], kn *= ks[d], on *= os[d];
    }
    const auto b = static_cast<detail::Boundary>(uni(0, 2));
    const double fill = static_cast<double>(uni(-3, 3));
    std::vector<T> x(xn), k(kn), out(on, T(99)), ref(on, T(99));
    std::vector<double> xd(xn), kd(kn);
    for (i64 i = 0; i < xn; ++i) xd[i] = static_cast<double>(x[i] = static_cast<T>(uni(-8, 8)));
    for (i64 i = 0; i < kn; ++i) kd[i] = static_cast<double>(k[i] = static_cast<T>(uni(-8, 8)));
    FilterProblem p;
    p.rank = r;
    i64 xst = 1, kst = 1, ost = 1;
    for (int d = r - 1; d >= 0; --d) {
      p.in_shape[d] = xs[d], p.k_shape[d] = ks[d], p.out_shape[d] = os[d], p.base[d] = base[d];
      p.in_stride[d] = xst, p.k_stride[d] = kst, p.out_stride[d] = ost;
      xst *= xs[d], kst *= ks[d], ost *= os[d];
    }
    p.in = x.data(), p.k = k.data(), p.out = out.data();
    p.in_type = p.k_type = p.out_type = st;
    p.acc = acc;
    p.boundary = b;
    p.fill = fill;
    p.fill_int = static_cast<i64>(fill);
    detail::direct_filter(p);
    p.out = ref.data();
    detail::reference_filter(p);
    const auto want = naive(xd, xs, kd, ks, os, base, b, fill);
    for (i64 i = 0; i < on; ++i) {
      ASSERT_EQ(static_cast<double>(out[i]), want[i]) << "case " << c << " rank " << r << " at " << i;
      ASSERT_EQ(static_cast<double>(ref[i]), want[i]) << "reference, case " << c << " at " << i;
    }
  }
}

TEST(SignalDirect, RandomProblemsEveryIsaExact) {
  for (const char* isa : {"avx512", "avx2", "generic"}) {
    IsaCap cap(isa);
    SCOPED_TRACE(isa);
    const auto isa_now = convkit::detail::active_isa();
    const auto before = convkit::detail::isa_runs(isa_now);
    random_direct_problems<float>(Acc::f32, Scalar::f32, 150, 1);
    random_direct_problems<double>(Acc::f64, Scalar::f64, 100, 2);
    random_direct_problems<i64>(Acc::i64, Scalar::i64, 60, 3);
    EXPECT_GT(convkit::detail::isa_runs(isa_now), before) << "the " << isa << " path did not run";
  }
}

// Rank-1 kernels run as two 1-D passes; with integer data the result must stay exact, also
// with a negative pivot and a division by it (Sobel-like kernels), under every boundary.
TEST(SignalDirect, SeparableKernelsExactOnIntegers) {
  std::mt19937_64 rng(11);
  auto uni = [&](i64 lo, i64 hi) { return std::uniform_int_distribution<i64>(lo, hi)(rng); };
  for (int c = 0; c < 120; ++c) {
    const i64 kh = uni(4, 9), kw = uni(4, 9), h = uni(1, 40), w = uni(1, 90);
    std::vector<float> u(kh), v(kw), k(kh * kw), x(h * w);
    for (auto& e : u) e = static_cast<float>(uni(-4, 4));
    for (auto& e : v) e = static_cast<float>(uni(-4, 4));
    u[uni(0, kh - 1)] = -3;  // never all zero
    v[uni(0, kw - 1)] = 2;
    for (i64 i = 0; i < kh; ++i)
      for (i64 j = 0; j < kw; ++j) k[i * kw + j] = u[i] * v[j];
    for (auto& e : x) e = static_cast<float>(uni(0, 255));
    std::vector<std::int16_t> xi(x.begin(), x.end()), ki(k.begin(), k.end());
    FilterProblem p;
    p.rank = 2;
    const i64 oh = h + kh - 1, ow = w + kw - 1;
    p.in_shape[0] = h, p.in_shape[1] = w, p.k_shape[0] = kh, p.k_shape[1] = kw;
    p.out_shape[0] = oh, p.out_shape[1] = ow;
    p.base[0] = -(kh - 1), p.base[1] = -(kw - 1);
    p.in_stride[0] = w, p.in_stride[1] = 1, p.k_stride[0] = kw, p.k_stride[1] = 1;
    p.out_stride[0] = ow, p.out_stride[1] = 1;
    std::vector<std::int32_t> out(oh * ow);
    p.in = xi.data(), p.k = ki.data(), p.out = out.data();
    p.in_type = p.k_type = Scalar::i16;
    p.out_type = Scalar::i32;
    p.acc = Acc::f32;
    p.in_max_abs = 255;
    p.boundary = static_cast<detail::Boundary>(c % 3);
    p.fill = p.fill_int = 2;
    EXPECT_NE(detail::direct_filter_describe(p).find("separable"), std::string::npos);
    detail::direct_filter(p);
    std::vector<double> xd(x.begin(), x.end()), kd(k.begin(), k.end());
    const auto want = naive(xd, {h, w}, kd, {kh, kw}, {oh, ow}, {p.base[0], p.base[1]}, p.boundary, 2);
    for (i64 i = 0; i < oh * ow; ++i) ASSERT_EQ(out[i], want[i]) << "case " << c << " at " << i;
  }
}

TEST(SignalDirect, BitwiseIdenticalForAnyThreadCount) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::vector<float> x(301 * 257), k(7 * 5);
  for (auto& v : x) v = nd(rng);
  for (auto& v : k) v = nd(rng);
  ArrayView a = ArrayView::contiguous(x.data(), ScalarType::float32, {301, 257});
  ArrayView h = ArrayView::contiguous(k.data(), ScalarType::float32, {7, 5});
  std::vector<float> o1(301 * 257), o2(301 * 257);
  const int saved = convkit::get_num_threads();
  convkit::set_num_threads(1);
  convolve2d(a, h, ArrayView::contiguous(o1.data(), ScalarType::float32, {301, 257}), Mode::same, Boundary::symm);
  convkit::set_num_threads(2);
  convolve2d(a, h, ArrayView::contiguous(o2.data(), ScalarType::float32, {301, 257}), Mode::same, Boundary::symm);
  convkit::set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(o1.data(), o2.data(), o1.size() * sizeof(float)));
}

// Many user threads filtering at once (shared pool, per-thread scratch, FFT plan cache): every
// result equals the one computed alone. Also run under ThreadSanitizer by scripts/test.
TEST(SignalThreads, ConcurrentCallersGetIdenticalResults) {
  std::mt19937 rng(9);
  std::normal_distribution<double> nd;
  std::vector<double> x(97 * 131), k1(5 * 5), k2(21 * 17);
  for (auto& v : x) v = nd(rng);
  for (auto& v : k1) v = nd(rng);
  for (auto& v : k2) v = nd(rng);
  const ArrayView a = ArrayView::contiguous(x.data(), ScalarType::float64, {97, 131});
  const ArrayView h1 = ArrayView::contiguous(k1.data(), ScalarType::float64, {5, 5});
  const ArrayView h2 = ArrayView::contiguous(k2.data(), ScalarType::float64, {21, 17});
  auto run = [&](int which, std::vector<double>& out) {
    const ArrayView& h = which % 2 ? h2 : h1;
    const std::vector<i64> shape = output_shape(Function::convolve, a.shape, h.shape, Mode::full);
    out.assign(static_cast<std::size_t>(shape[0] * shape[1]), 0.0);
    const ArrayView o = ArrayView::contiguous(out.data(), ScalarType::float64, shape);
    if (which % 3 == 0)
      convolve(a, h, o, Mode::full, Method::direct);
    else if (which % 3 == 1)
      fftconvolve(a, h, o, Mode::full);
    else
      correlate(a, h, o, Mode::full, Method::automatic);
  };
  std::vector<std::vector<double>> alone(6);
  for (int w = 0; w < 6; ++w) run(w, alone[w]);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      std::vector<double> out;
      for (int rep = 0; rep < 6; ++rep) {
        const int w = (t + rep) % 6;
        run(w, out);
        if (out != alone[w]) ++mismatches[t];
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// The direct engine starts its in-place columns at a 64-byte aligned output address (so large
// outputs can be written with streaming stores) and gathers the columns before it: outputs at
// every alignment and with row strides that are and are not multiples of 64 bytes, with images
// large enough (input + output > 32 MB) to take the streaming path, must all give the same
// values, equal to an independent sum.
TEST(SignalApi, OutputAlignmentDoesNotChangeResults) {
  std::mt19937_64 rng(3);
  for (const auto& [h, w] : {std::pair<i64, i64>{37, 300}, {1030, 4096}}) {
    std::vector<float> x(h * w), k(9);
    for (auto& v : x) v = static_cast<float>(static_cast<int>(rng() % 17) - 8);
    for (auto& v : k) v = static_cast<float>(static_cast<int>(rng() % 7) - 3);
    for (i64 pad : {i64{0}, i64{5}}) {
      const i64 ld = w + pad;  // output row stride in elements
      std::vector<float> buf(h * ld + 64, -1.0f);
      for (i64 off : {i64{0}, i64{1}, i64{3}, i64{7}, i64{15}}) {
        SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w) + " pad " + std::to_string(pad) +
                     " offset " + std::to_string(off));
        ArrayView out{buf.data() + off, ScalarType::float32, {h, w}, {ld, 1}};
        correlate2d(ArrayView::contiguous(x.data(), ScalarType::float32, {h, w}),
                    ArrayView::contiguous(k.data(), ScalarType::float32, {3, 3}), out, Mode::same);
        for (i64 i = 0; i < h; i += (h > 100 ? 7 : 1))
          for (i64 j = 0; j < w; ++j) {
            double s = 0;
            for (int a = 0; a < 3; ++a)
              for (int b = 0; b < 3; ++b) {
                const i64 ii = i + a - 1, jj = j + b - 1;
                if (ii >= 0 && ii < h && jj >= 0 && jj < w) s += x[ii * w + jj] * k[a * 3 + b];
              }
            ASSERT_EQ(buf[off + i * ld + j], s) << "at " << i << ", " << j;
          }
      }
    }
  }
}

// The notebook: A has rows of 10 then rows of 0; the Sobel kernel finds the edge with +40 as a
// correlation and −40 as a true convolution (the kernel is flipped).
TEST(SignalApi, NotebookSobelEdge) {
  std::vector<std::int64_t> A(6 * 6);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) A[i * 6 + j] = i < 3 ? 10 : 0;
  std::vector<std::int64_t> k = {1, 2, 1, 0, 0, 0, -1, -2, -1};
  ArrayView a = ArrayView::contiguous(A.data(), ScalarType::int64, {6, 6});
  ArrayView h = ArrayView::contiguous(k.data(), ScalarType::int64, {3, 3});
  EXPECT_EQ(result_type(Function::correlate2d, a.type, h.type), ScalarType::int64);
  EXPECT_EQ(output_shape(Function::correlate2d, a.shape, h.shape, Mode::valid),
            (std::vector<i64>{4, 4}));
  std::vector<std::int64_t> corr(16, 7), conv(16, 7), corr_nd(16, 7);
  correlate2d(a, h, ArrayView::contiguous(corr.data(), ScalarType::int64, {4, 4}), Mode::valid);
  convolve2d(a, h, ArrayView::contiguous(conv.data(), ScalarType::int64, {4, 4}), Mode::valid);
  correlate(a, h, ArrayView::contiguous(corr_nd.data(), ScalarType::int64, {4, 4}), Mode::valid);
  const std::int64_t rows[4] = {0, 40, 40, 0};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(corr[i * 4 + j], rows[i]);
      EXPECT_EQ(corr_nd[i * 4 + j], rows[i]);
      EXPECT_EQ(conv[i * 4 + j], -rows[i]);
    }
}

// uint8 results wrap modulo 256 exactly as scipy's (NumPy's) uint8 arithmetic does.
TEST(SignalApi, NarrowIntegerResultsWrapLikeNumpy) {
  std::vector<std::uint8_t> x = {200, 100, 50, 255}, k = {3, 2};
  std::vector<std::uint8_t> out(5);
  convolve(ArrayView::contiguous(x.data(), ScalarType::uint8, {4}),
           ArrayView::contiguous(k.data(), ScalarType::uint8, {2}),
           ArrayView::contiguous(out.data(), ScalarType::uint8, {5}), Mode::full, Method::direct);
  const int want[5] = {600 % 256, (400 + 300) % 256, (200 + 150) % 256, (100 + 765) % 256, 510 % 256};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], want[i]) << i;
}

TEST(SignalApi, ResultTypesFollowNumpyPromotion) {
  EXPECT_EQ(result_type(Function::convolve, ScalarType::uint8, ScalarType::int8), ScalarType::int16);
  EXPECT_EQ(result_type(Function::convolve, ScalarType::int32, ScalarType::float32), ScalarType::float64);
  EXPECT_EQ(result_type(Function::convolve, ScalarType::int16, ScalarType::float32), ScalarType::float32);
  EXPECT_EQ(result_type(Function::convolve, ScalarType::int64, ScalarType::uint64), ScalarType::float64);
  EXPECT_EQ(result_type(Function::convolve, ScalarType::float32, ScalarType::complex64), ScalarType::complex64);
  EXPECT_EQ(result_type(Function::convolve, ScalarType::float64, ScalarType::complex64), ScalarType::complex128);
  EXPECT_EQ(result_type(Function::convolve, ScalarType::bool_, ScalarType::bool_), ScalarType::bool_);
  EXPECT_EQ(result_type(Function::fftconvolve, ScalarType::uint8, ScalarType::uint8), ScalarType::float64);
  EXPECT_EQ(result_type(Function::fftconvolve, ScalarType::float32, ScalarType::int8), ScalarType::float64);
  EXPECT_EQ(result_type(Function::fftconvolve, ScalarType::float32, ScalarType::float32), ScalarType::float32);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const convkit::Error& e) {
    return e.what();
  }
  return "";
}

TEST(SignalApi, BadInputGivesClearErrors) {
  EXPECT_NE(error_of([] { parse_mode("bogus"); }).find("'bogus'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_boundary("edge"); }).find("'symm'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_method("winograd"); }).find("'direct'"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::convolve2d, {3, 3, 3}, {2, 2, 2}, Mode::full); })
                .find("2-D"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::convolve, {3, 4}, {4, 3}, Mode::valid); })
                .find("at least as large"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::convolve, {3, 4}, {4}, Mode::full); })
                .find("dimensionality"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::convolve, {0, 4}, {2, 2}, Mode::full); })
                .find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::fftconvolve, {3, 4}, {2, 2}, Mode::full, {0}); })
                .find("incompatible"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::fftconvolve, {3, 4}, {2, 2}, Mode::full, {2}); })
                .find("out of range"), std::string::npos);
  EXPECT_NE(error_of([] { output_shape(Function::convolve, {i64(1) << 62, 4}, {i64(1) << 62, 2}, Mode::full); })
                .find("overflow"), std::string::npos);
  std::vector<float> x(9), k(4), out(16);
  ArrayView a = ArrayView::contiguous(x.data(), ScalarType::float32, {3, 3});
  ArrayView h = ArrayView::contiguous(k.data(), ScalarType::float32, {2, 2});
  EXPECT_NE(error_of([&] { convolve(a, h, ArrayView::contiguous(out.data(), ScalarType::float32, {4, 3})); })
                .find("shape"), std::string::npos);
  EXPECT_NE(error_of([&] { convolve(a, h, ArrayView::contiguous(out.data(), ScalarType::float64, {4, 4})); })
                .find("dtype"), std::string::npos);
  EXPECT_NE(error_of([&] { convolve(a, h, ArrayView::contiguous(x.data(), ScalarType::float32, {2, 2}), Mode::valid); })
                .find("overlaps"), std::string::npos);
  EXPECT_NE(error_of([&] { convolve2d(a, h, ArrayView::contiguous(out.data(), ScalarType::float32, {4, 4}),
                                      Mode::full, Boundary::fill, {1.0, 2.0}); })
                .find("fillvalue"), std::string::npos);
}

}  // namespace
