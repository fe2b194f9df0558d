// src/core/cpu_features.cpp — CPU feature detection and the CONVKIT_MAX_ISA cap.
#include "core/cpu_features.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#include "convkit/error.hpp"

namespace convkit::detail {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::generic: return "generic";
  }
  return "?";
}

Isa cpu_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::generic;
}

Isa active_isa() {
  static const Isa cpu = cpu_isa();
  const char* cap = std::getenv("CONVKIT_MAX_ISA");
  if (!cap || !*cap) return cpu;
  const std::string c = cap;
  Isa limit;
  if (c == "avx512") limit = Isa::avx512;
  else if (c == "avx2") limit = Isa::avx2;
  else if (c == "generic") limit = Isa::generic;
  else
    throw InvalidArgument("CONVKIT_MAX_ISA: got '" + c + "', expected 'avx512', 'avx2' or 'generic'");
  return static_cast<int>(limit) < static_cast<int>(cpu) ? limit : cpu;
}

namespace {
std::atomic<std::uint64_t> g_isa_runs[3];
}  // namespace

void note_isa_run(Isa isa) { g_isa_runs[static_cast<int>(isa)].fetch_add(1, std::memory_order_relaxed); }

std::uint64_t isa_runs(Isa isa) { return g_isa_runs[static_cast<int>(isa)].load(std::memory_order_relaxed); }

}  // namespace convkit::detail
