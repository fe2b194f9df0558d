// src/kernels/fft/fft_avx512.cpp — FFT block kernels for AVX-512F (compiled with -mavx512f).
#include <cstdint>

#include "kernels/fft/fft_kernels.hpp"

#define CONVKIT_VEC_BYTES 64
#define CONVKIT_FFT_TABLE fft_kernels_avx512
#define CONVKIT_FFT_ISA convkit::detail::Isa::avx512
#include "kernels/fft/fft_ukernel.inc"
