// src/kernels/gemm/gemm_generic.cpp — portable GEMM micro-kernels (baseline x86-64 / any CPU).
#include <cstdint>

#include "kernels/gemm/gemm_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#include "kernels/gemm/gemm_ukernel.inc"

namespace convkit::detail {

const GemmKernels gemm_kernels_generic = {
    {&gemm_ukernel<float, 4, 2>, 4, 8, "f32_gemm_4x8__generic"},
    {&gemm_ukernel<double, 4, 2>, 4, 4, "f64_gemm_4x4__generic"},
};

const GemmKernels& gemm_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512: return gemm_kernels_avx512;
    case Isa::avx2: return gemm_kernels_avx2;
    case Isa::generic: break;
  }
  return gemm_kernels_generic;
}

}  // namespace convkit::detail
