// src/signal/fft/fft_plan.cpp — building and caching FFT plans (factorisation, twiddles,
// Bluestein chirps). Everything here runs once per length and type; the hot loops live in
// src/kernels/fft/.
#include "signal/fft/fft_plan.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>

#include "convkit/error.hpp"
#include "kernels/fft/fft_kernels.hpp"

namespace convkit::signal::fft {

namespace {

constexpr std::int64_t kMaxLength = std::int64_t{1} << 36;

void check_length(std::int64_t n) {
  if (n < 1)
    throw InvalidArgument("fft: length must be >= 1, got " + std::to_string(n));
  if (n > kMaxLength)
    throw SizeOverflow("fft: length " + std::to_string(n) + " exceeds the supported maximum 2^36");
}

// exp(-2 pi i num/den) computed in long double from the exactly reduced fraction.
void unit_root(std::int64_t num, std::int64_t den, long double* re, long double* im) {
  num %= den;
  if (num < 0) num += den;
  const long double pi = 3.141592653589793238462643383279502884L;
  const long double a = 2 * pi * static_cast<long double>(num) / static_cast<long double>(den);
  *re = std::cos(a);
  *im = -std::sin(a);
}

// Radices for n (empty when a prime factor exceeds kMaxGenericRadix: Bluestein).
std::vector<int> factorise(std::int64_t n, bool* needs_bluestein) {
  std::vector<int> radices;
  int twos = 0;
  while (n % 2 == 0) n /= 2, ++twos;
  int eights = twos / 3, rest = twos % 3;
  if (rest == 1 && eights > 0) --eights, rest = 4;  // 8 * 2 -> 4 * 4
  for (int i = 0; i < eights; ++i) radices.push_back(8);
  if (rest == 4) radices.push_back(4), radices.push_back(4);
  if (rest == 2) radices.push_back(4);
  if (rest == 1) radices.push_back(2);
  for (int f = 3; f <= kMaxGenericRadix; f += 2)
    while (n % f == 0) n /= f, radices.push_back(f);
  *needs_bluestein = n > 1;
  return radices;
}

template <typename T>
std::unique_ptr<ComplexFftPlan<T>> build_complex(std::int64_t n);

template <typename T>
struct PlanCache {
  std::recursive_mutex mutex;  // Bluestein plans build their convolution plan while holding it
  std::map<std::int64_t, std::unique_ptr<ComplexFftPlan<T>>> complex;
  std::map<std::int64_t, std::unique_ptr<RealFftPlan<T>>> real;
  std::map<std::int64_t, std::unique_ptr<FourStepPlan<T>>> four_step;
};

template <typename T>
PlanCache<T>& cache() {
  static PlanCache<T>* c = new PlanCache<T>;  // never destroyed: plans outlive static teardown
  return *c;
}

template <typename T>
void build_bluestein(ComplexFftPlan<T>& plan) {
  constexpr int L = kFftLanes<double>;
  const std::int64_t n = plan.n;
  const std::int64_t M = next_fast_length(2 * n - 1);
  plan.bluestein = true;
  plan.conv = &complex_plan<T>(M);
  plan.chirp_re.resize(n);
  plan.chirp_im.resize(n);
  std::vector<double> cr(n), ci(n);
  std::int64_t r = 0;  // j^2 mod 2n, updated exactly: (j+1)^2 = j^2 + 2j + 1
  for (std::int64_t j = 0; j < n; r = (r + 2 * j + 1) % (2 * n), ++j) {
    long double re, im;
    unit_root(r, 2 * n, &re, &im);  // exp(-pi i j^2 / n)
    cr[j] = static_cast<double>(re), ci[j] = static_cast<double>(im);
    plan.chirp_re[j] = static_cast<T>(re), plan.chirp_im[j] = static_cast<T>(im);
  }
  // The filter spectrum in double (lane 0 of one block), scaled by 1/M.
  const ComplexFftPlan<double>& dplan = complex_plan<double>(M);
  std::vector<double> buf(static_cast<std::size_t>(2 * M * L + dplan.work_elems), 0.0);
  double* br = buf.data();
  double* bi = br + M * L;
  for (std::int64_t j = 0; j < n; ++j) {
    br[j * L] = cr[j], bi[j * L] = -ci[j];
    if (j > 0) br[(M - j) * L] = cr[j], bi[(M - j) * L] = -ci[j];
  }
  fft_kernels_generic.f64.complex_forward(dplan, br, bi, L, br, bi, L, bi + M * L);
  plan.bspec_re.resize(M);
  plan.bspec_im.resize(M);
  for (std::int64_t j = 0; j < M; ++j) {
    plan.bspec_re[j] = static_cast<T>(br[j * L] / static_cast<double>(M));
    plan.bspec_im[j] = static_cast<T>(bi[j * L] / static_cast<double>(M));
  }
  plan.work_elems = 2 * M * kFftLanes<T> + plan.conv->work_elems;
}

template <typename T>
std::unique_ptr<ComplexFftPlan<T>> build_complex(std::int64_t n) {
  auto plan = std::make_unique<ComplexFftPlan<T>>();
  plan->n = n;
  bool bluestein = false;
  const std::vector<int> radices = factorise(n, &bluestein);
  if (bluestein) {
    build_bluestein(*plan);
    return plan;
  }
  std::int64_t n_cur = n, s = 1;
  for (int r : radices) {
    typename ComplexFftPlan<T>::Stage st{};
    st.radix = r;
    st.m = n_cur / r;
    st.s = s;
    st.tw = static_cast<std::int64_t>(plan->tw_re.size());
    for (std::int64_t p = 0; p < st.m; ++p)
      for (int k = 1; k < r; ++k) {
        long double re, im;
        unit_root(p * k, n_cur, &re, &im);
        plan->tw_re.push_back(static_cast<T>(re));
        plan->tw_im.push_back(static_cast<T>(im));
      }
    st.roots = static_cast<std::int64_t>(plan->root_cos.size());
    for (int j = 0; j < r; ++j) {
      long double re, im;
      unit_root(j, r, &re, &im);
      plan->root_cos.push_back(static_cast<T>(re));
      plan->root_sin.push_back(static_cast<T>(-im));
    }
    plan->stages.push_back(st);
    n_cur = st.m;
    s *= r;
  }
  plan->work_elems = 4 * n * kFftLanes<T>;
  return plan;
}

}  // namespace

std::int64_t next_fast_length(std::int64_t n, bool even) {
  if (n <= 1) return even ? 2 : 1;
  std::int64_t best = -1;
  for (std::int64_t p5 = 1;; p5 *= 5) {
    for (std::int64_t p35 = p5;; p35 *= 3) {
      std::int64_t v = p35;
      while (v < n || (even && v % 2 == 1)) v *= 2;
      if (best < 0 || v < best) best = v;
      if (p35 >= n) break;
    }
    if (p5 >= n) break;
  }
  return best;
}

template <typename T>
const ComplexFftPlan<T>& complex_plan(std::int64_t n) {
  check_length(n);
  PlanCache<T>& c = cache<T>();
  std::lock_guard<std::recursive_mutex> lock(c.mutex);
  auto it = c.complex.find(n);
  if (it != c.complex.end()) return *it->second;
  auto plan = build_complex<T>(n);
  return *(c.complex[n] = std::move(plan));
}

template <typename T>
const RealFftPlan<T>& real_plan(std::int64_t n) {
  check_length(n);
  PlanCache<T>& c = cache<T>();
  std::lock_guard<std::recursive_mutex> lock(c.mutex);
  auto it = c.real.find(n);
  if (it != c.real.end()) return *it->second;
  auto plan = std::make_unique<RealFftPlan<T>>();
  plan->n = n;
  constexpr int L = kFftLanes<T>;
  if (n % 2 == 0) {
    const std::int64_t h = n / 2;
    plan->half = &complex_plan<T>(h);
    plan->u_re.resize(h + 1);
    plan->u_im.resize(h + 1);
    for (std::int64_t k = 0; k <= h; ++k) {
      long double re, im;
      unit_root(k, n, &re, &im);  // exp(-2 pi i k/n) = re + i im; times -i: (im, -re)
      plan->u_re[k] = static_cast<T>(im);
      plan->u_im[k] = static_cast<T>(-re);
    }
    plan->work_elems = 2 * h * L + plan->half->work_elems;
  } else {
    plan->half = &complex_plan<T>(n);
    plan->work_elems = 4 * n * L + plan->half->work_elems;
  }
  return *(c.real[n] = std::move(plan));
}

template <typename T>
const FourStepPlan<T>& four_step_plan(std::int64_t n) {
  constexpr int L = kFftLanes<T>;
  check_length(n);
  if (n % L != 0)
    throw InvalidArgument("four_step_plan: length " + std::to_string(n) + " is not a multiple of " +
                          std::to_string(L));
  PlanCache<T>& c = cache<T>();
  std::lock_guard<std::recursive_mutex> lock(c.mutex);
  auto it = c.four_step.find(n);
  if (it != c.four_step.end()) return *it->second;
  auto plan = std::make_unique<FourStepPlan<T>>();
  plan->n = n;
  // n1: the multiple of L dividing n that is closest to sqrt(n) (rows long enough to amortise
  // the transposes, columns many enough to fill whole blocks).
  const double root = std::sqrt(static_cast<double>(n));
  std::int64_t best = L;
  for (std::int64_t d = L; d <= n; d += L)
    if (n % d == 0 && std::fabs(std::log(d / root)) < std::fabs(std::log(best / root))) best = d;
  plan->n1 = best;
  plan->n2 = n / best;
  plan->row_plan = &complex_plan<T>(plan->n1);
  plan->col_plan = &complex_plan<T>(plan->n2);
  plan->tw_re.resize(n);
  plan->tw_im.resize(n);
  for (std::int64_t k2 = 0; k2 < plan->n2; ++k2)
    for (std::int64_t j1 = 0; j1 < plan->n1; ++j1) {
      long double re, im;
      unit_root(j1 * k2, n, &re, &im);
      plan->tw_re[k2 * plan->n1 + j1] = static_cast<T>(re);
      plan->tw_im[k2 * plan->n1 + j1] = static_cast<T>(im);
    }
  plan->work_elems = 2 * L * plan->n1 + L * plan->n1 +
                     std::max(plan->row_plan->work_elems, plan->col_plan->work_elems);
  return *(c.four_step[n] = std::move(plan));
}

template const ComplexFftPlan<float>& complex_plan<float>(std::int64_t);
template const ComplexFftPlan<double>& complex_plan<double>(std::int64_t);
template const RealFftPlan<float>& real_plan<float>(std::int64_t);
template const RealFftPlan<double>& real_plan<double>(std::int64_t);
template const FourStepPlan<float>& four_step_plan<float>(std::int64_t);
template const FourStepPlan<double>& four_step_plan<double>(std::int64_t);

}  // namespace convkit::signal::fft
