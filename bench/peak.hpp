// bench/peak.hpp — the built-in FMA-throughput probe ("what is 100 % on this machine?").
//
// The kernels live in their own files, each compiled with its ISA flags (peak_avx512.cpp with
// -mavx512f -mfma, peak_avx2.cpp with -mavx2 -mfma); peak.cpp, compiled without ISA flags,
// picks one with __builtin_cpu_supports, so the binary also runs on AVX2-only machines.
#pragma once

#include <cstdint>
#include <string>

namespace convkit_bench {

struct PeakResult {
  double gflops = 0.0;      // all threads together
  std::string isa;          // "avx512f+fma", "avx2+fma" or "scalar (no FMA probe)"
  int threads = 1;
  int accumulators = 0;     // independent FMA chains per thread
  double seconds = 0.0;     // wall time of the fastest chunk
  int chunks = 0;           // chunks measured
  double flops_per_cycle = 0;  // per core, assuming 2 vector FMA pipes (Zen 4/5, Skylake-SP)
  /// The clock the result implies if each core does flops_per_cycle (GHz).
  double implied_ghz() const { return flops_per_cycle > 0 ? gflops / threads / flops_per_cycle : 0; }
};

/// FMA throughput of `threads` std::threads for f32 (`f64 == false`) or f64: chunks of ~10 ms
/// for about `seconds` in all; the fastest chunk counts.
PeakResult probe_peak(bool f64, int threads, double seconds = 0.2);

namespace detail {
// Each runs `iters` iterations of `accumulators` independent vector FMAs and returns a value
// derived from the accumulators (so the work is not optimised away). flops per iteration =
// accumulators * lanes * 2.
double fma_avx512_f32(std::int64_t iters);
double fma_avx512_f64(std::int64_t iters);
double fma_avx2_f32(std::int64_t iters);
double fma_avx2_f64(std::int64_t iters);
constexpr int kAcc512 = 24;  // 24 of the 32 zmm registers: >= 2 pipes x 4-cycle latency x 3
constexpr int kAcc256 = 14;  // 14 of the 16 ymm registers (2 hold the constants): no spills
}  // namespace detail

}  // namespace convkit_bench
