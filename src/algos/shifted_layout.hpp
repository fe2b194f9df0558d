// src/algos/shifted_layout.hpp — the stride-phase "shifted" layout shared by the direct
// algorithms (forward, backward-data, backward-weights), and the micro-kernel choice.
//
// The padded input of one image is rewritten per channel into stride phases: with stride s,
// phase (a0, a1, a2) holds xpad[i0·s0 + a0][i1·s1 + a1][i2·s2 + a2] in a plane of Lq0×Lq1×Lq2.
// Every filter tap is then a constant offset from the "extended" output index
//   q = (o0·Lq1 + o1)·Lq2 + o2,
// so NR consecutive q's read NR consecutive values per tap. Extended positions with
// o2 >= out2 or o1 >= out1 are not outputs: they are computed and discarded (forward) or held
// at zero (gradients laid out the same way).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "convkit/conv.hpp"
#include "core/cpu_features.hpp"
#include "core/padding.hpp"
#include "core/view.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"
#include "kernels/scan/finite_kernels.hpp"

namespace convkit::detail {

struct Geometry {
  std::int64_t P[3], Lq[3];        // padded sizes, phase-plane sizes
  std::int64_t phases, plane;      // number of phases, elements per phase plane
  std::vector<std::int64_t> taps;  // offset of each tap (kd, kh, kw order)
  std::vector<char> phase_used;    // whether any tap reads the phase (others are left zero)
  std::int64_t qext;               // extended output positions: q in [0, qext)
  std::int64_t cstride;            // elements per channel in the shifted copy
};

/// Why the stride-phase layout cannot serve p (empty if it can): it keeps one phase plane per
/// combination of stride phases, lists every kernel tap and copies the padded input, so
/// extreme strides, kernels or inputs (valid problems, but absurd for this layout) would
/// overflow its size arithmetic or allocate without bound. Checked before geometry() runs.
inline std::string shifted_layout_declines(const ConvProblem& p) {
  // A crop at the end (negative trailing padding) is not handled by the layout's builders.
  for (int j = 0; j < 3; ++j)
    if (p.pad_after[j] < 0) return "negative trailing padding";
  double phases = 1, taps = 1, padded = 1;
  for (int j = 0; j < 3; ++j) {
    phases *= static_cast<double>(p.stride[j]);
    taps *= static_cast<double>(p.kernel[j]);
    padded *= static_cast<double>(p.in[j] + p.pad_before[j] + p.pad_after[j]) +
              static_cast<double>(p.stride[j]);
  }
  if (phases > 64) {  // (phases may exceed the int64 range: printed from the double)
    char text[64];
    std::snprintf(text, sizeof text, "stride product %.0f (> 64 phase planes)", phases);
    return text;
  }
  if (taps > 65536) return "more than 65536 kernel taps";
  if (padded * static_cast<double>(p.in_channels_per_group()) > 4e9)
    return "the padded input copy would exceed 4e9 elements per image";
  return {};
}

/// The layout for problem p with tiles of nr extended positions.
inline Geometry geometry(const ConvProblem& p, std::int64_t nr) {
  Geometry g;
  g.phases = 1;
  for (int j = 0; j < 3; ++j) {
    g.P[j] = p.in[j] + p.pad_before[j] + p.pad_after[j];
    g.Lq[j] = (g.P[j] + p.stride[j] - 1) / p.stride[j];
    g.phases *= p.stride[j];
  }
  g.plane = g.Lq[0] * g.Lq[1] * g.Lq[2];
  std::int64_t max_off = 0;
  for (std::int64_t t0 = 0; t0 < p.kernel[0]; ++t0)
    for (std::int64_t t1 = 0; t1 < p.kernel[1]; ++t1)
      for (std::int64_t t2 = 0; t2 < p.kernel[2]; ++t2) {
        const std::int64_t t[3] = {t0, t1, t2};
        std::int64_t phase = 0, shift = 0;
        for (int j = 0; j < 3; ++j) {
          const std::int64_t off = t[j] * p.dilation[j];
          phase = phase * p.stride[j] + off % p.stride[j];
          shift = shift * g.Lq[j] + off / p.stride[j];
        }
        g.taps.push_back(phase * g.plane + shift);
        if (g.phase_used.empty()) g.phase_used.assign(static_cast<std::size_t>(g.phases), 0);
        g.phase_used[static_cast<std::size_t>(phase)] = 1;
        max_off = std::max(max_off, g.taps.back());
      }
  g.qext = ((p.out[0] - 1) * g.Lq[1] + (p.out[1] - 1)) * g.Lq[2] + p.out[2];
  const std::int64_t tiles = (g.qext + nr - 1) / nr;
  const std::int64_t need = std::max(g.phases * g.plane, tiles * nr + max_off);
  g.cstride = (need + 15) / 16 * 16;
  return g;
}

template <typename T>
const ConvKernel<T>* variants(Isa isa);
template <>
inline const ConvKernel<float>* variants<float>(Isa isa) { return conv_kernels(isa).f32; }
template <>
inline const ConvKernel<double>* variants<double>(Isa isa) { return conv_kernels(isa).f64; }

// The variant with the least work for `rows` tile rows and `cols` positions, counting the
// padding of rows to whole tiles, of columns to whole tiles and a narrow last tile, and each
// variant's relative speed (ties: the earlier one). `dot_cols` more positions run as the
// dot-product tail (ConvDotTail), at the cost of kDotTailPenalty vector-tile columns each.
constexpr double kDotTailPenalty = 1.3;
template <typename T>
const ConvKernel<T>& pick_kernel(Isa isa, std::int64_t rows_needed, std::int64_t cols_needed,
                                 std::int64_t dot_cols = 0) {
  const ConvKernel<T>* v = variants<T>(isa);
  int best = 0;
  double best_cost = 0;
  for (int i = 0; i < kConvVariants; ++i) {
    const std::int64_t rows = (rows_needed + v[i].mr - 1) / v[i].mr * v[i].mr;
    // whole tiles, then the partial one at the width of its narrow version
    // (a narrow tile of 1 or 2 vectors is slower per column: more loads per multiply-add)
    const std::int64_t tail = cols_needed % v[i].nr;
    const int nv_tail = tail ? v[i].narrow_vectors(tail) : 0;
    const double cols =
        static_cast<double>(cols_needed / v[i].nr * v[i].nr) +
        (tail ? static_cast<double>(nv_tail * (v[i].nr / v[i].nv)) *
                    (nv_tail == 1 ? kConvNarrowPenalty[0] : nv_tail == 2 ? kConvNarrowPenalty[1] : 1.0)
              : 0.0);
    const double cost = static_cast<double>(rows) / static_cast<double>(rows_needed) *
                        (cols * kConvVariantPenalty[i] +
                         static_cast<double>(dot_cols) * kDotTailPenalty) /
                        static_cast<double>(cols_needed + dot_cols);
    if (i == 0 || cost < best_cost) {
      best = i;
      best_cost = cost;
    }
  }
  return v[best];
}

/// Extended output positions of the forward layout (independent of the tile width).
inline std::int64_t extended_positions(const ConvProblem& p) {
  std::int64_t Lq[3];
  for (int j = 0; j < 3; ++j)
    Lq[j] = (p.in[j] + p.pad_before[j] + p.pad_after[j] + p.stride[j] - 1) / p.stride[j];
  return ((p.out[0] - 1) * Lq[1] + (p.out[1] - 1)) * Lq[2] + p.out[2];
}

/// True when the forward layout's extended positions are the output positions of a one-tap
/// kernel (1×1 at any stride; q = the flat output index): the positions past the last whole
/// vector then run as dot products over channels (ConvDotTail) instead of a padded vector.
inline bool forward_dot_tail(const ConvProblem& p) {
  if (p.kernel_spatial() != 1) return false;
  for (int j = 1; j < 3; ++j)
    if ((p.in[j] + p.pad_before[j] + p.pad_after[j] + p.stride[j] - 1) / p.stride[j] != p.out[j])
      return false;
  return true;
}

/// Positions of the forward layout that run as the dot-product tail (0 without one).
inline std::int64_t forward_dot_cols(const ConvProblem& p, std::int64_t lanes) {
  return forward_dot_tail(p) ? extended_positions(p) % lanes : 0;
}

/// The forward kernel: output channels of a group × extended positions. `dot_tail`: the
/// weight rows are contiguous, so a one-tap problem may end in the dot-product tail.
template <typename T>
const ConvKernel<T>& forward_kernel(const ConvProblem& p, Isa isa, bool dot_tail = true) {
  const ConvKernel<T>& v0 = variants<T>(isa)[0];
  const std::int64_t dot = dot_tail ? forward_dot_cols(p, v0.nr / v0.nv) : 0;
  return pick_kernel<T>(isa, p.out_channels_per_group(), extended_positions(p) - dot, dot);
}

template <typename T>
std::int64_t tile_width(const ConvProblem& p, Isa isa, bool dot_tail = true) {
  return forward_kernel<T>(p, isa, dot_tail).nr;
}

inline std::int64_t tile_width(const ConvProblem& p, Isa isa, bool dot_tail = true) {
  return p.dtype == DType::f32 ? tile_width<float>(p, isa, dot_tail)
                               : tile_width<double>(p, isa, dot_tail);
}

// Output channel k of image n at the extended positions: dst[front + q(o)] = out[n][k][o],
// zeros everywhere else in dst[0, len). Gradients enter the shifted-layout algorithms this way.
template <typename T>
void build_output_ext(const ConvProblem& p, const Geometry& g, const View5& out, std::int64_t n,
                      std::int64_t k, std::int64_t front, std::int64_t len, T* dst) {
  std::fill(dst, dst + len, T(0));
  const std::int64_t s = out.stride[4];
  for (std::int64_t o0 = 0; o0 < p.out[0]; ++o0)
    for (std::int64_t o1 = 0; o1 < p.out[1]; ++o1) {
      T* row = dst + front + (o0 * g.Lq[1] + o1) * g.Lq[2];
      const T* src = out.at<const T>(n, k, o0, o1, 0);
      if (s == 1)
        std::memcpy(row, src, static_cast<std::size_t>(p.out[2]) * sizeof(T));
      else
        for (std::int64_t o2 = 0; o2 < p.out[2]; ++o2) row[o2] = src[o2 * s];
    }
}

// The input index along dimension j that position i of phase a reads, or -1 for a zero
// (zero padding, or past the padded extent).
inline std::int64_t phase_source(const ConvProblem& p, const Geometry& g, int j, std::int64_t i,
                                 std::int64_t a) {
  const std::int64_t pj = i * p.stride[j] + a;
  return pj < g.P[j] ? pad_source(pj - p.pad_before[j], p.in[j], p.padding_mode) : -1;
}

// What building the shifted copy of any channel needs, computed once per call (no divisions
// per row): where each row of each phase plane reads the input, and the interior and border
// positions along the last dimension.
struct ShiftedRows {
  static constexpr std::int64_t kZeroRow = INT64_MIN;
  std::vector<std::int64_t> row_off;   // [(a0·s1 + a1)·Lq0·Lq1 + i0·Lq1 + i1]: element offset
                                       // of the source row within a channel, or kZeroRow
  std::vector<std::int64_t> lo, hi;    // [a2]: positions [lo, hi) read the row directly
  std::vector<std::int64_t> first;     // [a2]: input index of position 0 (a2 − pad_before2)
  std::vector<std::int64_t> edge_src;  // [a2·Lq2 + i2]: input index along dim 2, or −1 (zero)
};

inline ShiftedRows shifted_rows(const ConvProblem& p, const Geometry& g, const View5& x) {
  ShiftedRows r;
  const std::int64_t rows = g.Lq[0] * g.Lq[1];
  r.row_off.resize(static_cast<std::size_t>(p.stride[0] * p.stride[1] * rows));
  for (std::int64_t a0 = 0; a0 < p.stride[0]; ++a0)
    for (std::int64_t a1 = 0; a1 < p.stride[1]; ++a1)
      for (std::int64_t i0 = 0; i0 < g.Lq[0]; ++i0)
        for (std::int64_t i1 = 0; i1 < g.Lq[1]; ++i1) {
          const std::int64_t sd = phase_source(p, g, 0, i0, a0);
          const std::int64_t sh = phase_source(p, g, 1, i1, a1);
          r.row_off[static_cast<std::size_t>((a0 * p.stride[1] + a1) * rows + i0 * g.Lq[1] + i1)] =
              sd < 0 || sh < 0 ? ShiftedRows::kZeroRow : sd * x.stride[2] + sh * x.stride[3];
        }
  const std::int64_t s2 = p.stride[2];
  for (std::int64_t a2 = 0; a2 < s2; ++a2) {
    const std::int64_t first = a2 - p.pad_before[2];
    const std::int64_t lo = std::min(g.Lq[2], first >= 0 ? 0 : (-first + s2 - 1) / s2);
    r.first.push_back(first);
    r.lo.push_back(lo);
    r.hi.push_back(std::max(lo, std::min(g.Lq[2], (p.in[2] - first + s2 - 1) / s2)));
    for (std::int64_t i2 = 0; i2 < g.Lq[2]; ++i2) r.edge_src.push_back(phase_source(p, g, 2, i2, a2));
  }
  return r;
}

// The active ISA's vectorised row copy (stride-2 de-interleave, gathers; see
// kernels/dwconv/dwconv_kernels.hpp).
template <typename T>
DwconvCopyRows<T> row_copy_kernel() {
  const DwconvKernels& k = dwconv_kernels(active_isa());
  if constexpr (std::is_same_v<T, float>)
    return k.f32.copy_rows;
  else
    return k.f64.copy_rows;
}

// Rewrites channel c of image n into stride phases (see the file comment).
template <typename T>
void build_shifted_channel(const ConvProblem& p, const Geometry& g, const ShiftedRows& rs,
                           const View5& x, std::int64_t n, std::int64_t c, T* dst) {
  const std::int64_t sx = x.stride[4], s2 = p.stride[2];
  // Strided interiors (stride-2 phases, strided views) of kVectorCopyMin or more values go
  // through the vector copy: as a scalar loop they were two thirds of mobilenetv2.dw112's
  // backward-weights time (0.50 -> 0.20 ms); shorter rows (resnet50.res5a_3x3s2's 7-value
  // phase rows) are copied faster inline.
  constexpr std::int64_t kVectorCopyMin = 12;
  const DwconvCopyRows<T> copy = s2 * sx == 1 ? nullptr : row_copy_kernel<T>();
  const std::int64_t rows = g.Lq[0] * g.Lq[1];
  const T* xc = x.at<const T>(n, c, 0, 0, 0);
  for (std::int64_t a0 = 0; a0 < p.stride[0]; ++a0)
    for (std::int64_t a1 = 0; a1 < p.stride[1]; ++a1)
      for (std::int64_t a2 = 0; a2 < s2; ++a2) {
        const std::int64_t phase = (a0 * p.stride[1] + a1) * s2 + a2;
        T* plane = dst + phase * g.plane;
        if (!g.phase_used[static_cast<std::size_t>(phase)]) {
          std::fill(plane, plane + g.plane, T(0));
          continue;
        }
        const std::int64_t* ro = rs.row_off.data() + (a0 * p.stride[1] + a1) * rows;
        const std::int64_t* es = rs.edge_src.data() + a2 * g.Lq[2];
        const auto ai = static_cast<std::size_t>(a2);
        const std::int64_t lo = rs.lo[ai], hi = rs.hi[ai], first = rs.first[ai];
        for (std::int64_t r = 0; r < rows; ++r) {
          T* row = plane + r * g.Lq[2];
          if (ro[r] == ShiftedRows::kZeroRow) {
            std::fill(row, row + g.Lq[2], T(0));
            continue;
          }
          const T* src = xc + ro[r];
          for (std::int64_t i2 = 0; i2 < lo; ++i2) row[i2] = es[i2] >= 0 ? src[es[i2] * sx] : T(0);
          const T* s0 = src + (lo * s2 + first) * sx;
          if (sx == 1 && s2 == 1) {
            std::memcpy(row + lo, s0, static_cast<std::size_t>(hi - lo) * sizeof(T));
          } else if (hi - lo >= kVectorCopyMin) {
            copy(1, hi - lo, s0, 0, s2 * sx, row + lo, 0, 1);
          } else {
            for (std::int64_t i2 = lo; i2 < hi; ++i2) row[i2] = s0[(i2 - lo) * s2 * sx];
          }
          for (std::int64_t i2 = hi; i2 < g.Lq[2]; ++i2)
            row[i2] = es[i2] >= 0 ? src[es[i2] * sx] : T(0);
        }
      }
  std::fill(dst + g.phases * g.plane, dst + g.cstride, T(0));
}

// Channels [c_begin, c_end) of image n, channel c at dst0 + c·cstride. Channels-last input
// (channels contiguous) is rewritten 16 channels at a time, so each input cache line is read
// once for 16 channels instead of once per channel; other layouts channel by channel.
template <typename T>
void build_shifted_channels(const ConvProblem& p, const Geometry& g, const ShiftedRows& rs,
                            const View5& x, std::int64_t n, std::int64_t c_begin,
                            std::int64_t c_end, T* dst0) {
  if (x.stride[1] != 1 || x.stride[4] == 1 || c_end - c_begin < 2) {
    for (std::int64_t c = c_begin; c < c_end; ++c)
      build_shifted_channel<T>(p, g, rs, x, n, c, dst0 + c * g.cstride);
    return;
  }
  constexpr std::int64_t kBlock = 16;
  const std::int64_t sx = x.stride[4], cs = g.cstride, rows = g.Lq[0] * g.Lq[1];
  for (std::int64_t cb = c_begin; cb < c_end; cb += kBlock) {
    const std::int64_t cn = std::min(kBlock, c_end - cb);
    T* base = dst0 + cb * cs;
    const T* xcb = x.at<const T>(n, cb, 0, 0, 0);
    for (std::int64_t a0 = 0; a0 < p.stride[0]; ++a0)
      for (std::int64_t a1 = 0; a1 < p.stride[1]; ++a1)
        for (std::int64_t a2 = 0; a2 < p.stride[2]; ++a2) {
          const std::int64_t phase = (a0 * p.stride[1] + a1) * p.stride[2] + a2;
          T* plane = base + phase * g.plane;
          if (!g.phase_used[static_cast<std::size_t>(phase)]) {
            for (std::int64_t c = 0; c < cn; ++c)
              std::fill(plane + c * cs, plane + c * cs + g.plane, T(0));
            continue;
          }
          const std::int64_t* ro = rs.row_off.data() + (a0 * p.stride[1] + a1) * rows;
          const std::int64_t* es = rs.edge_src.data() + a2 * g.Lq[2];
          for (std::int64_t r = 0; r < rows; ++r) {
            T* row = plane + r * g.Lq[2];
            if (ro[r] == ShiftedRows::kZeroRow) {
              for (std::int64_t c = 0; c < cn; ++c)
                std::fill(row + c * cs, row + c * cs + g.Lq[2], T(0));
              continue;
            }
            const T* src = xcb + ro[r];
            for (std::int64_t i2 = 0; i2 < g.Lq[2]; ++i2) {
              T* d = row + i2;
              if (es[i2] < 0) {
                for (std::int64_t c = 0; c < cn; ++c) d[c * cs] = T(0);
              } else {
                const T* sp = src + es[i2] * sx;
                for (std::int64_t c = 0; c < cn; ++c) d[c * cs] = sp[c];
              }
            }
          }
        }
    for (std::int64_t c = 0; c < cn; ++c)
      std::fill(base + c * cs + g.phases * g.plane, base + c * cs + cs, T(0));
  }
}

}  // namespace convkit::detail
