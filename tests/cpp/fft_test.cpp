// tests/cpp/fft_test.cpp — convkit's FFT against a naive DFT in long double (every length
// 1..128 and awkward ones: large primes through Bluestein, 2*prime, powers of 2 up to 2^16,
// 3^7, 5^6, mixes), real and complex, float and double, 1-d and N-d, on every ISA the machine
// has; and the FFT filter engine against a naive evaluation of the FilterProblem formula.
//
// Error bounds (stated, per output): |X_k - DFT_k| <= C eps (log2 n + 2) ||x||_2 with C = 2
// (observed worst: about 0.25 of that), and for Bluestein lengths C eps (2 log2 M + 4) ||x||_2,
// M its convolution length; N-d: 8 eps (sum_d (log2 n_d + 2) + 2) ||x||_2. The filter engine:
// |out - naive| <= 16 eps_acc (sum_d log2(out_d + 2 K_d) + 4) max_m sum_t |X||k|
//                  + 2 max(eps_acc, eps_out) |out|   (FFT error spreads over a tile, so it is
// relative to the largest sum_t |X||k|; the second term is the rounding of the stored result).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convkit/error.hpp"
#include "core/cpu_features.hpp"
#include "convkit/conv.hpp"
#include "signal/fft/fft.hpp"
#include "signal/fft/fft_plan.hpp"
#include "signal/fft_filter.hpp"
#include "signal/filter_problem.hpp"

namespace {

namespace fft = convkit::signal::fft;
using convkit::detail::Isa;
using std::int64_t;
using LCx = std::complex<long double>;

// Runs body once per ISA this CPU supports, with CONVKIT_MAX_ISA set accordingly, and checks
// that the FFT kernels of that ISA really ran.
template <typename Body>
void for_each_isa(Body&& body) {
  const char* old = std::getenv("CONVKIT_MAX_ISA");
  const std::string saved = old ? old : "";
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(convkit::detail::cpu_isa())) continue;
    setenv("CONVKIT_MAX_ISA", convkit::detail::isa_name(isa), 1);
    const std::uint64_t before = convkit::detail::isa_runs(isa);
    SCOPED_TRACE(convkit::detail::isa_name(isa));
    body();
    EXPECT_GT(convkit::detail::isa_runs(isa), before) << "the " << convkit::detail::isa_name(isa)
                                                      << " FFT kernels did not run";
  }
  if (old)
    setenv("CONVKIT_MAX_ISA", saved.c_str(), 1);
  else
    unsetenv("CONVKIT_MAX_ISA");
}

// exp(2 pi i j/n), j < n, in long double (cached for the last n).
const std::vector<LCx>& roots(int64_t n) {
  static thread_local std::vector<LCx> table;
  if (static_cast<int64_t>(table.size()) != n) {
    const long double pi = 3.141592653589793238462643383279502884L;
    table.resize(n);
    for (int64_t j = 0; j < n; ++j) table[j] = LCx(std::cos(2 * pi * j / n), std::sin(2 * pi * j / n));
  }
  return table;
}

// Naive DFT of one bin in long double (sign -1: forward, +1: inverse), angles reduced exactly.
LCx dft_bin(const std::vector<LCx>& x, int64_t k, int sign) {
  const int64_t n = static_cast<int64_t>(x.size());
  const std::vector<LCx>& w = roots(n);
  LCx acc = 0;
  int64_t r = 0;  // j k mod n
  const int64_t step = (sign > 0 ? k : n - k % n) % n;
  for (int64_t j = 0; j < n; ++j) {
    acc += x[j] * w[r];
    r += step;
    if (r >= n) r -= n;
  }
  return acc;
}

long double norm2(const std::vector<LCx>& x) {
  long double s = 0;
  for (auto v : x) s += std::norm(v);
  return std::sqrt(s);
}

int64_t conv_length(int64_t n) {
  int64_t m = n;
  for (int f : {2, 3, 5, 7}) while (m % f == 0) m /= f;
  for (int f = 11; f <= fft::kMaxGenericRadix; f += 2) while (m % f == 0) m /= f;
  return m > 1 ? fft::next_fast_length(2 * n - 1) : 0;
}

template <typename T>
long double bound(int64_t n, long double x_norm) {
  const long double eps = std::numeric_limits<T>::epsilon();
  const int64_t M = conv_length(n);
  const long double logs = M ? 2 * std::log2(static_cast<long double>(M)) + 4
                             : std::log2(static_cast<long double>(n)) + 2;
  return 2 * eps * logs * x_norm + 1e-30L;
}

// Bins to check: all for n <= 2100, else 48 spread ones (the naive DFT is O(n) per bin).
std::vector<int64_t> bins_to_check(int64_t n, int64_t count) {
  std::vector<int64_t> b;
  if (n <= 2100) {
    for (int64_t k = 0; k < count; ++k) b.push_back(k);
    return b;
  }
  std::mt19937_64 rng(n);
  for (int64_t k : {int64_t{0}, int64_t{1}, count - 1, count / 2}) b.push_back(k);
  for (int i = 0; i < 44; ++i) b.push_back(static_cast<int64_t>(rng() % count));
  return b;
}

template <typename T>
void check_complex(int64_t n) {
  SCOPED_TRACE("complex n=" + std::to_string(n));
  std::mt19937_64 rng(1000 + n);
  std::uniform_real_distribution<double> dist(-1, 1);
  std::vector<std::complex<T>> x(n), y(n), z(n);
  std::vector<LCx> xl(n);
  for (int64_t j = 0; j < n; ++j) {
    x[j] = {static_cast<T>(dist(rng)), static_cast<T>(dist(rng))};
    xl[j] = LCx(x[j].real(), x[j].imag());
  }
  const long double tol = bound<T>(n, norm2(xl));
  for (bool inverse : {false, true}) {
    fft::fft(x.data(), y.data(), n, inverse);
    for (int64_t k : bins_to_check(n, n)) {
      const LCx ref = dft_bin(xl, k, inverse ? 1 : -1);
      const LCx got(y[k].real(), y[k].imag());
      ASSERT_LE(std::abs(got - ref), tol) << "inverse=" << inverse << " bin " << k;
    }
  }
  // In place, and the round trip.
  z = x;
  fft::fft(z.data(), z.data(), n, false);
  fft::fft(z.data(), z.data(), n, true);
  for (int64_t j = 0; j < n; ++j) {
    const LCx d = LCx(z[j].real(), z[j].imag()) / static_cast<long double>(n) - xl[j];
    ASSERT_LE(std::abs(d), 2 * tol / std::sqrt(static_cast<long double>(n)) + 1e-30L)
        << "round trip " << j;
  }
}

template <typename T>
void check_real(int64_t n) {
  SCOPED_TRACE("real n=" + std::to_string(n));
  std::mt19937_64 rng(2000 + n);
  std::uniform_real_distribution<double> dist(-1, 1);
  const int64_t h = n / 2 + 1;
  std::vector<T> x(n), back(n);
  std::vector<std::complex<T>> y(h);
  std::vector<LCx> xl(n);
  for (int64_t j = 0; j < n; ++j) x[j] = static_cast<T>(dist(rng)), xl[j] = x[j];
  const long double tol = bound<T>(n, norm2(xl));
  fft::rfft(x.data(), y.data(), n);
  for (int64_t k : bins_to_check(n, h)) {
    const LCx ref = dft_bin(xl, k, -1);
    ASSERT_LE(std::abs(LCx(y[k].real(), y[k].imag()) - ref), tol) << "bin " << k;
  }
  // Inverse of a random Hermitian half spectrum against the naive inverse DFT.
  std::vector<std::complex<T>> s(h);
  std::vector<LCx> full(n);
  for (int64_t k = 0; k < h; ++k) s[k] = {static_cast<T>(dist(rng)), static_cast<T>(dist(rng))};
  s[0].imag(0);
  if (n % 2 == 0) s[n / 2].imag(0);
  for (int64_t k = 0; k < n; ++k) {
    const auto v = k < h ? s[k] : std::conj(s[n - k]);
    full[k] = LCx(v.real(), v.imag());
  }
  fft::irfft(s.data(), back.data(), n);
  const long double tol_inv = bound<T>(n, norm2(full));
  for (int64_t j : bins_to_check(n, n)) {
    const LCx ref = dft_bin(full, j, 1);
    ASSERT_LE(std::abs(back[j] - ref.real()), tol_inv) << "inverse sample " << j;
  }
}

std::vector<int64_t> awkward_lengths() {
  std::vector<int64_t> v = {127, 131, 257, 1009, 4099, 2 * 127, 2 * 131, 2 * 1009, 2 * 4099,
                            2187 /*3^7*/, 15625 /*5^6*/, 2 * 3 * 5, 720, 1000, 3000, 6480,
                            11 * 13 * 4, 29 * 31, 37, 61 * 2, 7 * 7 * 7, 30 * 30 * 6, 4095};
  for (int64_t p = 256; p <= (1 << 16); p *= 2) v.push_back(p);
  return v;
}

TEST(FftComplex, AllLengths1To128) {
  for_each_isa([] {
    for (int64_t n = 1; n <= 128; ++n) {
      check_complex<float>(n);
      check_complex<double>(n);
    }
  });
}

TEST(FftComplex, AwkwardLengths) {
  for_each_isa([] {
    for (int64_t n : awkward_lengths()) {
      check_complex<float>(n);
      check_complex<double>(n);
    }
  });
}

TEST(FftReal, AllLengths1To128) {
  for_each_isa([] {
    for (int64_t n = 1; n <= 128; ++n) {
      check_real<float>(n);
      check_real<double>(n);
    }
  });
}

TEST(FftReal, AwkwardLengths) {
  for_each_isa([] {
    for (int64_t n : awkward_lengths()) {
      check_real<float>(n);
      check_real<double>(n);
    }
  });
}

template <typename T>
void check_nd(std::vector<int64_t> shape) {
  std::string name = "shape";
  for (auto s : shape) name += " " + std::to_string(s);
  SCOPED_TRACE(name);
  const int rank = static_cast<int>(shape.size());
  int64_t total = 1;
  for (auto s : shape) total *= s;
  const int64_t last = shape.back(), h = last / 2 + 1, rows = total / last;
  std::mt19937_64 rng(total);
  std::uniform_real_distribution<double> dist(-1, 1);
  std::vector<T> x(total), back(total);
  std::vector<LCx> xl(total);
  for (int64_t i = 0; i < total; ++i) x[i] = static_cast<T>(dist(rng)), xl[i] = x[i];
  std::vector<std::complex<T>> y(rows * h);
  fft::rfftn(x.data(), y.data(), shape.data(), rank);
  long double lg = 2;
  for (auto s : shape) lg += std::log2(static_cast<long double>(s)) + 2;
  const long double tol = 8 * std::numeric_limits<T>::epsilon() * lg * norm2(xl);
  const long double pi = 3.141592653589793238462643383279502884L;
  for (int64_t o = 0; o < rows * h; ++o) {
    // Output multi-index.
    std::vector<int64_t> kidx(rank);
    int64_t rem = o;
    kidx[rank - 1] = rem % h, rem /= h;
    for (int d = rank - 2; d >= 0; --d) kidx[d] = rem % shape[d], rem /= shape[d];
    LCx acc = 0;
    for (int64_t i = 0; i < total; ++i) {
      int64_t r2 = i;
      long double phase = 0;
      for (int d = rank - 1; d >= 0; --d) {
        const int64_t j = r2 % shape[d];
        r2 /= shape[d];
        phase += static_cast<long double>((j * kidx[d]) % shape[d]) / shape[d];
      }
      acc += xl[i] * LCx(std::cos(-2 * pi * phase), std::sin(-2 * pi * phase));
    }
    ASSERT_LE(std::abs(LCx(y[o].real(), y[o].imag()) - acc), tol) << "bin " << o;
  }
  fft::irfftn(y.data(), back.data(), shape.data(), rank);
  for (int64_t i = 0; i < total; ++i)
    ASSERT_LE(std::abs(back[i] / static_cast<long double>(total) - xl[i].real()), tol) << "round trip " << i;
}

TEST(FftNd, AgainstNaive) {
  for_each_isa([] {
    const std::vector<std::vector<int64_t>> shapes = {
        {1}, {7}, {3, 5}, {1, 8}, {8, 1}, {17, 4}, {4, 6, 7}, {2, 1, 9}, {5, 3, 2, 6}, {33, 20}};
    for (const auto& s : shapes) {
      check_nd<float>(s);
      check_nd<double>(s);
    }
  });
}

TEST(FftPlan, FastLengthsAndErrors) {
  EXPECT_EQ(fft::next_fast_length(1), 1);
  EXPECT_EQ(fft::next_fast_length(7), 8);
  EXPECT_EQ(fft::next_fast_length(11, true), 12);
  EXPECT_EQ(fft::next_fast_length(13, true), 16);
  EXPECT_EQ(fft::next_fast_length(15), 15);
  EXPECT_EQ(fft::next_fast_length(15, true), 16);
  EXPECT_EQ(fft::next_fast_length(4097), 4320);
  EXPECT_THROW(fft::complex_plan<float>(0), convkit::InvalidArgument);
  EXPECT_THROW(fft::complex_plan<double>(std::int64_t{1} << 40), convkit::SizeOverflow);
  EXPECT_EQ(&fft::complex_plan<float>(360), &fft::complex_plan<float>(360));  // cached
}

// ---- the FFT filter engine against the FilterProblem formula --------------------------------

namespace sd = convkit::signal::detail;
using sd::Acc;
using sd::Boundary;
using sd::FilterProblem;
using sd::Scalar;

std::size_t scalar_size(Scalar s) {
  switch (s) {
    case Scalar::u8: return 1;
    case Scalar::i16: return 2;
    case Scalar::f32: return 4;
    default: return 8;  // f64
  }
}

long double read_scalar(const void* base, int64_t off, Scalar s) {
  switch (s) {
    case Scalar::u8: return static_cast<const std::uint8_t*>(base)[off];
    case Scalar::i16: return static_cast<const std::int16_t*>(base)[off];
    case Scalar::f32: return static_cast<const float*>(base)[off];
    default: return static_cast<const double*>(base)[off];
  }
}

void write_scalar(void* base, int64_t off, Scalar s, long double v) {
  if (s == Scalar::f32)
    static_cast<float*>(base)[off] = static_cast<float>(v);
  else
    static_cast<double*>(base)[off] = static_cast<double>(v);
}

// A random problem with its own storage: strided/negative/broadcast input, flipped kernels,
// batch dims with kernels varying along them, strided output.
struct RandomProblem {
  FilterProblem p;
  std::vector<unsigned char> in, k, out0;  // out0: initial output contents
  std::int64_t out_elems = 0;
  std::string name;
};

RandomProblem make_problem(std::mt19937_64& rng, bool large = false) {
  RandomProblem rp;
  FilterProblem& p = rp.p;
  auto uni = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % (hi - lo + 1)); };
  p.rank = static_cast<int>(uni(1, 3));
  const Scalar in_types[] = {Scalar::u8, Scalar::i16, Scalar::f32, Scalar::f64};
  p.in_type = in_types[uni(0, 3)];
  p.k_type = uni(0, 1) ? Scalar::f32 : Scalar::f64;
  p.out_type = uni(0, 1) ? Scalar::f32 : Scalar::f64;
  p.acc = uni(0, 1) ? Acc::f32 : Acc::f64;
  p.boundary = static_cast<Boundary>(uni(0, 2));
  p.fill = p.boundary == Boundary::fill ? (uni(0, 1) ? 0.75 : -2.0) : 0.0;
  p.alpha = uni(0, 3) == 0 ? -1 : 1;
  p.accumulate = uni(0, 3) == 0;
  bool any_filtered = false;
  int64_t kext[sd::kMaxRank];  // kernel storage extents
  bool varying[sd::kMaxRank] = {};
  for (int d = 0; d < p.rank; ++d) {
    const int64_t big = large ? 300 : 24;
    p.in_shape[d] = uni(0, 5) == 0 ? 1 : uni(1, big);
    p.out_shape[d] = uni(0, 6) == 0 ? 1 : uni(1, big);
    p.k_shape[d] = uni(0, 3) == 0 ? 1 : uni(1, large ? 40 : 12);
    if (uni(0, 6) == 0) p.k_shape[d] = p.in_shape[d] + uni(1, 6);  // kernel larger than input
    any_filtered = any_filtered || p.k_shape[d] > 1;
    p.base[d] = uni(-p.k_shape[d] - 4, p.in_shape[d] + 2);
    varying[d] = p.k_shape[d] == 1 && uni(0, 2) == 0;
    kext[d] = varying[d] ? p.out_shape[d] : p.k_shape[d];
  }
  if (p.rank > 1 && p.in_shape[0] > 0 && uni(0, 4) == 0) p.in_stride[0] = -1;  // mark: broadcast
  // Input storage: row-major over in_shape with random dim signs; a broadcast dim stores 1.
  int64_t in_elems = 1;
  int64_t stride = 1;
  bool broadcast0 = p.in_stride[0] == -1;
  const int64_t gap = uni(1, 2);  // non-contiguous innermost
  for (int d = p.rank - 1; d >= 0; --d) {
    const int64_t stored = (d == 0 && broadcast0) ? 1 : p.in_shape[d];
    const int64_t st = d == p.rank - 1 ? gap : stride;
    p.in_stride[d] = (d == 0 && broadcast0) ? 0 : st;
    stride = st * stored;
  }
  in_elems = stride;
  rp.in.resize(static_cast<std::size_t>(in_elems) * scalar_size(p.in_type) + 8);
  for (int64_t i = 0; i < in_elems; ++i) {
    long double v;
    switch (p.in_type) {
      case Scalar::u8: v = static_cast<long double>(uni(0, 255)); break;
      case Scalar::i16: v = static_cast<long double>(uni(-3000, 3000)); break;
      default: v = static_cast<long double>(uni(-1000000, 1000000)) / 1e6L; break;
    }
    if (p.in_type == Scalar::u8) static_cast<std::uint8_t*>(static_cast<void*>(rp.in.data()))[i] = static_cast<std::uint8_t>(v);
    else if (p.in_type == Scalar::i16) reinterpret_cast<std::int16_t*>(rp.in.data())[i] = static_cast<std::int16_t>(v);
    else if (p.in_type == Scalar::f32) reinterpret_cast<float*>(rp.in.data())[i] = static_cast<float>(v);
    else reinterpret_cast<double*>(rp.in.data())[i] = static_cast<double>(v);
  }
  // Negative strides: point at the last element along flipped dims.
  int64_t in_off = 0;
  for (int d = 0; d < p.rank; ++d)
    if (p.in_stride[d] != 0 && uni(0, 2) == 0 && p.in_shape[d] > 0) {
      in_off += (p.in_shape[d] - 1) * p.in_stride[d];
      p.in_stride[d] = -p.in_stride[d];
    }
  p.in = rp.in.data() + in_off * static_cast<int64_t>(scalar_size(p.in_type));
  // Kernel storage: row-major over kext; varying dims move by k_batch_stride.
  int64_t k_elems = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    p.k_stride[d] = k_elems;
    if (varying[d]) p.k_batch_stride[d] = k_elems;
    k_elems *= kext[d];
  }
  rp.k.resize(static_cast<std::size_t>(k_elems) * scalar_size(p.k_type));
  for (int64_t i = 0; i < k_elems; ++i)
    write_scalar(rp.k.data(), i, p.k_type, static_cast<long double>(uni(-1000000, 1000000)) / 1e6L);
  int64_t k_off = 0;
  for (int d = 0; d < p.rank; ++d)
    if (!varying[d] && p.k_shape[d] > 1 && uni(0, 1) == 0) {  // convolution = flipped view
      k_off += (p.k_shape[d] - 1) * p.k_stride[d];
      p.k_stride[d] = -p.k_stride[d];
    }
  p.k = rp.k.data() + k_off * static_cast<int64_t>(scalar_size(p.k_type));
  // Output: row-major with a gap, random contents for accumulate.
  int64_t o_elems = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    p.out_stride[d] = o_elems * (d == p.rank - 1 ? 2 : 1);
    o_elems = p.out_stride[d] * p.out_shape[d];
  }
  rp.out_elems = o_elems;
  rp.out0.resize(static_cast<std::size_t>(o_elems) * scalar_size(p.out_type));
  for (int64_t i = 0; i < o_elems; ++i)
    write_scalar(rp.out0.data(), i, p.out_type, static_cast<long double>(uni(-1000, 1000)) / 100);
  (void)any_filtered;
  std::ostringstream nm;
  nm << "rank " << p.rank << " in";
  for (int d = 0; d < p.rank; ++d) nm << " " << p.in_shape[d] << "/" << p.in_stride[d];
  nm << " k";
  for (int d = 0; d < p.rank; ++d) nm << " " << p.k_shape[d] << (varying[d] ? "v" : "");
  nm << " out";
  for (int d = 0; d < p.rank; ++d) nm << " " << p.out_shape[d];
  nm << " base";
  for (int d = 0; d < p.rank; ++d) nm << " " << p.base[d];
  nm << " boundary " << static_cast<int>(p.boundary) << " acc " << static_cast<int>(p.acc)
     << " in_type " << static_cast<int>(p.in_type) << " alpha " << p.alpha << " accumulate " << p.accumulate;
  rp.name = nm.str();
  return rp;
}

// The formula, in long double: returns out values and the per-output sum of |X||k|.
// Only outputs whose flat index is a multiple of `step` are evaluated (step > 1 for huge kernels).
void naive_filter(const FilterProblem& p, const std::vector<unsigned char>& out0,
                  std::vector<long double>* ref, std::vector<long double>* mag, int64_t step = 1) {
  int64_t n_out = 1, n_k = 1;
  for (int d = 0; d < p.rank; ++d) n_out *= p.out_shape[d], n_k *= p.k_shape[d];
  ref->assign(n_out, 0);
  mag->assign(n_out, 0);
  for (int64_t o = 0; o < n_out; o += step) {
    int64_t m[sd::kMaxRank], rem = o, out_off = 0, kb = 0;
    for (int d = p.rank - 1; d >= 0; --d) m[d] = rem % p.out_shape[d], rem /= p.out_shape[d];
    for (int d = 0; d < p.rank; ++d) out_off += m[d] * p.out_stride[d], kb += m[d] * p.k_batch_stride[d];
    long double acc = 0, a = 0;
    for (int64_t t = 0; t < n_k; ++t) {
      int64_t tt[sd::kMaxRank], r2 = t, in_off = 0, k_off = kb;
      for (int d = p.rank - 1; d >= 0; --d) tt[d] = r2 % p.k_shape[d], r2 /= p.k_shape[d];
      bool fill = false;
      for (int d = 0; d < p.rank; ++d) {
        const int64_t c = sd::map_coordinate(m[d] + p.base[d] + tt[d], p.in_shape[d], p.boundary);
        if (c < 0) fill = true;
        in_off += c * p.in_stride[d];
        k_off += tt[d] * p.k_stride[d];
      }
      const long double x = fill ? static_cast<long double>(p.fill) : read_scalar(p.in, in_off, p.in_type);
      const long double kv = read_scalar(p.k, k_off, p.k_type);
      acc += x * kv;
      a += std::abs(x * kv);
    }
    long double v = p.alpha * acc;
    if (p.accumulate) v += read_scalar(out0.data(), out_off, p.out_type);
    (*ref)[o] = v;
    (*mag)[o] = a;
  }
}

std::vector<unsigned char> run_engine(const RandomProblem& rp, int threads) {
  convkit::set_num_threads(threads);
  std::vector<unsigned char> out = rp.out0;
  FilterProblem p = rp.p;
  p.out = out.data();
  sd::fft_filter(p);
  return out;
}

void check_problem(const RandomProblem& rp, int64_t step = 1) {
  SCOPED_TRACE(rp.name + " | " + sd::fft_filter_describe(rp.p));
  const FilterProblem& p = rp.p;
  std::vector<long double> ref, mag;
  naive_filter(p, rp.out0, &ref, &mag, step);
  const std::vector<unsigned char> o1 = run_engine(rp, 1);
  const std::vector<unsigned char> o2 = run_engine(rp, 2);
  ASSERT_EQ(0, std::memcmp(o1.data(), o2.data(), o1.size())) << "1 and 2 threads differ";
  const std::vector<unsigned char> o3 = run_engine(rp, 3);
  ASSERT_EQ(0, std::memcmp(o1.data(), o3.data(), o1.size())) << "1 and 3 threads differ";
  const long double eps_acc = p.acc == Acc::f32 ? std::numeric_limits<float>::epsilon()
                                                : std::numeric_limits<double>::epsilon();
  const long double eps_out = p.out_type == Scalar::f32 ? std::numeric_limits<float>::epsilon()
                                                        : std::numeric_limits<double>::epsilon();
  long double logs = 4, max_mag = 0;
  for (int d = 0; d < p.rank; ++d)
    logs += std::log2(static_cast<long double>(p.out_shape[d] + 2 * p.k_shape[d]));
  for (auto v : mag) max_mag = std::max(max_mag, v);
  int64_t n_out = static_cast<int64_t>(ref.size());
  for (int64_t o = 0; o < n_out; o += step) {
    int64_t rem = o, off = 0;
    for (int d = p.rank - 1; d >= 0; --d) off += (rem % p.out_shape[d]) * p.out_stride[d], rem /= p.out_shape[d];
    const long double got = read_scalar(o1.data(), off, p.out_type);
    // FFT error + rounding of the result (and of an accumulated value read in the acc type).
    const long double tol = 16 * eps_acc * logs * max_mag + 2 * std::max(eps_acc, eps_out) * std::abs(ref[o]) + 1e-30L;
    ASSERT_LE(std::abs(got - ref[o]), tol) << "output " << o << " got " << static_cast<double>(got)
                                           << " want " << static_cast<double>(ref[o]);
  }
  // Untouched gaps in the output stay untouched.
  for (int64_t i = 1; i < rp.out_elems; i += 2)
    ASSERT_EQ(read_scalar(o1.data(), i, p.out_type), read_scalar(rp.out0.data(), i, p.out_type));
}

// Sets CONVKIT_FFT_1D (which 1-d layout the engine uses) for the scope.
struct Force1d {
  explicit Force1d(const char* v) { setenv("CONVKIT_FFT_1D", v, 1); }
  ~Force1d() { unsetenv("CONVKIT_FFT_1D"); }
};

TEST(FftFilter, RandomSmallProblems) {
  std::mt19937_64 rng(12345);
  const int saved = convkit::get_num_threads();
  for_each_isa([&] {
    for (int i = 0; i < 300; ++i) check_problem(make_problem(rng));
  });
  for (const char* layout : {"lanes", "long"}) {
    SCOPED_TRACE(std::string("CONVKIT_FFT_1D=") + layout);
    Force1d force(layout);
    for (int i = 0; i < 150; ++i) check_problem(make_problem(rng));
  }
  convkit::set_num_threads(saved);
}

TEST(FftFilter, RandomLargerProblems) {
  std::mt19937_64 rng(777);
  const int saved = convkit::get_num_threads();
  for (int i = 0; i < 30; ++i) {
    RandomProblem rp = make_problem(rng, true);
    int64_t work = 1;
    for (int d = 0; d < rp.p.rank; ++d) work *= rp.p.out_shape[d] * rp.p.k_shape[d];
    if (work > 40'000'000) continue;  // keep the naive evaluation fast
    check_problem(rp);
  }
  convkit::set_num_threads(saved);
}

// Shapes that exercise each layout and the tile edges: long 1-d signals (many tiles per vector),
// 2-d images (rows layout, several tiles), a trailing unfiltered axis with varying kernels.
TEST(FftFilter, LayoutsAndTileEdges) {
  std::mt19937_64 rng(99);
  const int saved = convkit::get_num_threads();
  struct Case { std::vector<int64_t> in, k, out; std::vector<bool> vary; int64_t step = 1; };
  const std::vector<Case> cases = {
      {{5000}, {101}, {5100}, {false}, 3},
      {{3, 2000}, {1, 37}, {3, 1964}, {true, false}},
      {{300, 290}, {31, 17}, {300, 290}, {false, false}, 7},
      {{90, 50}, {90, 50}, {179, 99}, {false, false}, 5},
      {{40, 37, 20}, {7, 5, 1}, {40, 37, 20}, {false, false, true}},
      {{20, 9, 33}, {3, 1, 4}, {22, 9, 30}, {false, true, false}},
      {{64, 3}, {9, 1}, {64, 3}, {false, true}},
      // Long kernels: complex four-step transforms holding two tiles each (sampled outputs).
      {{150000}, {70001}, {219999}, {false}, 1999},
      {{3, 40000}, {1, 90001}, {3, 129999}, {true, false}, 2003},
      {{5, 20000}, {1, 80000}, {5, 30000}, {false, false}, 997},
  };
  for (const Case& c : cases) {
    RandomProblem rp = make_problem(rng);
    FilterProblem& p = rp.p;
    p.rank = static_cast<int>(c.in.size());
    // Rebuild storage for this exact shape: contiguous f32 input, f64 kernel, f32 output.
    p.in_type = Scalar::f32, p.k_type = Scalar::f64, p.out_type = Scalar::f32, p.acc = Acc::f32;
    int64_t n_in = 1, n_k = 1, n_out = 1;
    for (int d = p.rank - 1; d >= 0; --d) {
      p.in_shape[d] = c.in[d], p.k_shape[d] = c.k[d], p.out_shape[d] = c.out[d];
      p.in_stride[d] = n_in, n_in *= c.in[d];
      p.out_stride[d] = n_out, n_out *= c.out[d];
      p.base[d] = c.out[d] > c.in[d] ? -(c.k[d] - 1) : -(c.k[d] / 2);
    }
    for (int d = p.rank - 1; d >= 0; --d) {
      p.k_stride[d] = n_k;
      p.k_batch_stride[d] = c.vary[d] ? n_k : 0;
      n_k *= c.vary[d] ? c.out[d] : c.k[d];
    }
    rp.in.assign(n_in * 4, 0);
    rp.k.assign(n_k * 8, 0);
    rp.out0.assign(n_out * 4, 0);
    rp.out_elems = 0;
    std::uniform_real_distribution<float> dist(-1, 1);
    for (int64_t i = 0; i < n_in; ++i) reinterpret_cast<float*>(rp.in.data())[i] = dist(rng);
    for (int64_t i = 0; i < n_k; ++i) reinterpret_cast<double*>(rp.k.data())[i] = dist(rng);
    for (int64_t i = 0; i < n_out; ++i) reinterpret_cast<float*>(rp.out0.data())[i] = dist(rng);
    p.in = rp.in.data();
    p.k = rp.k.data();
    rp.name = "case in " + std::to_string(c.in[0]) + " rank " + std::to_string(p.rank);
    check_problem(rp, c.step);
    p.acc = Acc::f64;
    check_problem(rp, c.step);
  }
  convkit::set_num_threads(saved);
}

// Problems split into many jobs, so 1, 2 and 3 threads really partition the work differently.
TEST(FftFilter, ManyJobsBitwiseIdenticalAcrossThreads) {
  std::mt19937_64 rng(4242);
  const int saved = convkit::get_num_threads();
  struct Case { std::vector<int64_t> in, k, vary; const char* layout; int64_t step; };
  const std::vector<Case> cases = {
      {{700, 900}, {9, 9}, {0, 0}, "", 7},
      {{300000}, {301}, {0}, "lanes", 53},
      {{300000}, {301}, {0}, "long", 53},
      {{8, 20000}, {1, 65}, {1, 0}, "lanes", 11},
      {{8, 20000}, {1, 65}, {1, 0}, "long", 11},
      {{50, 60, 40}, {5, 5, 1}, {0, 0, 1}, "", 3},
      {{6, 200, 130}, {1, 7, 9}, {1, 0, 0}, "", 5},
  };
  for (const Case& c : cases) {
    Force1d force(c.layout);
    RandomProblem rp = make_problem(rng);
    FilterProblem& p = rp.p;
    p.rank = static_cast<int>(c.in.size());
    p.in_type = Scalar::f32, p.k_type = Scalar::f32, p.out_type = Scalar::f32, p.acc = Acc::f32;
    int64_t n_in = 1, n_k = 1, n_out = 1;
    for (int d = p.rank - 1; d >= 0; --d) {
      p.in_shape[d] = p.out_shape[d] = c.in[d], p.k_shape[d] = c.k[d];
      p.base[d] = -(c.k[d] / 2);
      p.in_stride[d] = n_in, n_in *= c.in[d];
      p.out_stride[d] = n_out, n_out *= c.in[d];
    }
    for (int d = p.rank - 1; d >= 0; --d) {
      p.k_stride[d] = n_k;
      p.k_batch_stride[d] = c.vary[d] ? n_k : 0;
      n_k *= c.vary[d] ? c.in[d] : c.k[d];
    }
    rp.in.assign(n_in * 4, 0);
    rp.k.assign(n_k * 4, 0);
    rp.out0.assign(n_out * 4, 0);
    rp.out_elems = 0;
    std::uniform_real_distribution<float> dist(-1, 1);
    for (int64_t i = 0; i < n_in; ++i) reinterpret_cast<float*>(rp.in.data())[i] = dist(rng);
    for (int64_t i = 0; i < n_k; ++i) reinterpret_cast<float*>(rp.k.data())[i] = dist(rng);
    p.in = rp.in.data();
    p.k = rp.k.data();
    rp.name = std::string("many jobs, layout ") + c.layout;
    const std::string desc = sd::fft_filter_describe(p);
    const int64_t jobs = std::stoll(desc.substr(desc.rfind(", ", desc.find(" jobs")) + 2));
    EXPECT_GE(jobs, 3) << desc;
    check_problem(rp, c.step);
  }
  convkit::set_num_threads(saved);
}

TEST(FftFilter, RejectsIntegerAccumulation) {
  FilterProblem p;
  p.rank = 1;
  p.in_shape[0] = p.k_shape[0] = p.out_shape[0] = 4;
  p.acc = Acc::i64;
  EXPECT_THROW(sd::fft_filter(p), convkit::UnsupportedError);
  EXPECT_THROW(sd::fft_filter_cost_seconds(p), convkit::UnsupportedError);
}

}  // namespace
