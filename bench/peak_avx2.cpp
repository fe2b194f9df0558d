// bench/peak_avx2.cpp — AVX2 FMA throughput kernels (the fallback probe). Compiled with
// -mavx2 -mfma; only called after __builtin_cpu_supports("avx2") && ("fma") (see peak.cpp).
#include <immintrin.h>

#include "peak.hpp"

namespace convkit_bench::detail {

double fma_avx2_f32(std::int64_t iters) {
  __m256 acc[kAcc256];
  for (int j = 0; j < kAcc256; ++j) acc[j] = _mm256_set1_ps(0.5f + 0.01f * static_cast<float>(j));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(0.000001f);
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 32
    for (int j = 0; j < kAcc256; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, c);
  }
  __m256 s = acc[0];
  for (int j = 1; j < kAcc256; ++j) s = _mm256_add_ps(s, acc[j]);
  alignas(32) float v[8];
  _mm256_store_ps(v, s);
  double r = 0;
  for (float e : v) r += e;
  return r;
}

double fma_avx2_f64(std::int64_t iters) {
  __m256d acc[kAcc256];
  for (int j = 0; j < kAcc256; ++j) acc[j] = _mm256_set1_pd(0.5 + 0.01 * j);
  const __m256d m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(0.000001);
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 32
    for (int j = 0; j < kAcc256; ++j) acc[j] = _mm256_fmadd_pd(acc[j], m, c);
  }
  __m256d s = acc[0];
  for (int j = 1; j < kAcc256; ++j) s = _mm256_add_pd(s, acc[j]);
  alignas(32) double v[4];
  _mm256_store_pd(v, s);
  return v[0] + v[1] + v[2] + v[3];
}

}  // namespace convkit_bench::detail
