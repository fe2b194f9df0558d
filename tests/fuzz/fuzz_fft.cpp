// tests/fuzz/fuzz_fft.cpp — libFuzzer harness for convkit's own FFT engine (src/signal/fft/).
//
// Role: from arbitrary bytes pick an ISA cap, float or double, a transform and its length(s)
// — small lengths, awkward composites, primes that need Bluestein, products of the radices —
// and check the result against an oracle computed here in long double:
//   * complex forward / inverse (fft), real forward (rfft, rfftn of rank 1-3) and real inverse
//     (irfft, irfftn): every bin for short transforms, 12 random bins (each an O(n) direct sum)
//     for long ones, to within c * eps * log2(n) * ||x||_2 per bin (normwise bound);
//   * round trips inverse(forward(x)) = n x;
//   * four-step transforms (the filter engine's long-line layout): its permuted spectrum
//     X[k2 + n2 k1] at [k2][k1] equals fft()'s, and four_step_inverse undoes it.
// Bad lengths (n < 1) must throw convkit::Error. Anything else — a crash, a sanitizer report,
// a wrong bin — is a finding. Built with clang -fsanitize=fuzzer,address,undefined by
// scripts/fuzz; replayed over the seed corpus by replay_main.cpp as an ordinary test.
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "convkit/error.hpp"
#include "fuzz_input.hpp"
#include "signal/fft/fft.hpp"
#include "signal/fft/fft_nd.hpp"
#include "signal/fft/fft_plan.hpp"

namespace fft = convkit::signal::fft;
using convkit_fuzz::FuzzInput;
using convkit_fuzz::Rng;

namespace {

constexpr const char* kHarness = "fuzz_fft";
using LD = long double;
constexpr LD kTwoPi = 6.283185307179586476925286766559L;

[[noreturn]] void finding(const std::string& what) { convkit_fuzz::fail(kHarness, what.c_str()); }

/// A length: mostly short, sometimes medium or long, composite of the radices or prime.
std::int64_t draw_length(FuzzInput& in, std::int64_t max_len) {
  static const std::int64_t kPrimes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43,
                                         47, 53, 59, 61, 67, 97, 101, 127, 251, 257, 509, 1009};
  std::int64_t n;
  switch (in.pick(4)) {
    case 0: n = 1 + in.pick(64); break;
    case 1: n = 1 + in.u16() % max_len; break;  // (max_len bounds the plan cache's growth)
    case 2: {  // a product of a few small primes
      n = 1;
      const int f = 1 + static_cast<int>(in.pick(5));
      for (int i = 0; i < f; ++i) n *= kPrimes[in.pick(14)];
      break;
    }
    default: {  // a prime (Bluestein above the generic radix) times a power of two
      n = kPrimes[in.pick(26)] << in.pick(4);
      break;
    }
  }
  if (in.one_in(64)) n = -static_cast<std::int64_t>(in.pick(3));  // invalid: 0, -1, -2
  return n > max_len ? 1 + n % max_len : n;
}

template <typename T>
std::vector<std::complex<T>> random_complex(Rng& rng, std::int64_t n) {
  std::vector<std::complex<T>> v(static_cast<std::size_t>(n));
  for (auto& z : v)
    z = {static_cast<T>(rng.range(-1000, 1000)) / T(256), static_cast<T>(rng.range(-1000, 1000)) / T(256)};
  return v;
}

template <typename T>
constexpr LD eps() {
  return sizeof(T) == 4 ? LD(6e-8) : LD(1.2e-16);
}

/// The allowed per-bin error of an n-point transform of data with 2-norm `norm`.
template <typename T>
LD bound(std::int64_t n, LD norm) {
  return 40 * eps<T>() * (std::log2(static_cast<LD>(n)) + 4) * (norm + 1e-30L);
}

/// exp(sign 2 pi i m / n) for m in [0, n), per axis: the oracle's twiddles.
using Roots = std::vector<std::vector<std::complex<LD>>>;
Roots unit_roots(const std::vector<std::int64_t>& shape, int sign) {
  Roots r(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    r[d].resize(static_cast<std::size_t>(shape[d]));
    for (std::int64_t m = 0; m < shape[d]; ++m) {
      const LD a = sign * kTwoPi * static_cast<LD>(m) / static_cast<LD>(shape[d]);
      r[d][m] = {std::cos(a), std::sin(a)};
    }
  }
  return r;
}

/// Bin k of the N-d DFT of x (shape `shape`, row-major) with the twiddles `roots`.
template <typename T>
std::complex<LD> dft_bin(const std::vector<std::complex<T>>& x, const std::vector<std::int64_t>& shape,
                         const Roots& roots, const std::vector<std::int64_t>& k) {
  const int rank = static_cast<int>(shape.size());
  std::complex<LD> acc = 0;
  std::vector<std::int64_t> j(rank, 0);
  for (std::size_t idx = 0; idx < x.size(); ++idx) {
    std::complex<LD> w = 1;
    for (int d = 0; d < rank; ++d) w *= roots[d][(j[d] * k[d]) % shape[d]];
    acc += std::complex<LD>(x[idx].real(), x[idx].imag()) * w;
    for (int d = rank - 1; d >= 0; --d) {
      if (++j[d] < shape[d]) break;
      j[d] = 0;
    }
  }
  return acc;
}

template <typename T>
LD norm2(const std::vector<std::complex<T>>& x) {
  LD s = 0;
  for (const auto& z : x) s += static_cast<LD>(std::norm(std::complex<LD>(z.real(), z.imag())));
  return std::sqrt(s);
}

/// The bins to check: all of them when the total direct work is small, else 12 random ones.
std::vector<std::int64_t> bins_to_check(std::int64_t total, std::int64_t elems, Rng& rng) {
  std::vector<std::int64_t> out;
  if (total * elems <= 40000) {
    for (std::int64_t b = 0; b < total; ++b) out.push_back(b);
  } else {
    out = {0, total - 1};
    for (int i = 0; i < 10; ++i) out.push_back(rng.range(0, total - 1));
  }
  return out;
}

std::vector<std::int64_t> unravel(std::int64_t flat, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> k(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) k[d] = flat % shape[d], flat /= shape[d];
  return k;
}

template <typename T>
void check_bin(std::complex<T> got, std::complex<LD> want, LD tol, const char* what, std::int64_t n,
               std::int64_t bin) {
  const LD err = std::abs(std::complex<LD>(got.real(), got.imag()) - want);
  if (!(err <= tol)) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s (%s) n=%lld bin %lld: got (%.9Lg, %.9Lg), want (%.9Lg, %.9Lg), error %.3Lg > %.3Lg",
                  what, sizeof(T) == 4 ? "float" : "double", static_cast<long long>(n),
                  static_cast<long long>(bin), static_cast<LD>(got.real()), static_cast<LD>(got.imag()),
                  want.real(), want.imag(), err, tol);
    finding(msg);
  }
}

// ---- complex transforms -------------------------------------------------------------------
template <typename T>
void run_complex(FuzzInput& in, Rng& rng) {
  const std::int64_t n = draw_length(in, 4096);
  const bool inverse = in.flag();
  const bool in_place = in.flag();
  if (n < 1) {
    std::vector<std::complex<T>> x(1), y(1);
    try {
      fft::fft(x.data(), y.data(), n, inverse);
    } catch (const convkit::Error&) {
      return;
    }
    finding("fft accepted n = " + std::to_string(n));
  }
  const auto x = random_complex<T>(rng, n);
  std::vector<std::complex<T>> y = x;
  fft::fft(in_place ? y.data() : x.data(), y.data(), n, inverse);
  const LD tol = bound<T>(n, norm2(x));
  const std::vector<std::int64_t> shape{n};
  const Roots roots = unit_roots(shape, inverse ? 1 : -1);
  for (std::int64_t b : bins_to_check(n, n, rng))
    check_bin(y[b], dft_bin(x, shape, roots, {b}), tol, "fft", n, b);
  // Round trip: the opposite direction gives n x.
  std::vector<std::complex<T>> z(static_cast<std::size_t>(n));
  fft::fft(y.data(), z.data(), n, !inverse);
  const LD rt_tol = bound<T>(n, norm2(x)) * std::sqrt(static_cast<LD>(n)) * 2;
  for (std::int64_t j = 0; j < n; ++j)
    check_bin(z[j], std::complex<LD>(x[j].real(), x[j].imag()) * static_cast<LD>(n), rt_tol, "fft round trip", n, j);
}

// ---- real transforms (rank 1-3) ------------------------------------------------------------
template <typename T>
void run_real(FuzzInput& in, Rng& rng) {
  const int rank = 1 + static_cast<int>(in.pick(3));
  const std::int64_t max_len[] = {4096, 300, 40};
  std::vector<std::int64_t> shape(rank);
  for (int d = 0; d < rank; ++d) shape[d] = draw_length(in, max_len[rank - 1]);
  const bool inverse_first = in.flag();  // irfftn of a Hermitian spectrum vs rfftn of reals
  for (int d = 0; d < rank; ++d)
    if (shape[d] < 1) {
      std::vector<T> x(1);
      std::vector<std::complex<T>> y(1);
      try {
        fft::rfftn(x.data(), y.data(), shape.data(), rank);
      } catch (const convkit::Error&) {
        return;
      }
      finding("rfftn accepted shape[" + std::to_string(d) + "] = " + std::to_string(shape[d]));
    }
  std::int64_t total = 1;
  for (auto s : shape) total *= s;
  const std::int64_t n_last = shape[rank - 1];
  const std::int64_t half = n_last / 2 + 1;
  const std::int64_t spec = total / n_last * half;

  std::vector<T> x(static_cast<std::size_t>(total));
  for (auto& v : x) v = static_cast<T>(rng.range(-1000, 1000)) / T(256);
  std::vector<std::complex<T>> xc(x.begin(), x.end());
  std::vector<std::complex<T>> y(static_cast<std::size_t>(spec));
  if (rank == 1 && in.flag())
    fft::rfft(x.data(), y.data(), n_last);
  else
    fft::rfftn(x.data(), y.data(), shape.data(), rank);
  const LD tol = bound<T>(total, norm2(xc));
  std::vector<std::int64_t> half_shape = shape;
  half_shape[rank - 1] = half;
  const Roots roots = unit_roots(shape, -1);
  for (std::int64_t b : bins_to_check(spec, total, rng))
    check_bin(y[b], dft_bin(xc, shape, roots, unravel(b, half_shape)), tol, "rfftn", total, b);

  // The inverse: of that spectrum (round trip), or of a random spectrum whose non-Hermitian
  // parts (imaginary parts of the self-conjugate bins) the transform must ignore.
  std::vector<std::complex<T>> s = y;
  if (inverse_first && rank == 1) {
    s = random_complex<T>(rng, half);
    std::vector<std::complex<T>> full(static_cast<std::size_t>(n_last));
    for (std::int64_t k = 0; k < n_last; ++k) full[k] = k < half ? s[k] : std::conj(s[n_last - k]);
    full[0] = full[0].real();
    if (n_last % 2 == 0) full[n_last / 2] = full[n_last / 2].real();
    std::vector<T> r(static_cast<std::size_t>(n_last));
    fft::irfft(s.data(), r.data(), n_last);
    const LD itol = bound<T>(n_last, norm2(full));
    const std::vector<std::int64_t> sh{n_last};
    const Roots iroots = unit_roots(sh, 1);
    for (std::int64_t b : bins_to_check(n_last, n_last, rng))
      check_bin(std::complex<T>(r[b], 0), dft_bin(full, sh, iroots, {b}), itol, "irfft", n_last, b);
    return;
  }
  std::vector<T> r(static_cast<std::size_t>(total));
  fft::irfftn(s.data(), r.data(), shape.data(), rank);
  const LD rt_tol = tol * std::sqrt(static_cast<LD>(total)) * 2;
  for (std::int64_t j = 0; j < total; ++j)
    check_bin(std::complex<T>(r[j], 0), std::complex<LD>(x[j] * static_cast<LD>(total), 0), rt_tol,
              "irfftn round trip", total, j);
}

// ---- four-step long transforms ---------------------------------------------------------------
template <typename T>
void run_four_step(FuzzInput& in, Rng& rng) {
  constexpr int L = fft::kFftLanes<T>;
  const std::int64_t n = L * (1 + in.u16() % 512);
  const fft::FourStepPlan<T>& f = fft::four_step_plan<T>(n);
  if (f.n != n || f.n1 * f.n2 != n || f.n1 % L != 0) finding("four_step_plan: bad factorisation");
  const auto x = random_complex<T>(rng, n);
  std::vector<T> re(static_cast<std::size_t>(n)), im(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) re[j] = x[j].real(), im[j] = x[j].imag();
  std::vector<T> work(static_cast<std::size_t>(f.work_elems));
  const fft::FftKernelsFor<T>& k = fft::kernels_for<T>(fft::active_kernels());
  fft::four_step_forward(k, f, re.data(), im.data(), work.data());
  std::vector<std::complex<T>> want(static_cast<std::size_t>(n));
  fft::fft(x.data(), want.data(), n);
  const LD tol = 2 * bound<T>(n, norm2(x));
  for (std::int64_t k2 = 0; k2 < f.n2; ++k2)
    for (std::int64_t k1 = 0; k1 < f.n1; ++k1) {
      const std::complex<T> w = want[k2 + f.n2 * k1];
      check_bin(std::complex<T>(re[k2 * f.n1 + k1], im[k2 * f.n1 + k1]), std::complex<LD>(w.real(), w.imag()), tol,
                "four_step_forward", n, k2 + f.n2 * k1);
    }
  fft::four_step_inverse(k, f, re.data(), im.data(), work.data());
  const LD rt_tol = tol * std::sqrt(static_cast<LD>(n)) * 2;
  for (std::int64_t j = 0; j < n; ++j)
    check_bin(std::complex<T>(re[j], im[j]), std::complex<LD>(x[j].real(), x[j].imag()) * static_cast<LD>(n),
              rt_tol, "four_step round trip", n, j);
}

template <typename T>
void run(FuzzInput& in, Rng& rng, unsigned kind) {
  if (kind == 0) run_complex<T>(in, rng);
  else if (kind == 1) run_real<T>(in, rng);
  else run_four_step<T>(in, rng);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const char* isa = convkit_fuzz::cap_isa(in.pick(4));
  const bool dbl = in.flag();
  const unsigned kind = in.pick(5);  // 0, 1: complex; 2, 3: real; 4: four-step
  const unsigned family = kind < 2 ? 0 : kind < 4 ? 1 : 2;
  Rng rng(in.seed_from_rest());
  if (std::getenv("CONVKIT_FUZZ_VERBOSE"))
    std::fprintf(stderr, "fuzz_fft: isa %s, %s, family %u\n", isa,
                 dbl ? "double" : "float", family);
  try {
    if (dbl)
      run<double>(in, rng, family);
    else
      run<float>(in, rng, family);
  } catch (const convkit::Error& e) {
    finding(std::string("unexpected convkit::Error: ") + e.what());
  }
  return 0;
}
