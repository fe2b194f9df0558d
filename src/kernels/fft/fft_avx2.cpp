// src/kernels/fft/fft_avx2.cpp — FFT block kernels for AVX2+FMA (compiled with -mavx2 -mfma).
#include <cstdint>

#include "kernels/fft/fft_kernels.hpp"

#define CONVKIT_VEC_BYTES 32
#define CONVKIT_FFT_TABLE fft_kernels_avx2
#define CONVKIT_FFT_ISA convkit::detail::Isa::avx2
#include "kernels/fft/fft_ukernel.inc"
