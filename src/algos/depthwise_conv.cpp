// src/algos/depthwise_conv.cpp — forward convolution when every group has one input channel
// (depthwise, with any channel multiplier).
//
// One work item is one (image, input channel): the channel is rewritten into the stride-phase
// layout (src/algos/shifted_layout.hpp) in the thread's own scratch, each of its output
// channels is computed over all extended positions by the depthwise micro-kernel (tap weights
// in registers, bias as the initial sum), and the real outputs are copied out. With zero
// padding the layout's borders are zeroed once per thread and each item only copies its input
// rows in (vectorised row copies: on small planes the copies outweigh the
// multiply-adds; stride phases are split and channels-last rows gathered by the same vector
// copies). Nothing is shared between items, so results do not depend on the thread count.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/depthwise_conv.hpp"
#include "algos/position_major.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace convkit::detail {
namespace {

std::int64_t block_of(const ConvProblem& p, Isa isa) {
  return p.dtype == DType::f32 ? dwconv_kernel<float>(isa).block : dwconv_kernel<double>(isa).block;
}

// Elements the micro-kernel may read past the shifted copy (one vector of any ISA and dtype).
constexpr std::int64_t kKernelSlack = 16;

struct State {
  Isa isa;
  Geometry geo;
  std::int64_t len;  // extended positions rounded up to the kernel's block
};

// Whether channel planes can be laid out by copying input rows into a layout whose borders
// stay zero: zero padding (or none) and no cropping (negative padding).
bool rows_copy_in(const ConvProblem& p) {
  bool padded = false;
  for (int j = 0; j < 3; ++j) {
    if (p.pad_before[j] < 0 || p.pad_after[j] < 0) return false;
    padded = padded || p.pad_before[j] != 0 || p.pad_after[j] != 0;
  }
  return !padded || p.padding_mode == PaddingMode::zeros;
}

// Positions [lo, hi) of a phase-plane axis (stride s, phase a, leading padding pb, input size
// in, lq positions) that read the input; the others read padding.
void interior(std::int64_t s, std::int64_t a, std::int64_t pb, std::int64_t in, std::int64_t lq,
              std::int64_t* lo, std::int64_t* hi) {
  *lo = std::min(lq, pb - a <= 0 ? std::int64_t{0} : (pb - a + s - 1) / s);
  *hi = std::max(*lo, std::min(lq, (in + pb - a + s - 1) / s));
}

// One row copy of a channel's interior into the phase planes (the zero borders are already in
// place): `rows` rows of `len0` values from the channel's element offset `src` (rows
// `src_stride` apart, values `src_step` apart) to `dst0` in the shifted copy, rows Lq2 apart;
// or, `split`, the even source values (len0 of them) to dst0 and the odd ones (len1) to dst1.
struct CopyInOp {
  bool split;
  std::int64_t rows, len0, len1, src, src_stride, src_step, dst0, dst1;
};

// The copies of one channel, the same for every channel of a call (planned once per call:
// per channel, the interior bounds cost divisions that outweighed the copies on 14×14
// planes): one per (phase, depth) covering every row that reads the input. At stride 2
// along rows (unit element step) both phases of a row come from one pass over it (split),
// when their source columns interleave (mobilenetv2.dw112: the copy was 45 % of the layer).
std::vector<CopyInOp> plan_copy_in(const ConvProblem& p, const Geometry& g, const View5& x) {
  std::vector<CopyInOp> ops;
  const auto src_at = [&](std::int64_t d, std::int64_t h, std::int64_t w) {
    return d * x.stride[2] + h * x.stride[3] + w * x.stride[4];
  };
  for (std::int64_t a0 = 0; a0 < p.stride[0]; ++a0)
    for (std::int64_t a1 = 0; a1 < p.stride[1]; ++a1) {
      std::int64_t lo[3], hi[3];
      const std::int64_t a[2] = {a0, a1};
      for (int j = 0; j < 2; ++j) interior(p.stride[j], a[j], p.pad_before[j], p.in[j], g.Lq[j], &lo[j], &hi[j]);
      const std::int64_t ph0 = (a0 * p.stride[1] + a1) * p.stride[2];
      if (p.stride[2] == 2 && x.stride[4] == 1 && g.phase_used[static_cast<std::size_t>(ph0)] &&
          g.phase_used[static_cast<std::size_t>(ph0 + 1)]) {
        std::int64_t lo2[2], hi2[2];
        for (int e = 0; e < 2; ++e) interior(2, e, p.pad_before[2], p.in[2], g.Lq[2], &lo2[e], &hi2[e]);
        const std::int64_t col0 = 2 * lo2[0] - p.pad_before[2], col1 = 2 * lo2[1] + 1 - p.pad_before[2];
        if (lo2[0] < hi2[0] && lo2[1] < hi2[1] && (col1 == col0 + 1 || col0 == col1 + 1)) {
          const int first = col0 < col1 ? 0 : 1;  // the phase of the even source values
          for (std::int64_t i0 = lo[0]; i0 < hi[0] && lo[1] < hi[1]; ++i0) {
            const std::int64_t row = (i0 * g.Lq[1] + lo[1]) * g.Lq[2];
            ops.push_back({true, hi[1] - lo[1], hi2[first] - lo2[first], hi2[1 - first] - lo2[1 - first],
                           src_at(i0 * p.stride[0] + a0 - p.pad_before[0],
                                  lo[1] * p.stride[1] + a1 - p.pad_before[1], std::min(col0, col1)),
                           p.stride[1] * x.stride[3], 1,
                           (ph0 + first) * g.plane + row + lo2[first],
                           (ph0 + 1 - first) * g.plane + row + lo2[1 - first]});
          }
          continue;
        }
      }
      for (std::int64_t a2 = 0; a2 < p.stride[2]; ++a2) {
        const std::int64_t phase = ph0 + a2;
        if (!g.phase_used[static_cast<std::size_t>(phase)]) continue;
        std::int64_t lo2, hi2;
        interior(p.stride[2], a2, p.pad_before[2], p.in[2], g.Lq[2], &lo2, &hi2);
        if (lo[1] == hi[1] || lo2 == hi2) continue;
        for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0)
          ops.push_back({false, hi[1] - lo[1], hi2 - lo2, 0,
                         src_at(i0 * p.stride[0] + a0 - p.pad_before[0],
                                lo[1] * p.stride[1] + a1 - p.pad_before[1],
                                lo2 * p.stride[2] + a2 - p.pad_before[2]),
                         p.stride[1] * x.stride[3], p.stride[2] * x.stride[4],
                         phase * g.plane + (i0 * g.Lq[1] + lo[1]) * g.Lq[2] + lo2, 0});
      }
    }
  return ops;
}

template <typename T>
void copy_channel_in(const DwconvKernel<T>& uk, const std::vector<CopyInOp>& ops, std::int64_t lq2,
                     const T* xc, T* dst) {
  for (const CopyInOp& op : ops) {
    if (op.split)
      uk.split_rows(op.rows, op.len0, op.len1, xc + op.src, op.src_stride, dst + op.dst0,
                    dst + op.dst1, lq2);
    else
      uk.copy_rows(op.rows, op.len0, xc + op.src, op.src_stride, op.src_step, dst + op.dst0, lq2, 1);
  }
}

// The general path's per-call data: one work item is one (image, input channel), run on the
// caller's thread in scratch of scratch_elems() values (begin() once per thread and call,
// then run() per item).
template <typename T>
class PlaneItems {
 public:
  PlaneItems(const ConvProblem& p, const State& st, const ConvArgs& a)
      : p_(p), st_(st), a_(a), uk_(dwconv_kernel<T>(st.isa)), fast_in_(rows_copy_in(p)),
        rows_(fast_in_ ? ShiftedRows{} : shifted_rows(p, st.geo, a.x)),
        copy_ops_(fast_in_ ? plan_copy_in(p, st.geo, a.x) : std::vector<CopyInOp>{}) {}

  // The channel's shifted copy (and a vector the kernel may read past it), one output row of
  // extended positions, weights.
  std::int64_t scratch_elems() const {
    return st_.geo.cstride + kKernelSlack + st_.len + p_.kernel_spatial();
  }

  // Row copies overwrite only the interior, so the zero borders are written once per thread.
  void begin(T* xs) const {
    std::fill(fast_in_ ? xs : xs + st_.geo.cstride, xs + st_.geo.cstride + kKernelSlack, T(0));
  }

  void run(std::int64_t item, T* xs) const {
    const Geometry& g = st_.geo;
    const ConvArgs& a = a_;
    T* out = xs + g.cstride + kKernelSlack;
    T* w = out + st_.len;
    const std::int64_t Kg = p_.out_channels_per_group(), taps = p_.kernel_spatial();
    const std::int64_t n = item / p_.in_channels, c = item % p_.in_channels;
    if (fast_in_)
      copy_channel_in<T>(uk_, copy_ops_, g.Lq[2], a.x.at<const T>(n, c, 0, 0, 0), xs);
    else
      build_shifted_channel<T>(p_, g, rows_, a.x, n, c, xs);
    for (std::int64_t kk = 0; kk < Kg; ++kk) {
      const std::int64_t k = c * Kg + kk;
      const T* wk = a.w.at<const T>(k, 0, 0, 0, 0);
      std::int64_t t = 0;
      for (std::int64_t t0 = 0; t0 < p_.kernel[0]; ++t0)
        for (std::int64_t t1 = 0; t1 < p_.kernel[1]; ++t1)
          for (std::int64_t t2 = 0; t2 < p_.kernel[2]; ++t2)
            w[t++] = wk[t0 * a.w.stride[2] + t1 * a.w.stride[3] + t2 * a.w.stride[4]];
      const T bias = a.bias ? *a.bias->at<const T>(k) : T(0);
      uk_.run(st_.len, taps, g.taps.data(), xs, w, bias, a.relu, out);
      for (std::int64_t o0 = 0; o0 < p_.out[0]; ++o0)
        uk_.copy_rows(p_.out[1], p_.out[2], out + o0 * g.Lq[1] * g.Lq[2], g.Lq[2], 1,
                      a.y.at<T>(n, k, o0, 0, 0), a.y.stride[3], a.y.stride[4]);
    }
  }

 private:
  const ConvProblem& p_;
  const State& st_;
  const ConvArgs& a_;
  const DwconvKernel<T>& uk_;
  bool fast_in_;
  ShiftedRows rows_;
  std::vector<CopyInOp> copy_ops_;
};

template <typename T>
void run_forward(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const PlaneItems<T> items(p, st, a);
  parallel_for(p.batch * p.in_channels, [&](std::int64_t begin, std::int64_t end, int) {
    T* xs = static_cast<T*>(thread_scratch(static_cast<std::size_t>(items.scratch_elems()) * sizeof(T)));
    items.begin(xs);
    for (std::int64_t item = begin; item < end; ++item) items.run(item, xs);
  });
}

// ---- channels-last (NHWC) path: vectors over channels -------------------------------------

constexpr std::int64_t kClChunk = 64;  // channels per work item (a multiple of every lane count)

// Whether the channels-last kernel runs: multiplier 1 and channel-contiguous views.
bool channels_last_path(const ConvProblem& p, const ConvArgs& a) {
  return p.layout == Layout::channels_last && p.out_channels_per_group() == 1 && a.x.stride[1] == 1 &&
         a.y.stride[1] == 1;
}

std::size_t channels_last_scratch_bytes(const ConvProblem& p) {
  const std::int64_t taps = p.kernel_spatial();
  return static_cast<std::size_t>(kClChunk * (taps + 1) + 16) * dtype_size(p.dtype) +
         static_cast<std::size_t>(4 * taps) * sizeof(void*);
}

// Output rows [r_lo, r_hi) of image n for channels [c0, c0 + cn) of the channels-last views x
// and y, with the weights and bias of channels [wc0, wc0 + cn). The chunk's weights are packed
// [tap][channel] once; each output row gathers the input rows its window reads (padding rows
// drop out), runs the interior positions (every tap inside the row) in one kernel call and
// each border position with one source per tap (any padding mode). mem: the thread's
// channels_last_scratch_bytes(p).
template <typename T>
void channels_last_rows(const ConvProblem& p, const DwconvKernel<T>& uk, const ConvArgs& a,
                        const View5& x, const View5& y, std::int64_t n, std::int64_t c0,
                        std::int64_t wc0, std::int64_t cn, std::int64_t r_lo, std::int64_t r_hi,
                        char* mem) {
  const std::int64_t KH = p.kernel[1], KW = p.kernel[2];
  const std::int64_t taps = p.kernel[0] * KH * KW;
  const std::int64_t W = p.in[2], sw = p.stride[2], dw = p.dilation[2], pw = p.pad_before[2];
  const std::int64_t xsw = x.stride[4];
  // Output positions whose whole window lies inside the row: [lo, hi).
  const std::int64_t lo = std::min(p.out[2], pw <= 0 ? std::int64_t{0} : (pw + sw - 1) / sw);
  const std::int64_t last_num = W - 1 + pw - (KW - 1) * dw;
  const std::int64_t hi = last_num < 0 ? lo : std::max(lo, std::min(p.out[2], last_num / sw + 1));
  const T** xrow = reinterpret_cast<const T**>(mem);
  const T** wrow = xrow + taps;
  const T** xsrc = wrow + taps;
  const T** wsrc = xsrc + taps;
  T* wp = reinterpret_cast<T*>(wsrc + taps);
  T* bias = wp + kClChunk * taps;
  pack_position_major_weights<T>(uk, a.w, wc0, cn, p.kernel, wp, kClChunk);
  for (std::int64_t c = 0; c < cn; ++c) bias[c] = a.bias ? *a.bias->at<const T>(wc0 + c) : T(0);
  DwconvClArgs<T> args{};
  args.channels = cn;
  args.wstride = kClChunk;
  args.out_step = y.stride[4];
  args.bias = bias;
  args.relu = a.relu;
  for (std::int64_t r = r_lo; r < r_hi; ++r) {
    const std::int64_t od = r / p.out[1], oh = r % p.out[1];
    std::int64_t nsrc = 0;
    for (std::int64_t kd = 0; kd < p.kernel[0]; ++kd) {
      const std::int64_t id = pad_source(od * p.stride[0] + kd * p.dilation[0] - p.pad_before[0], p.in[0], p.padding_mode);
      if (id < 0) continue;
      for (std::int64_t kh = 0; kh < KH; ++kh) {
        const std::int64_t ih = pad_source(oh * p.stride[1] + kh * p.dilation[1] - p.pad_before[1], p.in[1], p.padding_mode);
        if (ih < 0) continue;
        xrow[nsrc] = x.at<const T>(n, c0, id, ih, 0);
        wrow[nsrc++] = wp + (kd * KH + kh) * KW * kClChunk;
      }
    }
    T* yrow = y.at<T>(n, c0, od, oh, 0);
    if (hi > lo) {
      for (std::int64_t q = 0; q < nsrc; ++q) xsrc[q] = xrow[q] + (lo * sw - pw) * xsw;
      args.npos = hi - lo;
      args.nsrc = nsrc;
      args.kw = KW;
      args.xsrc = xsrc;
      args.wsrc = wrow;
      args.pos_step = sw * xsw;
      args.kw_step = KW > 1 ? dw * xsw : 0;  // (inside the row; a lone tap's dilation may be huge)
      args.out = yrow + lo * y.stride[4];
      uk.cl_row(args);
    }
    for (std::int64_t ow = 0; ow < p.out[2]; ++ow) {
      if (ow == lo && hi > lo) ow = hi;
      if (ow >= p.out[2]) break;
      std::int64_t m = 0;
      for (std::int64_t q = 0; q < nsrc; ++q)
        for (std::int64_t kw = 0; kw < KW; ++kw) {
          const std::int64_t iw = pad_source(ow * sw - pw + kw * dw, W, p.padding_mode);
          if (iw < 0) continue;
          xsrc[m] = xrow[q] + iw * xsw;
          wsrc[m++] = wrow[q] + kw * kClChunk;
        }
      args.npos = 1;
      args.nsrc = m;
      args.kw = 1;
      args.xsrc = xsrc;
      args.wsrc = wsrc;
      args.pos_step = 0;
      args.kw_step = 0;
      args.out = yrow + ow * y.stride[4];
      uk.cl_row(args);
    }
  }
}

// One work item: one image, one chunk of kClChunk channels, one group of output rows.
template <typename T>
void run_channels_last(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const DwconvKernel<T>& uk = dwconv_kernel<T>(st.isa);
  const std::int64_t C = p.in_channels;
  const std::int64_t nchunks = (C + kClChunk - 1) / kClChunk;
  const std::int64_t orows = p.out[0] * p.out[1];
  const std::int64_t per_image = std::max<std::int64_t>(1, p.batch * nchunks);
  const std::int64_t groups =
      std::clamp<std::int64_t>((4 * current_num_threads() + per_image - 1) / per_image, 1, std::max<std::int64_t>(orows, 1));
  parallel_for(p.batch * nchunks * groups, [&](std::int64_t begin, std::int64_t end, int) {
    char* mem = static_cast<char*>(thread_scratch(channels_last_scratch_bytes(p)));
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t g = item % groups, chunk = (item / groups) % nchunks, n = item / (groups * nchunks);
      const std::int64_t c0 = chunk * kClChunk, cn = std::min(kClChunk, C - c0);
      channels_last_rows<T>(p, uk, a, a.x, a.y, n, c0, c0, cn, g * orows / groups,
                            (g + 1) * orows / groups, mem);
    }
  });
}

// ---- small NCHW planes through the channels-last kernel -----------------------------------

// Planes up to this many input positions: vectors over positions waste most of their lanes on
// a 7x7 plane and the per-row copies in and out outweigh the multiply-adds there. Measured at 2
// threads against the position-vector path: mobilenetv2.dw7 forward 0.031 -> 0.020 ms,
// backward-data (through phased_bwd_data) 0.053 -> 0.028; dw14 even (0.035 / 0.038); dw28
// 2x slower (three 64-channel items for two threads, each with a large transposed plane).
constexpr std::int64_t kSmallPlane = 128;

bool small_planes_path(const ConvProblem& p, const ConvArgs& a) {
  return p.layout == Layout::channels_first && p.out_channels_per_group() == 1 &&
         p.in_spatial() <= kSmallPlane && a.x.dense_from(2) && a.y.dense_from(2);
}

std::size_t small_planes_scratch_bytes(const ConvProblem& p) {
  return channels_last_scratch_bytes(p) +
         static_cast<std::size_t>((p.in_spatial() + p.out_spatial()) * kClChunk) * dtype_size(p.dtype) + 64;
}

// Each item (image, chunk of kClChunk channels) transposes the chunk's input planes to
// position-major order in the thread's scratch, runs channels_last_rows there (vectors over
// channels, bias and ReLU fused) and transposes the result back into y's planes.
template <typename T>
void run_small_planes(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const DwconvKernel<T>& uk = dwconv_kernel<T>(st.isa);
  const std::int64_t C = p.in_channels, nchunks = (C + kClChunk - 1) / kClChunk;
  const std::int64_t in_sp = p.in_spatial(), out_sp = p.out_spatial();
  parallel_for(p.batch * nchunks, [&](std::int64_t begin, std::int64_t end, int) {
    char* mem = static_cast<char*>(thread_scratch(small_planes_scratch_bytes(p)));
    T* xs = reinterpret_cast<T*>(mem + (channels_last_scratch_bytes(p) + 63) / 64 * 64);
    T* ys = xs + in_sp * kClChunk;
    View5 xv, yv;
    xv.base = reinterpret_cast<char*>(xs);
    yv.base = reinterpret_cast<char*>(ys);
    for (int j = 0; j < 3; ++j) xv.size[2 + j] = p.in[j], yv.size[2 + j] = p.out[j];
    xv.stride[1] = yv.stride[1] = 1;
    xv.stride[4] = yv.stride[4] = kClChunk;
    xv.stride[3] = p.in[2] * kClChunk, yv.stride[3] = p.out[2] * kClChunk;
    xv.stride[2] = p.in[1] * xv.stride[3], yv.stride[2] = p.out[1] * yv.stride[3];
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t n = item / nchunks, c0 = item % nchunks * kClChunk, cn = std::min(kClChunk, C - c0);
      xv.size[1] = yv.size[1] = cn;
      uk.transpose(cn, in_sp, a.x.at<const T>(n, c0, 0, 0, 0), a.x.stride[1], xs, kClChunk);
      channels_last_rows<T>(p, uk, a, xv, yv, 0, 0, c0, cn, 0, p.out[0] * p.out[1], mem);
      uk.transpose(out_sp, cn, ys, kClChunk, a.y.at<T>(n, c0, 0, 0, 0), a.y.stride[1]);
    }
  });
}

// ---- small NCHW planes with zero padding: a zero-bordered position-major buffer ----------

// Padded extents up to this many positions take the bordered buffer (the padding, not only
// the input, is copied per chunk).
constexpr std::int64_t kMaxPaddedSmallPlane = 1024;

bool padded_small_planes_path(const ConvProblem& p) {
  if (!rows_copy_in(p)) return false;
  std::int64_t padded = 1;
  for (int j = 0; j < 3; ++j) {
    padded *= p.in[j] + p.pad_before[j] + p.pad_after[j];
    if (padded > kMaxPaddedSmallPlane) return false;
  }
  return true;
}

std::size_t padded_small_planes_scratch_bytes(const ConvProblem& p) {
  std::int64_t padded = 1;
  for (int j = 0; j < 3; ++j) padded *= p.in[j] + p.pad_before[j] + p.pad_after[j];
  const std::int64_t elems = (padded + p.out_spatial() + p.kernel_spatial() + 1 + p.in_spatial()) * kClChunk;
  return static_cast<std::size_t>(elems) * dtype_size(p.dtype) +
         static_cast<std::size_t>(2 * p.kernel[0] * p.kernel[1]) * sizeof(void*) + 128;
}

// As run_small_planes, but the chunk's input is transposed into a zero-bordered buffer of the
// padded extent, so every output row is one kernel call over all its positions with every
// (kd, kh) source row and all KW taps (no border position runs alone with one source per tap),
// and the chunk's weights are packed by a transpose. Lanes past a short chunk's channels hold
// stale values; their outputs are computed and not copied out. Measured A/B at 2 threads,
// mobilenetv2.dw7 forward: 0.019 -> 0.016 ms (the bordered buffer alone: no change; the
// weight transpose: the gain). Not for dw14's 196 positions: 0.034-0.042 -> 0.044-0.053 ms.
template <typename T>
void run_small_planes_padded(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const DwconvKernel<T>& uk = dwconv_kernel<T>(st.isa);
  constexpr std::int64_t CH = kClChunk;
  const std::int64_t C = p.in_channels, nchunks = (C + CH - 1) / CH;
  const std::int64_t lanes = uk.lanes;
  std::int64_t P[3], s[3], d[3];
  for (int j = 0; j < 3; ++j) {
    P[j] = p.in[j] + p.pad_before[j] + p.pad_after[j];
    s[j] = p.out[j] > 1 ? p.stride[j] : 0;      // (a stride with one output, a dilation with
    d[j] = p.kernel[j] > 1 ? p.dilation[j] : 0;  // one tap are never applied: may be huge)
  }
  const std::int64_t KD = p.kernel[0], KH = p.kernel[1], KW = p.kernel[2];
  const std::int64_t taps = KD * KH * KW, xlen = P[0] * P[1] * P[2] * CH;
  const std::int64_t out_sp = p.out_spatial(), ylen = out_sp * CH;
  parallel_for(p.batch * nchunks, [&](std::int64_t begin, std::int64_t end, int) {
    char* mem = static_cast<char*>(thread_scratch(padded_small_planes_scratch_bytes(p)));
    const T** xsrc = reinterpret_cast<const T**>(mem);
    const T** wsrc = xsrc + KD * KH;
    T* xs = reinterpret_cast<T*>(mem + (static_cast<std::size_t>(2 * KD * KH) * sizeof(void*) + 63) / 64 * 64);
    T* ys = xs + xlen;
    T* wp = ys + ylen;
    T* bias = wp + taps * CH;
    T* stage = bias + CH;
    std::fill(xs, xs + xlen, T(0));  // the borders; interiors are overwritten per chunk
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t n = item / nchunks, c0 = item % nchunks * CH, cn = std::min(CH, C - c0);
      const std::int64_t cvec = (cn + lanes - 1) / lanes * lanes;
      gather_position_major<T>(uk, a.x, n, c0, cn, p.in,
                               xs + ((p.pad_before[0] * P[1] + p.pad_before[1]) * P[2] + p.pad_before[2]) * CH,
                               P[1], P[2] * CH, CH, stage);
      // The chunk's weights tap-major, wp[t·CH + c] (zeros past cn), and its bias.
      pack_position_major_weights<T>(uk, a.w, c0, cn, p.kernel, wp, CH);
      for (std::int64_t t = 0; t < taps && cn < cvec; ++t) std::fill(wp + t * CH + cn, wp + t * CH + cvec, T(0));
      for (std::int64_t c = 0; c < cvec; ++c) bias[c] = c < cn && a.bias ? *a.bias->at<const T>(c0 + c) : T(0);
      for (std::int64_t r = 0; r < KD * KH; ++r) wsrc[r] = wp + r * KW * CH;
      DwconvClArgs<T> args{};
      args.npos = p.out[2];
      args.channels = cvec;
      args.nsrc = KD * KH;
      args.kw = KW;
      args.xsrc = xsrc;
      args.wsrc = wsrc;
      args.pos_step = s[2] * CH;
      args.kw_step = d[2] * CH;
      args.wstride = CH;
      args.out_step = CH;
      args.bias = bias;
      args.relu = a.relu;
      for (std::int64_t o0 = 0; o0 < p.out[0]; ++o0)
        for (std::int64_t o1 = 0; o1 < p.out[1]; ++o1) {
          for (std::int64_t kd = 0; kd < KD; ++kd)
            for (std::int64_t kh = 0; kh < KH; ++kh)
              xsrc[kd * KH + kh] = xs + ((o0 * s[0] + kd * d[0]) * P[1] + o1 * s[1] + kh * d[1]) * P[2] * CH;
          args.out = ys + (o0 * p.out[1] + o1) * p.out[2] * CH;
          uk.cl_row(args);
        }
      uk.transpose(out_sp, cn, ys, CH, a.y.at<T>(n, c0, 0, 0, 0), a.y.stride[1]);
    }
  });
}

class DepthwiseConv final : public Algorithm {
 public:
  const char* name() const override { return "depthwise"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::forward) return "forward only";
    if (p.in_channels_per_group() != 1)
      return "groups have " + std::to_string(p.in_channels_per_group()) +
             " input channels (depthwise needs 1)";
    return shifted_layout_declines(p);
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    auto st = std::make_shared<State>();
    st->isa = active_isa();
    const std::int64_t block = block_of(p, st->isa);
    st->geo = geometry(p, block);
    st->len = (st->geo.qext + block - 1) / block * block;
    return st;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    const bool cl = p.layout == Layout::channels_last && p.out_channels_per_group() == 1;
    const char* kname = p.dtype == DType::f32 ? (cl ? dwconv_kernel<float>(st.isa).cl_name : dwconv_kernel<float>(st.isa).name)
                                              : (cl ? dwconv_kernel<double>(st.isa).cl_name : dwconv_kernel<double>(st.isa).name);
    return describe_kernel(kname, st.isa);
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    const std::int64_t block = block_of(p, active_isa());
    const Geometry g = geometry(p, block);
    return std::max({static_cast<std::size_t>(g.cstride + kKernelSlack + g.qext + block +
                                              p.kernel_spatial()) *
                         dtype_size(p.dtype),
                     channels_last_scratch_bytes(p),
                     p.in_spatial() <= kSmallPlane ? small_planes_scratch_bytes(p) : std::size_t{0},
                     p.in_spatial() <= kSmallPlane && padded_small_planes_path(p)
                         ? padded_small_planes_scratch_bytes(p)
                         : std::size_t{0}});
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    const bool cl = channels_last_path(p, a);
    const bool small = !cl && small_planes_path(p, a);
    with_dtype(p.dtype, [&](auto tag) {
      if (cl)
        run_channels_last<decltype(tag)>(p, st, a);
      else if (small && padded_small_planes_path(p))
        run_small_planes_padded<decltype(tag)>(p, st, a);
      else if (small)
        run_small_planes<decltype(tag)>(p, st, a);
      else
        run_forward<decltype(tag)>(p, st, a);
    });
  }
};

}  // namespace

const Algorithm& depthwise_conv_algorithm() {
  static const DepthwiseConv algo;
  return algo;
}

struct DepthwisePlanes::Impl {
  std::unique_ptr<PlaneItems<float>> f32;
  std::unique_ptr<PlaneItems<double>> f64;
  std::size_t bytes = 0;
};

bool DepthwisePlanes::serves(const ConvProblem& p, const ConvArgs& a) {
  return !channels_last_path(p, a) && !small_planes_path(p, a);
}

DepthwisePlanes::DepthwisePlanes(const ConvProblem& p, const void* state, const ConvArgs& a)
    : impl_(std::make_unique<Impl>()) {
  const State& st = *static_cast<const State*>(state);
  if (p.dtype == DType::f32) {
    impl_->f32 = std::make_unique<PlaneItems<float>>(p, st, a);
    impl_->bytes = static_cast<std::size_t>(impl_->f32->scratch_elems()) * sizeof(float);
  } else {
    impl_->f64 = std::make_unique<PlaneItems<double>>(p, st, a);
    impl_->bytes = static_cast<std::size_t>(impl_->f64->scratch_elems()) * sizeof(double);
  }
  impl_->bytes = (impl_->bytes + 63) / 64 * 64;
}

DepthwisePlanes::~DepthwisePlanes() = default;

std::size_t DepthwisePlanes::scratch_bytes() const { return impl_->bytes; }

void DepthwisePlanes::begin(void* scratch) const {
  if (impl_->f32)
    impl_->f32->begin(static_cast<float*>(scratch));
  else
    impl_->f64->begin(static_cast<double*>(scratch));
}

void DepthwisePlanes::run(std::int64_t item, void* scratch) const {
  if (impl_->f32)
    impl_->f32->run(item, static_cast<float*>(scratch));
  else
    impl_->f64->run(item, static_cast<double*>(scratch));
}

}  // namespace convkit::detail
