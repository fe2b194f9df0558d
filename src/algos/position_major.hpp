// src/algos/position_major.hpp — copies of channel chunks into position-major buffers (CH
// values per position, channels contiguous): the layout in which the depthwise algorithms
// vectorise over channels (depthwise forward on small planes, depthwise_bwd_weights). Any view:
// dense channel planes go through the ISA's in-register transposes, channels-last rows through
// its vector row copies, anything else element by element. Also the chunk's depthwise
// weights, tap-major.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/view.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace convkit::detail {

// Input rows at least this long are transposed row by row into a padded buffer; shorter ones
// as whole planes through a staging area.
constexpr std::int64_t kPositionMajorLongRow = 64;

// One row of cn channels from a view into position-major order, ld elements per position:
// dst[j·ld + c] = v(n, c0 + c, d0, d1, j) for j < len.
template <typename T>
void gather_position_major_row(const DwconvKernel<T>& uk, const View5& v, std::int64_t n, std::int64_t c0, std::int64_t cn, std::int64_t d0,
                std::int64_t d1, std::int64_t len, T* dst, std::int64_t ld) {
  const T* src = v.at<const T>(n, c0, d0, d1, 0);
  if (v.stride[4] == 1) {
    uk.transpose(cn, len, src, v.stride[1], dst, ld);
  } else if (v.stride[1] == 1) {  // channels-last: one run of cn channels per position
    uk.copy_rows(len, cn, src, v.stride[4], 1, dst, ld, 1);
  } else {
    for (std::int64_t j = 0; j < len; ++j)
      for (std::int64_t c = 0; c < cn; ++c) dst[j * ld + c] = src[j * v.stride[4] + c * v.stride[1]];
  }
}

// Channels [c0, c0 + cn) of image n of a view with spatial extent e into position-major rows
// of a buffer with ld elements per position, whose row (i0, i1) starts at element
// row_base + (i0·rows1 + i1)·row_stride. Dense channel planes are transposed whole, straight
// into the buffer when its rows are consecutive, else when rows are short (per-row transposes
// of short rows are mostly scalar edges) through `stage` (e0·e1·e2·ld elements).
template <typename T>
void gather_position_major(const DwconvKernel<T>& uk, const View5& v, std::int64_t n, std::int64_t c0, std::int64_t cn, const std::int64_t* e,
                     T* row_base, std::int64_t rows1, std::int64_t row_stride, std::int64_t ld, T* stage) {
  const bool consecutive = row_stride == e[2] * ld && rows1 == e[1];
  if (v.dense_from(2) && (consecutive || e[2] < kPositionMajorLongRow)) {
    const std::int64_t len = e[0] * e[1] * e[2];
    T* to = consecutive ? row_base : stage;
    uk.transpose(cn, len, v.at<const T>(n, c0, 0, 0, 0), v.stride[1], to, ld);
    if (!consecutive)
      for (std::int64_t i0 = 0; i0 < e[0]; ++i0)
        for (std::int64_t i1 = 0; i1 < e[1]; ++i1)
          std::copy(to + (i0 * e[1] + i1) * e[2] * ld, to + (i0 * e[1] + i1 + 1) * e[2] * ld,
                    row_base + (i0 * rows1 + i1) * row_stride);
    return;
  }
  for (std::int64_t i0 = 0; i0 < e[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < e[1]; ++i1)
      gather_position_major_row<T>(uk, v, n, c0, cn, i0, i1, e[2], row_base + (i0 * rows1 + i1) * row_stride, ld);
}

// Weights of channels [c0, c0 + cn) of a depthwise layer (one input channel per group; w
// viewed (K, 1, kD, kH, kW)) tap-major: wp[t·ld + c] for taps t in (kd, kh, kw) order.
template <typename T>
void pack_position_major_weights(const DwconvKernel<T>& uk, const View5& w, std::int64_t c0,
                                 std::int64_t cn, const std::int64_t* kernel, T* wp, std::int64_t ld) {
  const std::int64_t taps = kernel[0] * kernel[1] * kernel[2];
  if (w.dense_from(2)) {  // each channel's taps one run: a transpose
    uk.transpose(cn, taps, w.at<const T>(c0, 0, 0, 0, 0), w.stride[0], wp, ld);
    return;
  }
  // Each channel's taps one run backwards (the reversed kernel backward-data reads, e.g.
  // mobilenetv2.dw7, where packing element by element cost as much as the multiply-adds):
  // transpose the run from its start (the view's last tap), then reverse the rows.
  if ((kernel[2] == 1 || w.stride[4] == -1) && (kernel[1] == 1 || w.stride[3] == -kernel[2]) &&
      (kernel[0] == 1 || w.stride[2] == -kernel[1] * kernel[2])) {
    uk.transpose(cn, taps, w.at<const T>(c0, 0, kernel[0] - 1, kernel[1] - 1, kernel[2] - 1),
                 w.stride[0], wp, ld);
    for (std::int64_t t = 0; t < taps / 2; ++t)
      std::swap_ranges(wp + t * ld, wp + t * ld + cn, wp + (taps - 1 - t) * ld);
    return;
  }
  for (std::int64_t c = 0; c < cn; ++c) {
    const T* wk = w.at<const T>(c0 + c, 0, 0, 0, 0);
    std::int64_t t = 0;
    for (std::int64_t t0 = 0; t0 < kernel[0]; ++t0)
      for (std::int64_t t1 = 0; t1 < kernel[1]; ++t1)
        for (std::int64_t t2 = 0; t2 < kernel[2]; ++t2, ++t)
          wp[t * ld + c] = wk[t0 * w.stride[2] + t1 * w.stride[3] + t2 * w.stride[4]];
  }
}

}  // namespace convkit::detail
