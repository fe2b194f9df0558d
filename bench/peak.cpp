// bench/peak.cpp — runs the FMA-throughput probe on N std::threads. Compiled without ISA flags:
// the kernel is picked at run time with __builtin_cpu_supports.
#include "peak.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace convkit_bench {
namespace {

using Kernel = double (*)(std::int64_t);

// Portable fallback (no vector FMA): 16 independent scalar multiply-add chains.
double scalar_f64(std::int64_t iters) {
  double acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = 0.5 + 0.01 * j;
  for (std::int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 16; ++j) acc[j] = acc[j] * 0.999999 + 0.000001;
  double s = 0;
  for (double a : acc) s += a;
  return s;
}

volatile double g_sink = 0;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A team of threads that stays alive for the whole probe (no thread start-up or migration
// inside a measured chunk). run(iters) releases all members together and returns the wall
// time until the last one finished.
class Team {
 public:
  Team(Kernel k, int threads) : k_(k), n_(threads), sinks_(static_cast<std::size_t>(threads), 0.0) {
    for (int t = 1; t < n_; ++t) members_.emplace_back([this, t] { member(t); });
  }
  ~Team() {
    quit_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    for (auto& th : members_) th.join();
    double s = 0;
    for (double v : sinks_) s += v;
    g_sink = g_sink + s;
  }
  double run(std::int64_t iters) {
    iters_ = iters;
    done_.store(0, std::memory_order_relaxed);
    const double t0 = now_s();
    generation_.fetch_add(1, std::memory_order_acq_rel);  // release the members
    sinks_[0] += k_(iters);
    while (done_.load(std::memory_order_acquire) < n_ - 1) {
    }
    return now_s() - t0;
  }

 private:
  void member(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      std::uint64_t g;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) std::this_thread::yield();
      seen = g;
      if (quit_.load(std::memory_order_acquire)) return;
      sinks_[static_cast<std::size_t>(t)] += k_(iters_);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  Kernel k_;
  int n_;
  std::vector<double> sinks_;
  std::vector<std::thread> members_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> quit_{false};
  std::int64_t iters_ = 0;  // written before generation_ is bumped (release), read after (acquire)
};

}  // namespace

PeakResult probe_peak(bool f64, int threads, double seconds) {
  PeakResult r;
  r.threads = std::max(1, threads);
  Kernel k = nullptr;
  double flops_per_iter = 0;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    k = f64 ? detail::fma_avx512_f64 : detail::fma_avx512_f32;
    r.isa = "avx512f+fma";
    r.accumulators = detail::kAcc512;
    flops_per_iter = detail::kAcc512 * (f64 ? 8 : 16) * 2.0;
    r.flops_per_cycle = 2 * (f64 ? 8 : 16) * 2.0;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    k = f64 ? detail::fma_avx2_f64 : detail::fma_avx2_f32;
    r.isa = "avx2+fma";
    r.accumulators = detail::kAcc256;
    flops_per_iter = detail::kAcc256 * (f64 ? 4 : 8) * 2.0;
    r.flops_per_cycle = 2 * (f64 ? 4 : 8) * 2.0;
  } else {
    k = scalar_f64;
    r.isa = "scalar mul+add (no vector FMA found)";
    r.accumulators = 16;
    flops_per_iter = 16 * 2.0;
  }
  // Chunks of ~10 ms (calibrated on this thread alone: fastest of 3 tries), ~50 ms unmeasured
  // on the team so the cores reach their FMA clock, then chunks until `seconds` have passed;
  // the fastest chunk counts (a peak is a best case: the host may be shared, and a chunk that
  // lost its CPU for a while says nothing about the FMA units).
  std::int64_t iters = 2000;
  double t = 1e9;
  for (;;) {
    t = 1e9;
    for (int k3 = 0; k3 < 3; ++k3) {
      const double t0 = now_s();
      g_sink = g_sink + k(iters);
      t = std::min(t, now_s() - t0);
    }
    if (t >= 0.002) break;
    iters *= 4;
  }
  iters = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(iters) * 0.01 / t));
  Team team(k, r.threads);
  for (int w = 0; w < 5; ++w) team.run(iters);
  double best = 0, best_wall = 0;
  const double start = now_s();
  int chunks = 0;
  while (chunks < 3 || now_s() - start < seconds) {
    const double wall = team.run(iters);
    const double g = flops_per_iter * static_cast<double>(iters) * r.threads / wall * 1e-9;
    if (g > best) {
      best = g;
      best_wall = wall;
    }
    ++chunks;
  }
  r.chunks = chunks;
  r.gflops = best;
  r.seconds = best_wall;
  return r;
}

}  // namespace convkit_bench
