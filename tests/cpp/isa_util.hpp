// tests/cpp/isa_util.hpp — the instruction sets this CPU can run, for tests that call every
// ISA's kernel table directly (rather than capping dispatch with CONVKIT_MAX_ISA).
#pragma once

#include <vector>

#include "core/cpu_features.hpp"

namespace ckt {

/// generic, then avx2 and avx512 when the CPU has them.
inline std::vector<convkit::detail::Isa> isas_on_this_cpu() {
  using convkit::detail::Isa;
  std::vector<Isa> v{Isa::generic};
  const Isa cpu = convkit::detail::cpu_isa();
  if (static_cast<int>(cpu) >= static_cast<int>(Isa::avx2)) v.push_back(Isa::avx2);
  if (cpu == Isa::avx512) v.push_back(Isa::avx512);
  return v;
}

}  // namespace ckt
