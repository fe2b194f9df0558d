// bench/peak_avx512.cpp — AVX-512 FMA throughput kernels. Compiled with -mavx512f -mfma; only
// called after __builtin_cpu_supports("avx512f") (see peak.cpp).
#include <immintrin.h>

#include "peak.hpp"

namespace convkit_bench::detail {

// acc = acc * m + c converges to c / (1 - m) = 1: no overflow, no denormals.
double fma_avx512_f32(std::int64_t iters) {
  __m512 acc[kAcc512];
  for (int j = 0; j < kAcc512; ++j) acc[j] = _mm512_set1_ps(0.5f + 0.01f * static_cast<float>(j));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(0.000001f);
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 32
    for (int j = 0; j < kAcc512; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, c);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kAcc512; ++j) s = _mm512_add_ps(s, acc[j]);
  alignas(64) float v[16];  // (not _mm512_reduce_add_ps: GCC 12 warns inside it)
  _mm512_store_ps(v, s);
  double r = 0;
  for (float e : v) r += e;
  return r;
}

double fma_avx512_f64(std::int64_t iters) {
  __m512d acc[kAcc512];
  for (int j = 0; j < kAcc512; ++j) acc[j] = _mm512_set1_pd(0.5 + 0.01 * j);
  const __m512d m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(0.000001);
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 32
    for (int j = 0; j < kAcc512; ++j) acc[j] = _mm512_fmadd_pd(acc[j], m, c);
  }
  __m512d s = acc[0];
  for (int j = 1; j < kAcc512; ++j) s = _mm512_add_pd(s, acc[j]);
  alignas(64) double v[8];
  _mm512_store_pd(v, s);
  double r = 0;
  for (double e : v) r += e;
  return r;
}

}  // namespace convkit_bench::detail
