// src/core/cpu_features.hpp — which instruction sets this CPU has, and the cap users set.
//
// Kernels are chosen at plan time from the best ISA the CPU supports, capped by the
// environment variable CONVKIT_MAX_ISA=avx512|avx2|generic (so tests can exercise every path
// a machine has). The library itself is compiled for baseline x86-64; only kernel files are
// compiled with ISA flags.
#pragma once

#include <cstdint>

namespace convkit::detail {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
/// Best ISA the CPU supports (AVX-512F; AVX2 with FMA; else generic), ignoring the cap.
Isa cpu_isa();
/// cpu_isa() capped by CONVKIT_MAX_ISA (read at every call, so tests may change it).
Isa active_isa();

/// Counts executions of SIMD-dispatched algorithms per ISA, so tests can assert that the path
/// they meant to test really ran (a silently disabled SIMD path would otherwise go unnoticed).
void note_isa_run(Isa isa);
std::uint64_t isa_runs(Isa isa);

}  // namespace convkit::detail
