// src/kernels/scan/finite_avx2.cpp — the NaN/Inf scan (finite_kernels.hpp) for avx2.
#include "kernels/scan/finite_kernels.hpp"

#include "kernels/scan/finite.inc"

namespace convkit::detail {

const FiniteKernels finite_kernels_avx2 = {&all_finite_run<float>, &all_finite_run<double>};

}  // namespace convkit::detail
