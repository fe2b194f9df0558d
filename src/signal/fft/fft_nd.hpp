// src/signal/fft/fft_nd.hpp — multi-dimensional real transforms built from block kernels, in
// the two layouts the FFT filter engine uses:
//
//  * rows layout (one N-d array): the spectrum is two planes (re, im) of shape
//    [n_0]...[n_(R-2)][hpad], hpad = n_last/2+1 rounded up to whole lane blocks. Rows are
//    gathered through a callback kFftLanes at a time, transposed so the real FFT along the
//    last axis runs across lanes, and transposed back; the complex FFTs along the other axes
//    then vectorise across neighbouring columns with no transposes at all.
//  * lanes layout (kFftLanes independent N-d arrays side by side): real data
//    [n_0]...[n_(R-1)][lanes], spectrum [n_0]...[n_(R-2)][n_last/2+1][lanes]; every
//    transform vectorises across the arrays.
//
// Work memory comes from the caller (sizes below), so nothing here allocates.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/fft/fft_kernels.hpp"
#include "signal/fft/fft_plan.hpp"

namespace convkit::signal::fft {

constexpr int kMaxFftRank = 32;

/// Shape of an N-d real transform and the plans it uses.
template <typename T>
struct NdShape {
  int rank = 0;
  std::int64_t len[kMaxFftRank] = {};
  std::int64_t half = 0;  // len[rank-1]/2 + 1
  std::int64_t hpad = 0;  // half rounded up to a multiple of kFftLanes<T>
  std::int64_t rows = 1;  // prod len[0..rank-2]
  const RealFftPlan<T>* row_plan = nullptr;
  const ComplexFftPlan<T>* col_plan[kMaxFftRank] = {};

  NdShape() = default;
  NdShape(int r, const std::int64_t* n) : rank(r) {
    constexpr int L = kFftLanes<T>;
    for (int d = 0; d < r; ++d) len[d] = n[d];
    half = len[r - 1] / 2 + 1;
    hpad = (half + L - 1) / L * L;
    for (int d = 0; d + 1 < r; ++d) rows *= len[d], col_plan[d] = &complex_plan<T>(len[d]);
    row_plan = &real_plan<T>(len[r - 1]);
  }
  std::int64_t points() const { return rows * len[rank - 1]; }
  /// Largest work any single block transform needs.
  std::int64_t transform_work() const {
    std::int64_t w = row_plan->work_elems;
    for (int d = 0; d + 1 < rank; ++d) w = w > col_plan[d]->work_elems ? w : col_plan[d]->work_elems;
    return w;
  }
  /// Work elements for the rows-layout functions below.
  std::int64_t rows_work() const {
    constexpr int L = kFftLanes<T>;
    return L * len[rank - 1] + L * len[rank - 1] + 2 * L * half + L * hpad + transform_work();
  }
};

/// Complex FFTs along every axis but the last, for `planes` = re/im [rows][row_len] where the
/// row_len elements of each row are the inner, vectorised dimension (row_len % lanes == 0).
template <typename T>
void columns_transform(const FftKernelsFor<T>& k, const NdShape<T>& s, std::int64_t row_len,
                       T* re, T* im, bool inverse, T* work) {
  constexpr int L = kFftLanes<T>;
  if (inverse) std::swap(re, im);
  std::int64_t outer = 1;
  for (int d = 0; d + 1 < s.rank; ++d) {
    std::int64_t stride = row_len;
    for (int e = d + 1; e + 1 < s.rank; ++e) stride *= s.len[e];
    for (std::int64_t o = 0; o < outer; ++o) {
      const std::int64_t base = o * s.len[d] * stride;
      for (std::int64_t b = 0; b < stride; b += L)
        k.complex_forward(*s.col_plan[d], re + base + b, im + base + b, stride, re + base + b,
                          im + base + b, stride, work);
    }
    outer *= s.len[d];
  }
}

/// Rows layout, forward: source(row, dst) writes the len_last reals of flat row `row`.
template <typename T, typename Source>
void rows_forward(const FftKernelsFor<T>& k, const NdShape<T>& s, Source&& source, T* re, T* im,
                  T* work) {
  constexpr int L = kFftLanes<T>;
  const std::int64_t n = s.len[s.rank - 1];
  T* staging = work;              // [L][n]
  T* lanes = staging + L * n;     // [n][L]
  T* spec_re = lanes + L * n;     // [half][L]
  T* spec_im = spec_re + L * s.half;
  T* dummy = spec_im + L * s.half;  // one row of hpad for missing lanes
  T* tw = dummy + s.hpad;
  const T* src_rows[L];
  T* dst_rows[L];
  for (std::int64_t r0 = 0; r0 < s.rows; r0 += L) {
    const int nr = static_cast<int>(s.rows - r0 < L ? s.rows - r0 : L);
    for (int l = 0; l < L; ++l) {
      src_rows[l] = staging + l * n;
      if (l < nr)
        source(r0 + l, staging + l * n);
      else
        std::memset(staging + l * n, 0, sizeof(T) * n);
    }
    k.to_lanes(src_rows, n, lanes);
    k.real_forward(*s.row_plan, lanes, L, spec_re, spec_im, L, tw);
    for (int pass = 0; pass < 2; ++pass) {
      T* plane = pass == 0 ? re : im;
      for (int l = 0; l < L; ++l) dst_rows[l] = l < nr ? plane + (r0 + l) * s.hpad : dummy;
      k.from_lanes(pass == 0 ? spec_re : spec_im, s.half, dst_rows);
      for (int l = 0; l < nr; ++l)
        std::memset(dst_rows[l] + s.half, 0, sizeof(T) * (s.hpad - s.half));
    }
  }
}

/// Rows layout, inverse for the rows listed in row_ids (n_ids of them): sink(row, src)
/// receives the len_last reals (unnormalised) of flat row `row`.
template <typename T, typename Sink>
void rows_inverse(const FftKernelsFor<T>& k, const NdShape<T>& s, const T* re, const T* im,
                  const std::int64_t* row_ids, std::int64_t n_ids, Sink&& sink, T* work) {
  constexpr int L = kFftLanes<T>;
  const std::int64_t n = s.len[s.rank - 1];
  T* staging = work;
  T* lanes = staging + L * n;
  T* spec_re = lanes + L * n;
  T* spec_im = spec_re + L * s.half;
  T* tw = spec_im + L * s.half + s.hpad;
  const T* src_rows[L];
  T* dst_rows[L];
  for (std::int64_t i0 = 0; i0 < n_ids; i0 += L) {
    const int nr = static_cast<int>(n_ids - i0 < L ? n_ids - i0 : L);
    for (int pass = 0; pass < 2; ++pass) {
      const T* plane = pass == 0 ? re : im;
      for (int l = 0; l < L; ++l) src_rows[l] = plane + row_ids[i0 + (l < nr ? l : 0)] * s.hpad;
      k.to_lanes(src_rows, s.half, pass == 0 ? spec_re : spec_im);
    }
    k.real_inverse(*s.row_plan, spec_re, spec_im, L, lanes, L, tw);
    for (int l = 0; l < L; ++l) dst_rows[l] = staging + l * n;
    k.from_lanes(lanes, n, dst_rows);
    for (int l = 0; l < nr; ++l) sink(row_ids[i0 + l], staging + l * n);
  }
}

/// Lanes layout: real [rows][len_last][L] -> spectrum [rows][half][L] and all axes.
template <typename T>
void lanes_forward(const FftKernelsFor<T>& k, const NdShape<T>& s, const T* real, T* re, T* im,
                   T* work) {
  constexpr int L = kFftLanes<T>;
  const std::int64_t n = s.len[s.rank - 1];
  for (std::int64_t r = 0; r < s.rows; ++r)
    k.real_forward(*s.row_plan, real + r * n * L, L, re + r * s.half * L, im + r * s.half * L, L,
                   work);
  columns_transform(k, s, s.half * L, re, im, false, work);
}

/// Lanes layout inverse (unnormalised); destroys the spectrum.
template <typename T>
void lanes_inverse(const FftKernelsFor<T>& k, const NdShape<T>& s, T* re, T* im, T* real,
                   T* work) {
  constexpr int L = kFftLanes<T>;
  const std::int64_t n = s.len[s.rank - 1];
  columns_transform(k, s, s.half * L, re, im, true, work);
  for (std::int64_t r = 0; r < s.rows; ++r)
    k.real_inverse(*s.row_plan, re + r * s.half * L, im + r * s.half * L, L, real + r * n * L, L,
                   work);
}

/// Four-step: the row FFTs of an [n2][n1] complex array, kFftLanes rows at a time.
template <typename T>
void four_step_rows(const FftKernelsFor<T>& k, const FourStepPlan<T>& f, T* re, T* im, T* work) {
  constexpr int L = kFftLanes<T>;
  T* lre = work;
  T* lim = lre + L * f.n1;
  T* dummy = lim + L * f.n1;
  T* tw = dummy + L * f.n1;
  const T* src[L];
  T* dst[L];
  for (std::int64_t r0 = 0; r0 < f.n2; r0 += L) {
    const int nr = static_cast<int>(f.n2 - r0 < L ? f.n2 - r0 : L);
    for (int pass = 0; pass < 2; ++pass) {
      T* plane = pass == 0 ? re : im;
      for (int l = 0; l < L; ++l) src[l] = plane + (r0 + (l < nr ? l : 0)) * f.n1;
      k.to_lanes(src, f.n1, pass == 0 ? lre : lim);
    }
    k.complex_forward(*f.row_plan, lre, lim, L, lre, lim, L, tw);
    for (int pass = 0; pass < 2; ++pass) {
      T* plane = pass == 0 ? re : im;
      for (int l = 0; l < L; ++l) dst[l] = l < nr ? plane + (r0 + l) * f.n1 : dummy;
      k.from_lanes(pass == 0 ? lre : lim, f.n1, dst);
    }
  }
}

/// Four-step forward transform in place (natural order in, permuted spectrum out).
template <typename T>
void four_step_forward(const FftKernelsFor<T>& k, const FourStepPlan<T>& f, T* re, T* im, T* work) {
  constexpr int L = kFftLanes<T>;
  for (std::int64_t b = 0; b < f.n1; b += L)
    k.complex_forward(*f.col_plan, re + b, im + b, f.n1, re + b, im + b, f.n1, work);
  k.multiply(re, im, f.tw_re.data(), f.tw_im.data(), f.n);
  four_step_rows(k, f, re, im, work);
}

/// Its unnormalised inverse (permuted spectrum in, natural order out). Runs the forward
/// kernels on swapped parts: in that representation the inverse twiddle conj(w) becomes w.
template <typename T>
void four_step_inverse(const FftKernelsFor<T>& k, const FourStepPlan<T>& f, T* re, T* im, T* work) {
  constexpr int L = kFftLanes<T>;
  four_step_rows(k, f, im, re, work);
  k.multiply(im, re, f.tw_re.data(), f.tw_im.data(), f.n);
  for (std::int64_t b = 0; b < f.n1; b += L)
    k.complex_forward(*f.col_plan, im + b, re + b, f.n1, im + b, re + b, f.n1, work);
}

}  // namespace convkit::signal::fft
