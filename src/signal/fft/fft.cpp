// src/signal/fft/fft.cpp — whole-array transforms on top of the block kernels: lines are
// packed into lane blocks (kFftLanes at a time for N-d arrays), transformed, and unpacked.
#include "signal/fft/fft.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "convkit/error.hpp"
#include "core/arena.hpp"
#include "core/cpu_features.hpp"
#include "signal/fft/fft_nd.hpp"

namespace convkit::signal::fft {

using convkit::detail::ScratchSlot;
using convkit::detail::thread_scratch;

const FftKernels& active_kernels() {
  const convkit::detail::Isa isa = convkit::detail::active_isa();
  convkit::detail::note_isa_run(isa);
  return fft_kernels(isa);
}

namespace {

template <typename T>
T* scratch(std::int64_t elems) {
  return static_cast<T*>(thread_scratch(sizeof(T) * static_cast<std::size_t>(elems)));
}

void check_shape(const std::int64_t* shape, int rank) {
  if (rank < 1 || rank > kMaxFftRank)
    throw InvalidArgument("rfftn: rank must be in [1, 32], got " + std::to_string(rank));
  for (int d = 0; d < rank; ++d)
    if (shape[d] < 1)
      throw InvalidArgument("rfftn: shape[" + std::to_string(d) + "] must be >= 1, got " +
                            std::to_string(shape[d]));
}

}  // namespace

template <typename T>
void fft(const std::complex<T>* in, std::complex<T>* out, std::int64_t n, bool inverse) {
  constexpr int L = kFftLanes<T>;
  const ComplexFftPlan<T>& plan = complex_plan<T>(n);
  const FftKernelsFor<T>& k = kernels_for<T>(active_kernels());
  T* re = scratch<T>(2 * n * L + plan.work_elems);
  T* im = re + n * L;
  std::memset(re, 0, sizeof(T) * 2 * n * L);
  for (std::int64_t j = 0; j < n; ++j) re[j * L] = in[j].real(), im[j * L] = in[j].imag();
  if (inverse)
    k.complex_forward(plan, im, re, L, im, re, L, im + n * L);
  else
    k.complex_forward(plan, re, im, L, re, im, L, im + n * L);
  for (std::int64_t j = 0; j < n; ++j) out[j] = {re[j * L], im[j * L]};
}

template <typename T>
void rfft(const T* in, std::complex<T>* out, std::int64_t n) {
  rfftn(in, out, &n, 1);
}

template <typename T>
void irfft(const std::complex<T>* in, T* out, std::int64_t n) {
  irfftn(in, out, &n, 1);
}

template <typename T>
void rfftn(const T* in, std::complex<T>* out, const std::int64_t* shape, int rank) {
  check_shape(shape, rank);
  const NdShape<T> s(rank, shape);
  const FftKernelsFor<T>& k = kernels_for<T>(active_kernels());
  const std::int64_t n = s.len[rank - 1];
  T* re = scratch<T>(2 * s.rows * s.hpad + s.rows_work());
  T* im = re + s.rows * s.hpad;
  T* work = im + s.rows * s.hpad;
  rows_forward(k, s, [&](std::int64_t r, T* dst) { std::memcpy(dst, in + r * n, sizeof(T) * n); },
               re, im, work);
  columns_transform(k, s, s.hpad, re, im, false, work);
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (std::int64_t j = 0; j < s.half; ++j)
      out[r * s.half + j] = {re[r * s.hpad + j], im[r * s.hpad + j]};
}

template <typename T>
void irfftn(const std::complex<T>* in, T* out, const std::int64_t* shape, int rank) {
  check_shape(shape, rank);
  const NdShape<T> s(rank, shape);
  const FftKernelsFor<T>& k = kernels_for<T>(active_kernels());
  const std::int64_t n = s.len[rank - 1];
  // One scratch block: the two planes, the work area, then the list of rows to invert.
  const std::int64_t t_elems = 2 * s.rows * s.hpad + s.rows_work();
  const std::size_t id_offset = (sizeof(T) * static_cast<std::size_t>(t_elems) + 63) / 64 * 64;
  char* mem = static_cast<char*>(thread_scratch(id_offset + sizeof(std::int64_t) * s.rows));
  T* re = reinterpret_cast<T*>(mem);
  T* im = re + s.rows * s.hpad;
  T* work = im + s.rows * s.hpad;
  std::int64_t* ids = reinterpret_cast<std::int64_t*>(mem + id_offset);
  for (std::int64_t r = 0; r < s.rows; ++r) {
    ids[r] = r;
    for (std::int64_t j = 0; j < s.hpad; ++j) {
      re[r * s.hpad + j] = j < s.half ? in[r * s.half + j].real() : T(0);
      im[r * s.hpad + j] = j < s.half ? in[r * s.half + j].imag() : T(0);
    }
  }
  columns_transform(k, s, s.hpad, re, im, true, work);
  rows_inverse(k, s, re, im, ids, s.rows,
               [&](std::int64_t r, const T* src) { std::memcpy(out + r * n, src, sizeof(T) * n); },
               work);
}

#define CONVKIT_FFT_INSTANTIATE(T)                                                          \
  template void fft<T>(const std::complex<T>*, std::complex<T>*, std::int64_t, bool);      \
  template void rfft<T>(const T*, std::complex<T>*, std::int64_t);                         \
  template void irfft<T>(const std::complex<T>*, T*, std::int64_t);                        \
  template void rfftn<T>(const T*, std::complex<T>*, const std::int64_t*, int);            \
  template void irfftn<T>(const std::complex<T>*, T*, const std::int64_t*, int);
CONVKIT_FFT_INSTANTIATE(float)
CONVKIT_FFT_INSTANTIATE(double)
#undef CONVKIT_FFT_INSTANTIATE

}  // namespace convkit::signal::fft
