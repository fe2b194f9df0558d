// src/kernels/fft/fft_generic.cpp — portable FFT block kernels (baseline x86-64 / any CPU).
#include <cstdint>

#include "kernels/fft/fft_kernels.hpp"

#define CONVKIT_VEC_BYTES 16
#define CONVKIT_FFT_TABLE fft_kernels_generic
#define CONVKIT_FFT_ISA convkit::detail::Isa::generic
#include "kernels/fft/fft_ukernel.inc"

namespace convkit::signal::fft {

const FftKernels& fft_kernels(convkit::detail::Isa isa) {
  switch (isa) {
    case convkit::detail::Isa::avx512: return fft_kernels_avx512;
    case convkit::detail::Isa::avx2: return fft_kernels_avx2;
    case convkit::detail::Isa::generic: break;
  }
  return fft_kernels_generic;
}

}  // namespace convkit::signal::fft
