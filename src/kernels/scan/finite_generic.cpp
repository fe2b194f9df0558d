// src/kernels/scan/finite_generic.cpp — the NaN/Inf scan (finite_kernels.hpp) for generic.
#include "kernels/scan/finite_kernels.hpp"

#include "kernels/scan/finite.inc"

namespace convkit::detail {

const FiniteKernels finite_kernels_generic = {&all_finite_run<float>, &all_finite_run<double>};

const FiniteKernels& finite_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512: return finite_kernels_avx512;
    case Isa::avx2: return finite_kernels_avx2;
    case Isa::generic: break;
  }
  return finite_kernels_generic;
}

}  // namespace convkit::detail
