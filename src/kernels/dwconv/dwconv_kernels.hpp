// src/kernels/dwconv/dwconv_kernels.hpp — depthwise-convolution micro-kernel tables, per ISA.
//
// A micro-kernel computes one channel's row of extended positions:
//   out[q] = act(bias + Σ_t w[t] · x[q + taps[t]])   for q in [0, len), len a multiple of
// `block`, act = relu when asked (v < 0 ? 0 : v), else the identity,
// on the shifted layout (src/algos/shifted_layout.hpp). The tap weights stay in registers and
// NV vectors of outputs are accumulated at a time, so there is no tile buffer and no per-tile
// bookkeeping: depthwise layers are limited by loads, not by multiply-adds.
// copy_rows moves a 2-D block of rows (the input rows into the layout, the output rows out of
// it): on small planes these copies, not the multiply-adds, are most of the work, so they are
// vectorised per ISA too (AVX-512: masked loads/stores, no scalar tail).
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

template <typename T>
using DwconvUkernel = void (*)(std::int64_t len, std::int64_t ntaps, const std::int64_t* taps,
                               const T* x, const T* w, T bias, bool relu, T* out);

/// dst[r * dst_stride + i * dst_step] = src[r * src_stride + i * src_step] for r < rows,
/// i < len (no overlap; steps and strides of either sign). Unit steps are masked vector copies, a
/// source step of 2 (stride-2 phase split) is a vector de-interleave, other steps gather or
/// scatter.
template <typename T>
using DwconvCopyRows = void (*)(std::int64_t rows, std::int64_t len, const T* src,
                                std::int64_t src_stride, std::int64_t src_step, T* dst,
                                std::int64_t dst_stride, std::int64_t dst_step);

/// Even and odd elements of rows to two places: even[r·dst_stride + i] = src[r·src_stride + 2i]
/// for i < n_even, odd[r·dst_stride + i] = src[r·src_stride + 2i + 1] for i < n_odd (no
/// overlap; reads no source element past the last one either destination takes).
template <typename T>
using DwconvSplitRows = void (*)(std::int64_t rows, std::int64_t n_even, std::int64_t n_odd,
                                 const T* src, std::int64_t src_stride, T* even, T* odd,
                                 std::int64_t dst_stride);

/// Channels-last depthwise (NHWC / NWC / NDHWC, channel multiplier 1), vectorised over
/// channels: for positions p < npos and channels c < channels,
///   out[p·out_step + c] = act(bias[c] + Σ_{r < nsrc} Σ_{j < kw} wsrc[r][j·wstride + c] ·
///                                     xsrc[r][p·pos_step + j·kw_step + c])
/// summed in that order (r, then j). Each source r is one input row of the window (one (kd, kh)
/// pair) with its packed weights; border positions pass one source per tap with kw = 1.
template <typename T>
struct DwconvClArgs {
  std::int64_t npos, channels, nsrc, kw;
  const T* const* xsrc;
  const T* const* wsrc;
  std::int64_t pos_step, kw_step, wstride, out_step;
  const T* bias;  // channels values
  bool relu;      // outputs v < 0 become 0 (after the bias)
  T* out;
};
template <typename T>
using DwconvClRow = void (*)(const DwconvClArgs<T>& a);

/// Channels-last depthwise weight gradient, the adjoint of DwconvClRow for the weights: for
/// sources r < nsrc, taps j < kw and channels c < channels (a multiple of the lane count),
///   dwsrc[r][j·dwstride + c] += Σ_{i < nrows} Σ_{p < npos} dy[i·dy_row + p·dy_step + c] ·
///                                 xsrc[r][i·x_row + p·pos_step + j·kw_step + c]
/// as two running sums, the terms of even p added in order of (i, p) to the stored value, those
/// of odd p likewise to zero, the second sum added to the first at the end; each channel in its
/// own lane (so a channel's sums do not depend on which vector or block it falls in). The sums
/// stay in registers over all nrows·npos terms.
template <typename T>
struct DwconvClWgradArgs {
  std::int64_t nrows, npos, channels, nsrc, kw;
  const T* const* xsrc;
  T* const* dwsrc;
  std::int64_t x_row, pos_step, kw_step, dwstride;
  const T* dy;
  std::int64_t dy_row, dy_step;
};
template <typename T>
using DwconvClWgradRow = void (*)(const DwconvClWgradArgs<T>& a);

/// The same sums for a 3×3 window (nsrc = 3, kw = 3, channels a multiple of the lane count),
/// all nine taps at once, each tap's terms as ONE running sum added to the stored value in
/// order of (i, p) (not two).
template <typename T>
using DwconvClWgrad3x3 = void (*)(const DwconvClWgradArgs<T>& a);

/// dst[r·ldd + c] = src[c·lds + r] for c < cn, r < rn (channel planes to position-major rows
/// and back), in whole-vector blocks.
template <typename T>
using DwconvTranspose = void (*)(std::int64_t cn, std::int64_t rn, const T* src, std::int64_t lds,
                                 T* dst, std::int64_t ldd);

template <typename T>
struct DwconvKernel {
  DwconvUkernel<T> run;
  DwconvCopyRows<T> copy_rows;
  DwconvSplitRows<T> split_rows;
  DwconvClRow<T> cl_row;
  DwconvClWgradRow<T> cl_wgrad_row;
  DwconvClWgrad3x3<T> cl_wgrad_3x3;
  DwconvTranspose<T> transpose;
  int block;  // positions per iteration (NV · lanes)
  int lanes;  // values per vector
  const char* name;  // e.g. "f32_dwconv_64__avx512"
  const char* cl_name;  // the channels-last kernel, e.g. "f32_dwconv_cl_8x16__avx512"
  const char* cl_wgrad_name;  // its weight-gradient twin, e.g. "f32_dwconv_cl_wgrad_3x64__avx512"
  const char* cl_wgrad_3x3_name;  // e.g. "f32_dwconv_cl_wgrad_3x3x16__avx512"
};

struct DwconvKernels {
  DwconvKernel<float> f32;
  DwconvKernel<double> f64;
};

extern const DwconvKernels dwconv_kernels_generic;
extern const DwconvKernels dwconv_kernels_avx2;
extern const DwconvKernels dwconv_kernels_avx512;

const DwconvKernels& dwconv_kernels(Isa isa);

/// The dtype's kernel of the ISA's table.
template <typename T>
const DwconvKernel<T>& dwconv_kernel(Isa isa) {
  if constexpr (sizeof(T) == 4)
    return dwconv_kernels(isa).f32;
  else
    return dwconv_kernels(isa).f64;
}

}  // namespace convkit::detail
