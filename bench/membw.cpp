// bench/membw.cpp — convkit-membw: the machine's memory bandwidth, the yardstick for
// memory-bound filters ("% of bandwidth" in BENCHMARKS.md).
//
// Each of T threads copies its share of a 512 MiB source into a 512 MiB destination (read +
// write, plain stores and streaming stores) and reads its share alone (sum); the best of
// several passes counts. Prints one line per test: "<name> <GB/s>", bytes moved = bytes read +
// bytes written.
#include <emmintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename F>
double best_gbps(int threads, std::size_t n, double bytes_per_elem, F&& body) {
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    std::vector<std::thread> ts;
    const double t0 = now();
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] { body(n * t / threads, n * (t + 1) / threads); });
    for (auto& th : ts) th.join();
    const double dt = now() - t0;
    best = std::max(best, n * bytes_per_elem / dt / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::size_t n = (std::size_t(512) << 20) / sizeof(float);
  float* a = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  float* b = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  // Touch everything first so page faults are not measured.
  std::memset(a, 1, n * sizeof(float));
  std::memset(b, 0, n * sizeof(float));
  const double copy = best_gbps(threads, n, 8, [&](std::size_t lo, std::size_t hi) {
    std::memcpy(b + lo, a + lo, (hi - lo) * sizeof(float));
  });
  const double stream = best_gbps(threads, n, 8, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i + 4 <= hi; i += 4) _mm_stream_ps(b + i, _mm_load_ps(a + i));
    _mm_sfence();
  });
  volatile float sink = 0;
  const double read = best_gbps(threads, n, 4, [&](std::size_t lo, std::size_t hi) {
    __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (std::size_t i = lo; i + 16 <= hi; i += 16) {
      s0 = _mm_add_ps(s0, _mm_load_ps(a + i));
      s1 = _mm_add_ps(s1, _mm_load_ps(a + i + 4));
      s2 = _mm_add_ps(s2, _mm_load_ps(a + i + 8));
      s3 = _mm_add_ps(s3, _mm_load_ps(a + i + 12));
    }
    float out[4];
    _mm_storeu_ps(out, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
    sink = sink + out[0];
  });
  std::printf("threads %d\ncopy %.1f\ncopy_streaming %.1f\nread %.1f\n", threads, copy, stream, read);
  std::free(a);
  std::free(b);
  return 0;
}
