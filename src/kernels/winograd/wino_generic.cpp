// src/kernels/winograd/wino_generic.cpp — Winograd F(4×4, 3×3) float32 kernels, portable (baseline x86-64 vectors).
#include "kernels/winograd/wino_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#include "kernels/winograd/wino_ukernel.inc"

namespace convkit::detail {

const WinoKernels wino_kernels_generic = CONVKIT_WINO(4, "f32_wino4x3_4x8__generic");

const WinoKernels& wino_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512: return wino_kernels_avx512;
    case Isa::avx2: return wino_kernels_avx2;
    case Isa::generic: break;
  }
  return wino_kernels_generic;
}

}  // namespace convkit::detail
