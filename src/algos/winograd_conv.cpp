// src/algos/winograd_conv.cpp — 3×3 stride-1 float32 convolution (forward, backward-data) by
// Winograd F(4×4, 3×3).
//
// Each 4×4 tile of outputs comes from a 6×6 patch of the padded input: with the transforms of
// src/kernels/winograd, Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A, so the 36 element-wise
// products summed over input channels are 36 GEMMs of (K × C) transformed filters by
// (C × tiles) transformed inputs: 36 multiply-adds per tile and channel pair instead of the
// 144 of direct summation (4× fewer).
//
// Steps of one call:
//   1. the filters are transformed and packed ([k-group][e][c][mr]): once per call into the
//      caller's shared scratch when many blocks of tiles share them, else by each work item,
//      filter block by filter block, in L2 (or once by ConvPlan::pack_weights);
//   2. tiles (image, tile row, tile column) are cut into blocks; a work item is (block, range
//      of filter blocks): it copies the six input rows a tile row reads into padded lines
//      (any padding mode and layout is resolved there), transforms them, runs the 36 GEMMs for
//      its output channels and transforms the products back, with bias and ReLU, into y.
// Dilation d runs as d² dense phases, each one more image of the batch; backward-data as the
// forward convolution of dy with the flipped, transposed filters.
// Every output is the same sequence of operations whatever the blocking and thread count, so
// results are bitwise identical for any number of threads.
//
// Accuracy: the transforms are not exact in floating point (their coefficients reach 8 and
// 1/24), so this algorithm is "approximate": auto may choose it unless the plan options ask for
// direct summation only, and its error bound is documented in conv.hpp and tested. NaN and
// ±Inf do not propagate tile-locally through the transforms (one Inf would spoil a whole tile),
// so an input or weight that is not finite, or an output that overflows, makes the call run
// the direct algorithm instead, which gives exactly the direct semantics.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/direct_conv.hpp"
#include "algos/direct_conv_backward_data.hpp"
#include "algos/direct_conv_backward_weights.hpp"
#include "algos/gemm_conv_backward_weights.hpp"
#include "algos/outer_bwd_weights.hpp"
#include "algos/phased_bwd_data.hpp"
#include "algos/shifted_layout.hpp"
#include "algos/reference_algorithm.hpp"
#include "algos/winograd_conv.hpp"
#include "core/arena.hpp"
#include "core/cpu_features.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"
#include "kernels/scan/finite_kernels.hpp"
#include "kernels/winograd/wino_kernels.hpp"

namespace convkit::detail {
namespace {

constexpr int kElems = 36;  // 6×6 transformed elements
// Transformed input of one block of tiles (all channels, 36 elements). The GEMMs keep one
// element's slice (C × tiles) in L2 across the output channels; the whole block stays in L3.
constexpr std::size_t kBlockBytes = 2 * 1024 * 1024;

struct State {
  Isa isa;
  const WinoKernels* kern;
  std::int64_t Pt, Qt, T;  // tile rows and columns per image, tiles in the batch
  // Narrow images pack several tile rows into one vector of tiles: tile row u of a group
  // takes lanes [u·Qp, u·Qp + Qt) and one spare lane (Qp = Qt + 1, so that the rows' padded
  // lines, 4·Qt + 2 columns, fit side by side 4·Qp apart); wide images take one tile row per
  // vector (Qp = Qt). Transformed inputs and products are indexed by slot: (n, ti)·Qp + tj.
  bool pack;
  std::int64_t Qp, S;      // slots per tile row, slots in the batch
  std::int64_t seg_rows;   // tile rows per vector when packing
  std::int64_t Kp;         // output channels rounded up to whole vectors (filter blocks)
  std::int64_t tb_max;     // most slots in a block (packed: whole tile rows)
  std::int64_t width;      // padded line length: 4·Qt + 2 input columns, then slack
  // Dilation d: the outputs of phase (α, β) (rows α + d·i, columns β + d·j) form a dense 3×3
  // convolution of the padded input's rows α + d·i and columns β + d·j, run as one more
  // "image" of the batch: image m is (n, α, β) = (m / d², m % d² / d, m % d).
  std::int64_t dh, dw;  // dilation
  // Line column j of column phase β reads input column col_src[β][j] (−1: zero).
  std::vector<std::vector<std::int64_t>> col_src;
  bool zero_pad;  // zeros padding, no dilation: columns [lo, hi) are one input run
  std::int64_t lo, hi;
};

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
std::int64_t round_up(std::int64_t a, std::int64_t b) { return ceil_div(a, b) * b; }

// Distance between the 36 element planes of a buffer of `floats` per plane: a whole number of
// 4 KB pages plus one cache line, so the transforms' 36 streams fall in 36 different L1 sets
// (planes a multiple of 4 KB apart all map to the same few sets).
std::int64_t plane_stride(std::int64_t floats) { return round_up(floats, 1024) + 16; }

std::int64_t tiles_per_block_max(const WinoKernels& k, std::int64_t C) {
  const std::int64_t nr = k.nv * k.lanes;
  const std::int64_t fit = static_cast<std::int64_t>(kBlockBytes / (kElems * sizeof(float))) / C;
  return std::max(nr, fit / nr * nr);
}

// Row length of the transformed inputs and products of a block of tb tiles: whole GEMM tiles,
// room for a transform's full-vector store past the last tile, 64-byte rows.
std::int64_t row_length(const WinoKernels& k, std::int64_t tb) {
  return round_up(round_up(tb, k.nv * k.lanes) + k.lanes, 16);
}

// Floats of one thread's scratch: transformed inputs, products, six lines, an output tile row.
std::size_t worker_floats(const ConvProblem& p, const State& st) {
  const std::int64_t ldv = row_length(*st.kern, st.tb_max);
  const std::int64_t L = st.kern->lanes;
  return static_cast<std::size_t>(
      kElems * (plane_stride(p.in_channels * ldv) + plane_stride(L * ldv)) + 8 * st.width +
      16 * L + L / st.kern->mr * kElems * plane_stride(p.in_channels * st.kern->mr) +
      6 * p.in_channels * st.width + 16 * L * L);
}

std::size_t filter_floats(const ConvProblem& p, const State& st) {
  return static_cast<std::size_t>(kElems * (st.Kp / st.kern->mr) *
                                  plane_stride(p.in_channels * st.kern->mr));
}

State make_state(const ConvProblem& p) {
  State st;
  st.isa = active_isa();
  st.kern = &wino_kernels(st.isa);
  st.dh = p.dilation[1];
  st.dw = p.dilation[2];
  // Tile rows and columns of the largest phase (the others clip theirs).
  st.Pt = ceil_div(ceil_div(p.out[1], st.dh), 4);
  st.Qt = ceil_div(ceil_div(p.out[2], st.dw), 4);
  const std::int64_t images = p.batch * st.dh * st.dw;
  st.T = images * st.Pt * st.Qt;
  // Packing pays when it does not add a vector of GEMM columns per image (14×14: 16 tiles are
  // one vector, 20 slots two; 28×28: 49 tiles and 56 slots are both four).
  const std::int64_t L = st.kern->lanes;
  st.pack = 2 * (st.Qt + 1) <= L && ceil_div(st.Pt * (st.Qt + 1), L) <= ceil_div(st.Pt * st.Qt, L);
  st.Qp = st.pack ? st.Qt + 1 : st.Qt;
  st.S = images * st.Pt * st.Qp;
  st.seg_rows = st.pack ? st.kern->lanes / st.Qp : 1;
  st.Kp = round_up(p.out_channels, st.kern->lanes);
  st.tb_max = tiles_per_block_max(*st.kern, p.in_channels);
  if (st.pack) st.tb_max = std::max(st.Qp, st.tb_max / st.Qp * st.Qp);  // whole tile rows
  const std::int64_t used = 4 * st.Qt + 2;
  // One line, or side by side the lines of one packed group (4·Qp·seg_rows ≤ 4·lanes),
  // then room for a transform's reads past the last tile.
  st.width = round_up(used + 8 * st.kern->lanes, 16);
  st.col_src.assign(static_cast<std::size_t>(st.dw),
                    std::vector<std::int64_t>(static_cast<std::size_t>(st.width), -1));
  for (std::int64_t b = 0; b < st.dw; ++b)
    for (std::int64_t j = 0; j < used; ++j)
      st.col_src[b][j] = pad_source(b + st.dw * j - p.pad_before[2], p.in[2], p.padding_mode);
  st.zero_pad = p.padding_mode == PaddingMode::zeros && st.dw == 1;
  st.lo = std::min(used, p.pad_before[2]);
  st.hi = std::min(used, p.pad_before[2] + p.in[2]);
  return st;
}

// Step 1: the filters transformed and packed for the GEMMs' A operand, k-group by k-group:
// U[kg][e][c][i] = element e of transformed filter (kg·mr + i, c), zero for padded rows;
// elements are filter_plane(p, st) floats apart (36 of them per k-group). False when a weight
// is NaN or ±Inf.
std::int64_t filter_plane(const ConvProblem& p, const State& st) {
  return plane_stride(p.in_channels * st.kern->mr);
}

// How one call is cut into work items for `threads` threads.
struct Blocking {
  bool own_filters;  // each item transforms the filters it uses (else: once, shared)
  std::int64_t nb, tb, ksplit;  // blocks of tb slots; output-channel parts per block
};

Blocking blocking(const State& st, int threads) {
  Blocking b;
  const std::int64_t kblocks = st.Kp / st.kern->lanes;
  const std::int64_t nb_min = ceil_div(st.S, st.tb_max);
  // Few blocks of tiles: each item transforms the filters it needs, in L2-sized pieces (the
  // whole transformed filter set, 4× the weights, would go to memory and back: 38 MB for
  // 512×512 channels). Many blocks: the filters are transformed once, shared by all.
  b.own_filters = nb_min <= 2 * threads;
  b.nb = nb_min;
  b.ksplit = 1;
  if (nb_min >= threads)
    b.nb = round_up(nb_min, threads);
  else  // fewer blocks than threads: output channels are split too (each part transforms
        // the block's inputs itself)
    b.ksplit = std::min<std::int64_t>(kblocks, ceil_div(threads, nb_min));
  b.tb = ceil_div(st.S, b.nb);
  if (st.pack) b.tb = round_up(b.tb, st.Qp);  // blocks of whole tile rows
  b.nb = ceil_div(st.S, b.tb);
  return b;
}

// Transforms filter block kb (filters kb·L .. kb·L + L − 1, zero past K) into Ukb: its
// L/mr k-groups `group` floats apart. False when a weight is NaN or ±Inf.
bool transform_filter_block(const ConvProblem& p, const State& st, const View5& w,
                            std::int64_t kb, float* Ukb) {
  const WinoKernels& k = *st.kern;
  const std::int64_t C = p.in_channels, K = p.out_channels, mr = k.mr, L = k.lanes;
  const std::int64_t plane = filter_plane(p, st), group = kElems * plane;
  const std::int64_t sh = w.stride[3], sw = w.stride[4];
  const int rows = static_cast<int>(std::min(L, K - kb * L));
  bool finite = true;
  std::int64_t c = 0;
  // L channels at a time when the taps are dense (whole-vector loads and a transpose), else
  // one channel at a time, gathered.
  if (sw == 1 && sh == 3 && w.stride[1] == 9)
    for (; c + L <= C; c += L)
      finite = k.filter_block(w.at<const float>(kb * L, c, 0, 0, 0), w.stride[0], rows,
                              Ukb + c * mr, plane, group) &&
               finite;
  // Taps consecutive in memory (forward or reversed, as in backward-data's flipped view):
  // each filter's 9 taps loaded as a row, the rows transposed.
  const bool forward_taps = sw == 1 && sh == 3, reversed_taps = sw == -1 && sh == -3;
  if (forward_taps || reversed_taps) {
    const float* taps[16];
    for (; c < C; ++c) {
      for (std::int64_t j = 0; j < L; ++j)
        taps[j] = j < rows ? w.at<const float>(kb * L + j, c, 0, 0, 0) - (reversed_taps ? 8 : 0)
                           : nullptr;
      finite = k.filter_rows(taps, reversed_taps, Ukb + c * mr, plane, group) && finite;
    }
  }
  alignas(64) float g[9 * 16];
  for (; c < C; ++c) {
    for (std::int64_t j = 0; j < L; ++j)
      for (int t = 0; t < 9; ++t)
        g[t * L + j] =
            j < rows ? w.at<const float>(kb * L + j, c, 0, 0, 0)[(t / 3) * sh + (t % 3) * sw]
                     : 0.0f;
    finite = k.filter(g, Ukb + c * mr, plane, group) && finite;
  }
  return finite;
}

// All filter blocks, in parallel, into U (kb's groups at kb·(L/mr)·group).
bool transform_filters(const ConvProblem& p, const State& st, const View5& w, float* U) {
  const std::int64_t L = st.kern->lanes, per_block = L / st.kern->mr * kElems * filter_plane(p, st);
  std::atomic<bool> finite{true};
  parallel_for(st.Kp / L, [&](std::int64_t kb0, std::int64_t kb1, int) {
    for (std::int64_t kb = kb0; kb < kb1 && finite; ++kb)
      if (!transform_filter_block(p, st, w, kb, U + kb * per_block)) finite = false;
  });
  return finite;
}

// Image m of the batch of phases: sample n, row phase α, column phase β.
struct Image {
  std::int64_t n, a, b;
};
Image image(const State& st, std::int64_t m) {
  const std::int64_t phases = st.dh * st.dw, ph = m % phases;
  return {m / phases, ph / st.dw, ph % st.dw};
}

// The input row that row r of tile row ti of image `im` reads (−1: a zero row).
std::int64_t tile_input_row(const ConvProblem& p, const State& st, const Image& im,
                            std::int64_t ti, std::int64_t r) {
  return pad_source(im.a + st.dh * (4 * ti + r) - p.pad_before[1], p.in[1], p.padding_mode);
}

// Fills `line` with input row ih of (n, c), padded: line[j] = x[.., col_src[j]] (0 outside),
// then zeros up to `fill`: they feed only lanes past the last tile (never stored), which so
// compute on finite values.
void build_line(const ConvProblem& p, const State& st, const View5& x, const Image& im,
                std::int64_t c, std::int64_t ih, float* line, std::int64_t fill) {
  const std::int64_t n = im.n;
  const std::int64_t used = 4 * st.Qt + 2;
  std::memset(line + used, 0, sizeof(float) * static_cast<std::size_t>(fill - used));
  if (ih < 0) {
    std::memset(line, 0, sizeof(float) * static_cast<std::size_t>(used));
    return;
  }
  const float* xr = x.at<const float>(n, c, 0, ih, 0);
  const std::int64_t xs = x.stride[4];
  if (st.zero_pad && xs == 1) {
    std::memset(line, 0, sizeof(float) * static_cast<std::size_t>(st.lo));
    std::memcpy(line + st.lo, xr + (st.lo - p.pad_before[2]),
                sizeof(float) * static_cast<std::size_t>(st.hi - st.lo));
    std::memset(line + st.hi, 0, sizeof(float) * static_cast<std::size_t>(used - st.hi));
    return;
  }
  const std::vector<std::int64_t>& col_src = st.col_src[im.b];
  for (std::int64_t j = 0; j < used; ++j) {
    const std::int64_t s = col_src[j];
    line[j] = s < 0 ? 0.0f : xr[s * xs];
  }
}

// Channels-last input (channels contiguous): the lines of every channel for input row ih of
// image im at once, channel c's at dst + c·cstride, through L×L transposes of the row's
// (column × channel) blocks; zeros from `used` up to `fill`. Channels past the last whole
// vector are gathered one by one.
void build_lines_channels_last(const ConvProblem& p, const State& st, const View5& x,
                               const Image& im, std::int64_t ih, std::int64_t c_lo,
                               std::int64_t c_hi, float* dst, std::int64_t cstride,
                               std::int64_t fill) {
  const WinoKernels& k = *st.kern;
  const std::int64_t L = k.lanes, used = 4 * st.Qt + 2;
  (void)p;
  if (ih < 0) {
    for (std::int64_t c = c_lo; c < c_hi; ++c)
      std::memset(dst + c * cstride, 0, sizeof(float) * static_cast<std::size_t>(fill));
    return;
  }
  const std::vector<std::int64_t>& col_src = st.col_src[im.b];
  const std::int64_t cvec = c_lo + (c_hi - c_lo) / L * L;
  const float* src[16];
  for (std::int64_t j0 = 0; j0 < used; j0 += L) {
    for (std::int64_t j = 0; j < L; ++j) {
      const std::int64_t s = j0 + j < used ? col_src[j0 + j] : -1;
      src[j] = s < 0 ? nullptr : x.at<const float>(im.n, c_lo, 0, ih, s);
    }
    for (std::int64_t c0 = c_lo; c0 < cvec; c0 += L) {
      k.transpose(src, dst + c0 * cstride + j0, cstride);
      for (std::int64_t j = 0; j < L; ++j)
        if (src[j]) src[j] += L;
    }
    for (std::int64_t c = cvec; c < c_hi; ++c)
      for (std::int64_t j = 0; j < L && j0 + j < used; ++j) {
        const std::int64_t s = col_src[j0 + j];
        dst[c * cstride + j0 + j] = s < 0 ? 0.0f : *x.at<const float>(im.n, c, 0, ih, s);
      }
  }
  for (std::int64_t c = c_lo; c < c_hi; ++c)
    std::memset(dst + c * cstride + used, 0, sizeof(float) * static_cast<std::size_t>(fill - used));
}

// The run of slots from t (< t1) that one pass handles: the rest of a tile row (one vector
// of tiles at a time), or, packed, a group of whole tile rows.
struct Segment {
  Image im;
  std::int64_t ti, tj;     // first tile row and column
  std::int64_t group_rows;  // tile rows (1 unless packed)
  std::int64_t run;         // slots
};

Segment segment_at(const State& st, std::int64_t t, std::int64_t t1) {
  const std::int64_t per_image_slots = st.Pt * st.Qp, r = t % per_image_slots;
  Segment sg;
  sg.im = image(st, t / per_image_slots);
  sg.ti = r / st.Qp;
  sg.tj = st.pack ? 0 : r % st.Qp;
  sg.group_rows = st.pack ? std::min({st.seg_rows, st.Pt - sg.ti, (t1 - t) / st.Qp}) : 1;
  sg.run = st.pack ? sg.group_rows * st.Qp : std::min(st.Qt - sg.tj, t1 - t);
  return sg;
}

// Where one thread's scratch holds each buffer (V is elsewhere when shared by threads).
struct Scratch {
  float *V, *M, *lines, *tmp, *Uown, *lines_cl, *out_cl;
};

Scratch scratch_layout(const ConvProblem& p, const State& st, std::int64_t ldv, float* base) {
  const std::int64_t L = st.kern->lanes, C = p.in_channels;
  Scratch sc;
  sc.V = base;
  sc.M = sc.V + kElems * plane_stride(C * ldv);
  sc.lines = sc.M + kElems * plane_stride(L * ldv);  // 8 lines: padded row ph in slot ph mod 8
  sc.tmp = sc.lines + 8 * st.width;
  sc.Uown = sc.tmp + 16 * L;
  // Channels-last input: every channel's six lines of a tile row (or packed group) at once.
  sc.lines_cl = sc.Uown + L / st.kern->mr * kElems * filter_plane(p, st);
  // Channels-last output: a filter block's tile row of outputs, channel by channel.
  sc.out_cl = sc.lines_cl + 6 * C * st.width;
  return sc;
}

// Step 2a: the transformed inputs of slots [t0, t1), channels [c_lo, c_hi), into V.
void input_stage(const ConvProblem& p, const State& st, const ConvArgs& a, std::int64_t t0,
                 std::int64_t t1, std::int64_t c_lo, std::int64_t c_hi, std::int64_t ldv,
                 float* V, const Scratch& sc) {
  const WinoKernels& k = *st.kern;
  const std::int64_t L = k.lanes, C = p.in_channels;
  const std::int64_t vplane = plane_stride(C * ldv);
  float* lines = sc.lines;
  float* lines_cl = sc.lines_cl;
  // Transformed inputs, channel by channel, tile row by tile row. Consecutive tile rows share
  // two input rows, which stay in their line slots. Packed: a group of tile rows per vector,
  // their lines side by side.
  const std::int64_t per_image_slots = st.Pt * st.Qp;
  const bool x_channels_last = a.x.stride[1] == 1 && C >= L;
  if (x_channels_last) {
    const std::int64_t cstride = 6 * st.width;
    for (std::int64_t t = t0; t < t1;) {
      const Segment sg = segment_at(st, t, t1);
      const Image& im = sg.im;
      const std::int64_t ti = sg.ti, tj = sg.tj, group_rows = sg.group_rows, run = sg.run;
      for (int row = 0; row < 6; ++row)
        for (std::int64_t u = 0; u < group_rows; ++u) {
          const std::int64_t at = 4 * st.Qp * u;
          build_lines_channels_last(p, st, a.x, im, tile_input_row(p, st, im, ti + u, row), c_lo,
                                    c_hi, lines_cl + row * st.width + at, cstride,
                                    u + 1 < group_rows ? 4 * st.Qp : st.width - at);
        }
      for (std::int64_t c = c_lo; c < c_hi; ++c) {
        const float* rows[6];
        for (int row = 0; row < 6; ++row)
          rows[row] = lines_cl + c * cstride + row * st.width + 4 * tj;
        for (std::int64_t s = 0; s < (st.pack ? 1 : run); s += L) {
          k.input(rows, V + c * ldv + (t - t0 + s), vplane);
          for (const float*& rp : rows) rp += 4 * L;
        }
      }
      t += run;
    }
  }
  if (st.pack && !x_channels_last) {
    for (std::int64_t c = c_lo; c < c_hi; ++c)
      for (std::int64_t t = t0; t < t1;) {
        const Segment sg = segment_at(st, t, t1);
        const Image& im = sg.im;
        const std::int64_t ti = sg.ti, group_rows = sg.group_rows;
        const float* rows[6];
        for (int row = 0; row < 6; ++row) {
          float* line = lines + row * st.width;
          for (std::int64_t u = 0; u < group_rows; ++u) {
            const std::int64_t at = 4 * st.Qp * u;
            build_line(p, st, a.x, im, c, tile_input_row(p, st, im, ti + u, row), line + at,
                       u + 1 < group_rows ? 4 * st.Qp : st.width - at);
          }
          rows[row] = line;
        }
        k.input(rows, V + c * ldv + (t - t0), vplane);
        t += sg.run;
      }
  }
  for (std::int64_t c = c_lo; c < c_hi && !st.pack && !x_channels_last; ++c) {
    std::int64_t held[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    std::int64_t held_m = -1;
    for (std::int64_t t = t0; t < t1;) {
      const Segment sg = segment_at(st, t, t1);
      const Image& im = sg.im;
      const std::int64_t m = t / per_image_slots, ti = sg.ti, tj = sg.tj, run = sg.run;
      if (m != held_m) {
        for (std::int64_t& h : held) h = -1;
        held_m = m;
      }
      const float* rows[6];
      for (int row = 0; row < 6; ++row) {
        const std::int64_t ph = 4 * ti + row;
        float* line = lines + (ph % 8) * st.width;
        if (held[ph % 8] != ph) {
          build_line(p, st, a.x, im, c, tile_input_row(p, st, im, ti, row), line, st.width);
          held[ph % 8] = ph;
        }
        rows[row] = line + 4 * tj;
      }
      for (std::int64_t s = 0; s < run; s += L) {
        k.input(rows, V + c * ldv + (t - t0 + s), vplane);
        for (const float*& rp : rows) rp += 4 * L;
      }
      t += run;
    }
  }

}

// Step 2b: for filter blocks [kb0, kb1), the 36 GEMMs over V and the products back to y. With
// U null each filter block is transformed here, into the thread's buffer (the filters are then
// read from memory once per block of tiles, never stored whole). False when an output
// overflowed or (own transforms) a weight is not finite.
bool compute_stage(const ConvProblem& p, const State& st, const ConvArgs& a, const float* U,
                   std::int64_t t0, std::int64_t t1, std::int64_t kb0, std::int64_t kb1,
                   std::int64_t ldv, const float* V, const Scratch& sc) {
  const WinoKernels& k = *st.kern;
  const std::int64_t L = k.lanes, mr = k.mr, nr = k.nv * L, groups = L / mr;
  const std::int64_t C = p.in_channels, K = p.out_channels;
  const std::int64_t nt = t1 - t0;
  const std::int64_t vplane = plane_stride(C * ldv), mplane = plane_stride(L * ldv);
  const std::int64_t uplane = filter_plane(p, st), ugroup = kElems * uplane;
  float* M = sc.M;
  float* tmp = sc.tmp;
  float* Uown = sc.Uown;
  float* out_cl = sc.out_cl;
  bool finite = true;
  // Phase (α, β) writes every d-th row and column of y.
  const std::int64_t ys = st.dw * a.y.stride[4], yrow = st.dh * a.y.stride[3];
  for (std::int64_t kb = kb0; kb < kb1; ++kb) {
    const float* Ukb = U ? U + kb * groups * ugroup : Uown;
    if (!U && !transform_filter_block(p, st, a.w, kb, Uown)) return false;
    // The 36 GEMMs of this filter block: products[e][k][tile] = Σ_c U[e][k][c] · V[e][c][tile].
    // A k-group's filters (C·mr floats) stay in L1 across the block's tiles; the block's
    // inputs for element e (C × tiles) stay in L2 across the k-groups.
    for (int e = 0; e < kElems; ++e) {
      const float* Ve = V + e * vplane;
      float* Me = M + e * mplane;
      for (std::int64_t q = 0; q < groups;) {
        const float* Ue = Ukb + q * ugroup + e * uplane;
        float* Mq = Me + q * mr * ldv;
        const bool pair = q + 1 < groups;
        for (std::int64_t q0 = 0; q0 < nt; q0 += nr) {
          const std::int64_t nv = std::min<std::int64_t>(k.nv, ceil_div(nt - q0, L));
          if (nv == 1 && pair) {  // two k-groups per tile: twice the accumulators of one
            k.gemm2(C, Ue, ugroup, Ve + q0, ldv, Mq + q0, ldv);
          } else {
            k.gemm[nv - 1](C, Ue, 0, Ve + q0, ldv, Mq + q0, ldv);
            if (pair) k.gemm[nv - 1](C, Ue + ugroup, 0, Ve + q0, ldv, Mq + mr * ldv + q0, ldv);
          }
        }
        q += pair ? 2 : 1;
      }
    }
    // Channels-last output with a whole vector of channels: the block's L channels of one
    // segment into a buffer, then moved into y by transposes (L channels of L columns each).
    const bool y_channels_last = a.y.stride[1] == 1 && (kb + 1) * L <= K;
    for (std::int64_t t = t0; t < t1 && y_channels_last;) {
      const Segment sg = segment_at(st, t, t1);
      const Image& im = sg.im;
      const std::int64_t ti = sg.ti, tj = sg.tj, group_rows = sg.group_rows, run = sg.run;
      const std::int64_t P = ceil_div(p.out[1] - im.a, st.dh), Q = ceil_div(p.out[2] - im.b, st.dw);
      for (std::int64_t s = 0; s < (st.pack ? 1 : run); s += L) {
        const std::int64_t cnt = st.pack ? run : std::min(L, run - s);
        for (std::int64_t kk = 0; kk < L; ++kk) {
          const float bias = a.bias ? *a.bias->at<const float>(kb * L + kk) : 0.0f;
          finite = k.output(M + kk * ldv + (t - t0 + s), mplane, bias, a.relu,
                            static_cast<int>(cnt), 4, static_cast<int>(4 * L),
                            out_cl + kk * 16 * L, 4 * L) &&
                   finite;
        }
        // Tile row u of the segment (one unless packed): its outputs start at column 4·Qp·u
        // of the buffer (packed) or are the segment's 4·cnt columns from 4·(tj + s).
        for (std::int64_t u = 0; u < group_rows; ++u) {
          const std::int64_t ow0 = st.pack ? 0 : 4 * (tj + s);
          const std::int64_t col0 = st.pack ? 4 * st.Qp * u : 0;
          const std::int64_t cols = std::min(st.pack ? Q : 4 * cnt, Q - ow0);
          for (std::int64_t i = 0; i < 4 && 4 * (ti + u) + i < P; ++i) {
            float* yrow_p = a.y.at<float>(im.n, kb * L, 0, im.a + st.dh * (4 * (ti + u) + i),
                                          im.b + st.dw * ow0);
            const float* src[16];
            std::int64_t j0 = 0;
            for (; j0 + L <= cols; j0 += L) {
              for (std::int64_t kk = 0; kk < L; ++kk)
                src[kk] = out_cl + kk * 16 * L + i * 4 * L + col0 + j0;
              k.transpose(src, yrow_p + j0 * ys, ys);
            }
            for (std::int64_t j = j0; j < cols; ++j)
              for (std::int64_t kk = 0; kk < L; ++kk)
                yrow_p[j * ys + kk] = out_cl[kk * 16 * L + i * 4 * L + col0 + j];
          }
        }
      }
      t += run;
    }
    // Products back to outputs, with bias and ReLU, straight into y when its rows are
    // contiguous (the kernel clips rows and columns), else through a tile-row buffer.
    for (std::int64_t kk = 0; kk < L && kb * L + kk < K && !y_channels_last; ++kk) {
      const std::int64_t ko = kb * L + kk;
      const float bias = a.bias ? *a.bias->at<const float>(ko) : 0.0f;
      for (std::int64_t t = t0; t < t1 && st.pack;) {  // a packed group of tile rows
        const Segment sg = segment_at(st, t, t1);
        const Image& im = sg.im;
        const std::int64_t ti = sg.ti, group_rows = sg.group_rows;
        const std::int64_t P = ceil_div(p.out[1] - im.a, st.dh), Q = ceil_div(p.out[2] - im.b, st.dw);
        finite = k.output(M + kk * ldv + (t - t0), mplane, bias, a.relu,
                          static_cast<int>(group_rows * st.Qp), 4, static_cast<int>(4 * L), tmp,
                          4 * L) &&
                 finite;
        for (std::int64_t u = 0; u < group_rows && Q > 0; ++u)
          for (std::int64_t i = 0; i < 4 && 4 * (ti + u) + i < P; ++i) {
            float* y = a.y.at<float>(im.n, ko, 0, im.a + st.dh * (4 * (ti + u) + i), im.b);
            const float* src = tmp + i * 4 * L + 4 * st.Qp * u;
            if (ys == 1)
              std::memcpy(y, src, sizeof(float) * static_cast<std::size_t>(Q));
            else
              for (std::int64_t j = 0; j < Q; ++j) y[j * ys] = src[j];
          }
        t += sg.run;
      }
      for (std::int64_t t = t0; t < t1 && !st.pack;) {
        const Segment sg = segment_at(st, t, t1);
        const Image& im = sg.im;
        const std::int64_t ti = sg.ti, tj = sg.tj, run = sg.run;
        const std::int64_t P = ceil_div(p.out[1] - im.a, st.dh), Q = ceil_div(p.out[2] - im.b, st.dw);
        for (std::int64_t s = 0; s < run; s += L) {
          const std::int64_t cnt = std::min(L, run - s);
          const std::int64_t oh = 4 * ti, ow = 4 * (tj + s);
          const int rows = static_cast<int>(std::min<std::int64_t>(4, P - oh));
          const int cols = static_cast<int>(std::min(4 * cnt, Q - ow));
          float* y = a.y.at<float>(im.n, ko, 0, im.a + st.dh * oh, im.b + st.dw * ow);
          const float* m = M + kk * ldv + (t - t0 + s);
          const int valid = static_cast<int>(cnt);
          if (ys == 1) {
            finite = k.output(m, mplane, bias, a.relu, valid, rows, cols, y, yrow) && finite;
            continue;
          }
          finite = k.output(m, mplane, bias, a.relu, valid, rows, cols, tmp, 4 * L) && finite;
          for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) y[i * yrow + j * ys] = tmp[i * 4 * L + j];
        }
        t += run;
      }
    }
  }
  return finite;
}

// Step 2 for one work item: slots [t0, t1) and filter blocks [kb0, kb1), on its own inputs.
bool run_item(const ConvProblem& p, const State& st, const ConvArgs& a, const float* U,
              std::int64_t t0, std::int64_t t1, std::int64_t kb0, std::int64_t kb1,
              std::int64_t ldv, float* scratch) {
  const Scratch sc = scratch_layout(p, st, ldv, scratch);
  input_stage(p, st, a, t0, t1, 0, p.in_channels, ldv, sc.V, sc);
  return compute_stage(p, st, a, U, t0, t1, kb0, kb1, ldv, sc.V, sc);
}

// Whether every element of x is finite: one vectorised scan when x is one dense block (any
// order of dimensions: NCHW, NHWC), else scans of its contiguous runs, in parallel.
bool input_finite(const ConvProblem& p, const View5& x) {
  const std::int64_t H = p.in[1], W = p.in[2];
  std::atomic<bool> finite{true};
  // Dense block: the dimensions of size > 1, by stride, each stride the product of the
  // sizes below it; then its lowest address and length.
  std::int64_t dims[5] = {0, 1, 2, 3, 4};
  std::sort(dims, dims + 5, [&](std::int64_t i, std::int64_t j) { return x.stride[i] < x.stride[j]; });
  std::int64_t expect = 1;
  bool dense = true;
  for (std::int64_t i : dims) {
    if (x.size[i] == 1) continue;
    if (x.stride[i] != expect) dense = false;
    expect *= x.size[i];
  }
  if (dense) {
    const float* base = reinterpret_cast<const float*>(x.base);
    constexpr std::int64_t kPiece = 1 << 16;
    parallel_for(ceil_div(expect, kPiece), [&](std::int64_t b0, std::int64_t b1, int) {
      const std::int64_t lo = b0 * kPiece, hi = std::min(expect, b1 * kPiece);
      if (!all_finite(base + lo, hi - lo)) finite = false;
    });
    return finite;
  }
  const bool planes = x.stride[4] == 1 && (H == 1 || x.stride[3] == W);
  parallel_for(p.batch * p.in_channels, [&](std::int64_t b0, std::int64_t b1, int) {
    for (std::int64_t b = b0; b < b1 && finite; ++b) {
      const std::int64_t n = b / p.in_channels, c = b % p.in_channels;
      if (planes) {
        if (!all_finite(x.at<const float>(n, c, 0, 0, 0), H * W)) finite = false;
        continue;
      }
      for (std::int64_t h = 0; h < H; ++h) {
        const float* row = x.at<const float>(n, c, 0, h, 0);
        if (x.stride[4] == 1) {
          if (!all_finite(row, W)) finite = false;
        } else {
          float acc = 0.0f;
          for (std::int64_t w = 0; w < W; ++w) acc += row[w * x.stride[4]] * 0.0f;
          if (acc != 0.0f) finite = false;
        }
      }
    }
  });
  return finite;
}

// ---- backward-weights ------------------------------------------------------------------------
//
// The trilinear identity behind F(4×4, 3×3), Σ_ij u_i g_j d_(i+j) = Σ_e (A u)_e (G g)_e (Bᵀ d)_e,
// read with the output gradient in u's place gives the weight gradient of a tile (F(3×3, 4×4)):
//   dw_kc = Gᵀ [ Σ_tiles (A dy_k Aᵀ) ⊙ (Bᵀ d_c B) ] G,
// dy_k a 4×4 output-gradient tile of channel k, d_c the 6×6 input patch under it. The tiles
// are the forward problem's (same slots, packed tile rows, dilation phases), so the forward's
// input stage transforms x as it is; `grad` transforms dy. Per block of tiles the 36 products
// summed over the tiles are 36 GEMMs (K × C, the tiles the reduction: 36 multiply-adds per tile
// and channel pair instead of 144), each folded into the running gradient at once
// (dw[k][t][c] += G[ξ][a]·G[ν][b]·M_e[k][c] for t = (a, b), e = (ξ, ν)), so no 36·K·C buffer is
// kept. The block size does not depend on the thread count and each (k, c) is accumulated by
// one thread in the order (block, element): results are bitwise identical for any number of
// threads.

constexpr std::size_t kGradBlockBytes = std::size_t{8} << 20;  // one block's transformed x and dy

// Slots per block (whole packed tile-row groups), from the block's memory and never from the
// thread count.
std::int64_t grad_block_slots(const ConvProblem& p, const State& st) {
  const std::int64_t L = st.kern->lanes;
  std::int64_t tb = static_cast<std::int64_t>(kGradBlockBytes / (kElems * sizeof(float))) /
                    (p.in_channels + p.out_channels);
  tb = std::max<std::int64_t>(2 * L, tb / L * L);
  if (st.pack) tb = std::max(st.Qp, tb / st.Qp * st.Qp);
  return std::min(tb, std::max<std::int64_t>(1, st.S));
}

// The GEMM tile for M_e (rows: output channels, columns: input channels), at most 64 columns
// wide (a work item's 36 tiles of x's transformed columns stay in L2).
const ConvKernel<float>& grad_gemm_kernel(const ConvProblem& p, Isa isa) {
  return pick_kernel<float>(isa, p.out_channels, std::min<std::int64_t>(p.in_channels, 64));
}

// Floats of one thread's buffers: `blocks` its transformed x (all channels), dy (its part's
// channels) and transposed x of one block of tiles, the 36 product tiles of one work item and
// a row of taps; `lines` the x and dy lines.
struct GradSizes {
  std::int64_t tb, ldv, Cp, vplane, uplane, vtplane, cchunk, blocks, lines;
};

GradSizes grad_sizes(const ConvProblem& p, const State& st) {
  GradSizes z;
  const std::int64_t C = p.in_channels, K = p.out_channels;
  const ConvKernel<float>& uk = grad_gemm_kernel(p, st.isa);
  z.tb = grad_block_slots(p, st);
  z.ldv = row_length(*st.kern, z.tb);
  z.Cp = round_up(C, uk.nr);
  z.vplane = plane_stride(C * z.ldv);
  // One part's output channels (whole tiles; parts as run_bwd_weights cuts them).
  const std::int64_t ktiles = ceil_div(K, uk.mr);
  const std::int64_t parts = std::min<std::int64_t>(current_num_threads(), ktiles);
  z.uplane = plane_stride(ceil_div(ktiles, parts) * uk.mr * z.ldv);
  z.vtplane = plane_stride(z.tb * z.Cp);
  z.cchunk = std::min(z.Cp, std::max<std::int64_t>(uk.nr, 64 / uk.nr * uk.nr));  // item columns
  z.blocks = kElems * (z.vplane + z.uplane + z.vtplane + uk.mr * z.cchunk) + 9 * z.cchunk;
  z.lines = 8 * st.width + 6 * C * st.width + 4 * st.width;
  return z;
}

// The transformed output gradients of slots [t0, t1), channels [k_lo, k_hi), into U (channel k
// at U + (k − k_lo)·ldv, elements uplane apart). Each tile row's 4 gradient rows are copied into lines
// (packed: the group's rows side by side, 4·Qp columns apart) with zeros past the phase's
// outputs and in spare lanes, so those slots' transforms are exact zeros.
void grad_stage(const ConvProblem& p, const State& st, const View5& dy, std::int64_t t0,
                std::int64_t t1, std::int64_t k_lo, std::int64_t k_hi, std::int64_t ldv,
                std::int64_t uplane, float* U, float* lines) {  // channel k at U + (k − k_lo)·ldv
  const WinoKernels& k = *st.kern;
  const std::int64_t L = k.lanes, W = st.width;
  const std::int64_t ds = st.dw * dy.stride[4];
  for (std::int64_t kc = k_lo; kc < k_hi; ++kc)
    for (std::int64_t t = t0; t < t1;) {
      const Segment sg = segment_at(st, t, t1);
      const Image& im = sg.im;
      const std::int64_t P = ceil_div(p.out[1] - im.a, st.dh), Q = ceil_div(p.out[2] - im.b, st.dw);
      const float* rows[4];
      for (int r = 0; r < 4; ++r) {
        float* line = lines + r * W;
        std::memset(line, 0, sizeof(float) * static_cast<std::size_t>(W));
        for (std::int64_t u = 0; u < sg.group_rows; ++u) {
          const std::int64_t row = 4 * (sg.ti + u) + r;
          if (row >= P) continue;
          const std::int64_t c0 = st.pack ? 0 : 4 * sg.tj;
          const std::int64_t n = std::min(st.pack ? Q : 4 * sg.run, Q - c0);
          float* dst = line + (st.pack ? 4 * st.Qp * u : 0);
          const float* src = dy.at<const float>(im.n, kc, 0, im.a + st.dh * row, im.b + st.dw * c0);
          if (ds == 1)
            std::memcpy(dst, src, sizeof(float) * static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
          else
            for (std::int64_t j = 0; j < n; ++j) dst[j] = src[j * ds];
        }
        rows[r] = line;
      }
      for (std::int64_t s = 0; s < (st.pack ? 1 : sg.run); s += L) {
        k.grad(rows, U + (kc - k_lo) * ldv + (t - t0 + s), uplane);
        for (const float*& rp : rows) rp += 4 * L;
      }
      t += sg.run;
    }
}

// False when x or dy holds NaN or ±Inf, or the gradient overflows: the caller then runs the
// fallback (exact NaN/Inf semantics of direct summation).
bool run_bwd_weights(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const std::int64_t C = p.in_channels, K = p.out_channels;
  if (st.S == 0) {  // an empty batch: dw = 0
    parallel_for(K, [&](std::int64_t k0, std::int64_t k1, int) {
      for (std::int64_t kc = k0; kc < k1; ++kc)
        for (std::int64_t c = 0; c < C; ++c)
          for (int t = 0; t < 9; ++t) *a.w.at<float>(kc, c, 0, t / 3, t % 3) = 0.0f;
    });
    return true;
  }
  ConvProblem q = p;  // dy as an input, for the finiteness scan
  q.in_channels = K;
  for (int j = 0; j < 3; ++j) q.in[j] = p.out[j];
  if (!input_finite(p, a.x) || !input_finite(q, a.y)) return false;
  const WinoKernels& wk = *st.kern;
  const std::int64_t L = wk.lanes;
  const ConvKernel<float>& uk = grad_gemm_kernel(p, st.isa);
  const std::int64_t mr = uk.mr, nr = uk.nr;
  const GradSizes z = grad_sizes(p, st);
  const std::int64_t ldv = z.ldv, Cp = z.Cp;
  const View5& dw = a.w;
  const bool dense = dw.stride[1] == 9 && dw.stride[3] == 3 && dw.stride[4] == 1;
  const DwconvTranspose<float> transpose = dwconv_kernel<float>(st.isa).transpose;
  const std::int64_t cparts = ceil_div(Cp, z.cchunk);
  const std::int64_t ktiles = ceil_div(K, mr);
  const std::int64_t tap0 = 0;
  // Each part (a range of output-channel tiles, one per thread) transforms all of x and its
  // own channels of dy into its own buffers and runs its GEMMs there: the threads share no
  // intermediate data (handing transformed blocks from one core to the other cost more
  // than transforming x twice: 2 threads ran slower than 1). The parts do not change any
  // sum, so results do not depend on the thread count.
  const std::int64_t parts = std::min<std::int64_t>(current_num_threads(), ktiles);
  parallel_for(parts, [&](std::int64_t p0, std::int64_t p1, int) {
    float* mem = static_cast<float*>(
        thread_scratch(static_cast<std::size_t>(z.blocks + z.lines) * sizeof(float)));
    float* V = mem;
    float* U = V + kElems * z.vplane;
    float* VT = U + kElems * z.uplane;
    float* M = VT + kElems * z.vtplane;
    float* g = M + kElems * mr * z.cchunk;  // one row's cchunk columns × 9 taps
    Scratch sc{};
    sc.lines = mem + z.blocks;
    sc.lines_cl = sc.lines + 8 * st.width;
    float* glines = sc.lines_cl + 6 * C * st.width;
    for (std::int64_t part = p0; part < p1; ++part) {
      const std::int64_t kt0 = part * ktiles / parts, kt1 = (part + 1) * ktiles / parts;
      const std::int64_t k_lo = kt0 * mr, k_hi = std::min(K, kt1 * mr);
      for (std::int64_t t0 = 0; t0 < st.S; t0 += z.tb) {
        const std::int64_t t1 = std::min(st.S, t0 + z.tb), nt = t1 - t0;
        input_stage(p, st, a, t0, t1, 0, C, ldv, V, sc);
        grad_stage(p, st, a.y, t0, t1, k_lo, k_hi, ldv, z.uplane, U, glines);
        // x's transformed elements transposed, VT[e][slot][c] (the GEMMs' vector operand).
        for (int e = 0; e < kElems; ++e) {
          float* VTe = VT + e * z.vtplane;
          transpose(C, nt, V + e * z.vplane, ldv, VTe, Cp);
          for (std::int64_t sl = 0; sl < nt; ++sl) std::fill(VTe + sl * Cp + C, VTe + (sl + 1) * Cp, 0.0f);
        }
        // Per (chunk of input channels, tile of output channels), chunk-major (the chunk's
        // 36 transposed columns stay in L2 across the tiles): the 36 GEMMs into M[e], then
        // Gᵀ M G (along ν, then ξ) stored into dw (the first block) or added to it.
        for (std::int64_t cp = 0; cp < cparts; ++cp)
          for (std::int64_t kt = kt0; kt < kt1; ++kt) {
            const std::int64_t c0 = cp * z.cchunk;
            const std::int64_t cw = std::min(z.cchunk, Cp - c0), cn = std::min(cw, C - c0);
            const std::int64_t rows = std::min(mr, K - kt * mr);
            for (int e = 0; e < kElems; ++e) {
              const float* wrows[kConvMaxMr];
              for (std::int64_t i = 0; i < mr; ++i)
                wrows[i] = U + e * z.uplane + (std::min(kt * mr + i, K - 1) - k_lo) * ldv;
              for (std::int64_t c = 0; c < cw; c += nr)
                uk.run(nt, 1, &tap0, VT + e * z.vtplane + c0 + c, Cp, wrows,
                       ConvTileOut<float>{M + e * mr * z.cchunk + c, z.cchunk, false});
            }
            for (std::int64_t i = 0; i < rows; ++i) {
              const std::int64_t kc = kt * mr + i;
              float* d = dw.at<float>(kc, c0, 0, 0, 0);
              // Straight into dense dw rows ([k][c][t]), a vector of columns at a time; for
              // other views into g ([c][t]) and from there into dw.
              float* out = dense ? d : g;
              for (std::int64_t c = 0; c < cn; c += L)
                wk.fold(M + i * z.cchunk + c, mr * z.cchunk,
                        static_cast<int>(std::min(L, cn - c)), out + 9 * c, dense ? t0 == 0 : true);
              if (!dense)
                for (std::int64_t c = 0; c < cn; ++c)
                  for (int t = 0; t < 9; ++t) {
                    float& v = d[c * dw.stride[1] + (t / 3) * dw.stride[3] + (t % 3) * dw.stride[4]];
                    v = t0 == 0 ? g[9 * c + t] : v + g[9 * c + t];
                  }
            }
          }
      }
    }
  });
  // An overflow (NaN or ±Inf from finite inputs) falls back.
  std::atomic<bool> finite{true};
  parallel_for(K, [&](std::int64_t k0, std::int64_t k1, int) {
    for (std::int64_t kc = k0; kc < k1 && finite; ++kc) {
      if (dense && dw.stride[0] == 9 * C) {
        if (!all_finite(dw.at<const float>(kc, 0, 0, 0, 0), 9 * C)) finite = false;
        continue;
      }
      for (std::int64_t c = 0; c < C; ++c)
        for (int t = 0; t < 9; ++t)
          if (!std::isfinite(*dw.at<const float>(kc, c, 0, t / 3, t % 3))) finite = false;
    }
  });
  return finite;
}

// Backward-data of a stride-1 convolution is the forward convolution of dy with the filters
// transposed (K ↔ C) and flipped, padded by (dilation·2 − pad) on each side: `forward_of`
// gives that problem (null when a pad would be negative), `flipped` the weight view.
std::shared_ptr<ConvProblem> forward_of_backward_data(const ConvProblem& p) {
  auto q = std::make_shared<ConvProblem>(p);
  q->in_channels = p.out_channels;
  q->out_channels = p.in_channels;
  for (int j = 1; j < 3; ++j) {
    q->in[j] = p.out[j];
    q->out[j] = p.in[j];
    q->pad_before[j] = 2 * p.dilation[j] - p.pad_before[j];
    q->pad_after[j] = 2 * p.dilation[j] - p.pad_after[j];
    if (q->pad_before[j] < 0 || q->pad_after[j] < 0) return nullptr;
  }
  return q;
}

View5 flipped(const View5& w) {
  View5 f = w;
  f.base = reinterpret_cast<char*>(w.at<float>(0, 0, 0, 2, 2));
  f.size[0] = w.size[1];
  f.size[1] = w.size[0];
  f.stride[0] = w.stride[1];
  f.stride[1] = w.stride[0];
  f.stride[3] = -w.stride[3];
  f.stride[4] = -w.stride[4];
  return f;
}

// The plan's state: the forward problem run (backward-data: its flipped twin) and the
// algorithm that takes over on NaN/Inf or overflow.
struct Prepared {
  std::shared_ptr<ConvProblem> fwd;  // null: the problem itself (forward)
  State st;
  const Algorithm* fallback;
  std::shared_ptr<void> fallback_state;
};

const Algorithm& fallback_for(const ConvProblem& p, Direction d) {
  if (d == Direction::backward_weights) {
    for (const Algorithm* a : {&outer_bwd_weights_algorithm(), &gemm_conv_backward_weights_algorithm(),
                               &direct_conv_backward_weights_algorithm()})
      if (a->declines(p, d).empty()) return *a;
    return reference_algorithm();
  }
  const Algorithm& first =
      d == Direction::forward ? direct_conv_algorithm() : phased_bwd_data_algorithm();
  if (first.declines(p, d).empty()) return first;
  if (d == Direction::backward_data && direct_conv_backward_data_algorithm().declines(p, d).empty())
    return direct_conv_backward_data_algorithm();
  return reference_algorithm();
}

// Transform calls per channel of one call: vectors of tiles (packed groups of tile rows).
double transform_vectors(const ConvProblem& p, const State& st) {
  return static_cast<double>(
      (st.pack ? ceil_div(st.Pt, st.seg_rows) : st.Pt * ceil_div(st.Qt, st.kern->lanes)) *
      p.batch * st.dh * st.dw);
}

// auto's verdict from an estimated Winograd time (ns, one thread) against direct summation's,
// ~0.0118 ns per multiply-add plus ~2 µs: why not, or empty when Winograd is preferred.
std::string slower_than_direct(const ConvProblem& p, double wino) {
  const double direct = 0.0118 * static_cast<double>(p.macs()) + 2000.0;
  if (1.1 * wino > direct)
    return "estimated slower than direct summation here (" +
           std::to_string(static_cast<int>(wino / 1000)) + " us against " +
           std::to_string(static_cast<int>(direct / 1000)) +
           " us: too few tiles or channels to pay for the transforms)";
  return {};
}

// auto's choice for weight gradients: estimated times (ns, one thread, whatever the thread
// count: the choice must not depend on it), fitted to one-thread runs on this project's Zen 5
// machine (64-512 channels, 7×7 to 224×224): 0.8 ns per (k, c) pair and slot of the GEMMs
// (transposes included), 9 ns per pair and block for the fold into dw, 110 (packed: 200) ns
// per (channel, vector of tiles) transform of x or dy, ~10 µs per call; direct summation
// (outer_bwd_weights, gemm_bwd_weights) ~0.0118 ns per multiply-add plus ~2 µs. Measured
// (ms, one thread, winograd / best direct): 64 channels 56×56 0.71 / 1.31, 128 at 28×28
// 0.70 / 1.29, 512 at 28×28 14.9 / 20.0, 256 at 14×14 1.21 / 1.36 (estimated slower: direct
// is chosen), 512 at 14×14 5.5 / 4.9, 512 at 7×7 4.3 / 1.4.
std::string bwd_weights_not_preferred(const ConvProblem& p) {
  const State st = make_state(p);
  const std::int64_t tb = grad_block_slots(p, st);
  double cols = 0, blocks = 0;
  for (std::int64_t t0 = 0; t0 < st.S; t0 += tb, ++blocks)
    cols += static_cast<double>(std::min(tb, st.S - t0));
  const double pairs = static_cast<double>(p.out_channels * p.in_channels);
  const double wino = pairs * (0.8 * cols + 9.0 * blocks) +
                      static_cast<double>(p.in_channels + p.out_channels) *
                          transform_vectors(p, st) * (st.pack ? 200.0 : 110.0) +
                      10000.0;
  return slower_than_direct(p, wino);
}

// Transformed filters made once by pack_weights (forward plans).
struct PackedFilters {
  std::vector<float> U;
  bool finite;  // no weight was NaN or ±Inf
};

class WinogradConv final : public Algorithm {
 public:
  const char* name() const override { return "winograd"; }
  bool approximate() const override { return true; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::forward && d != Direction::backward_data && d != Direction::backward_weights)
      return "forward, backward-data and backward-weights only";
    if (p.dtype != DType::f32) return "float32 only";
    if (p.spatial_dims != 2) return "2-D convolutions only";
    if (p.kernel[1] != 3 || p.kernel[2] != 3) return "3x3 kernels only";
    if (p.stride[1] != 1 || p.stride[2] != 1) return "stride 1 only";
    if (p.groups != 1) return "ungrouped convolutions only";
    // A dilated layer runs as dilation_h·dilation_w dense phases (one more image each); with
    // far more phases than outputs most are empty, and an absurd dilation (1e15, found by the
    // fuzzer) would be enumerated for ever.
    const std::int64_t* outs = d == Direction::backward_data ? p.in : p.out;
    if (static_cast<double>(p.dilation[1]) * static_cast<double>(p.dilation[2]) >
        4.0 * static_cast<double>(outs[1] + 1) * static_cast<double>(outs[2] + 1))
      return "dilation " + std::to_string(p.dilation[1]) + "x" + std::to_string(p.dilation[2]) +
             " makes far more phases than output positions";
    if (d == Direction::backward_data) {
      if (p.padding_mode != PaddingMode::zeros)
        return "backward-data with zero padding only (other modes fold gradients back)";
      if (!forward_of_backward_data(p)) return "backward-data with pads up to 2·dilation only";
    }
    return {};
  }

  std::string not_preferred(const ConvProblem& problem, Direction d) const override {
    if (d == Direction::backward_weights) return bwd_weights_not_preferred(problem);
    const auto fwd = d == Direction::backward_data ? forward_of_backward_data(problem) : nullptr;
    const ConvProblem& p = fwd ? *fwd : problem;
    // Estimated times (ns, one thread), each term measured on this project's Zen 5 machine:
    // GEMM 0.4 ns per (k, c) pair and column (36 multiply-adds at ~90-108 G/s, columns are
    // slots rounded up to whole vectors per block), 3.5 ns per pair per filter transform,
    // 140 (packed: 250) ns per (c, vector of tiles) input transform, 70 (packed: 150) ns per
    // (k, vector) output transform, ~10 µs per call; direct summation ~0.0118 ns per
    // multiply-add (its large-layer rate) plus ~2 µs.
    // Estimated for one thread whatever the thread count: the choice must not depend on it
    // (results are bitwise identical for any thread count only if the algorithm is).
    const State st = make_state(p);
    const Blocking bl = blocking(st, 1);
    const std::int64_t L = st.kern->lanes;
    double cols = 0;
    for (std::int64_t b = 0; b < bl.nb; ++b)
      cols += static_cast<double>(round_up(std::min(bl.tb, st.S - b * bl.tb), L));
    const double pairs = static_cast<double>(p.out_channels * p.in_channels);
    const double vectors = transform_vectors(p, st);
    const double passes = bl.own_filters ? static_cast<double>(bl.nb) : 1.0;
    const double wino = pairs * (0.4 * cols + 3.5 * passes) +
                        static_cast<double>(p.in_channels * bl.ksplit) * vectors *
                            (st.pack ? 250.0 : 140.0) +
                        static_cast<double>(p.out_channels) * vectors * (st.pack ? 150.0 : 70.0) +
                        10000.0;
    return slower_than_direct(p, wino);
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction d) const override {
    auto pr = std::make_shared<Prepared>();
    if (d == Direction::backward_data) pr->fwd = forward_of_backward_data(p);
    pr->st = make_state(pr->fwd ? *pr->fwd : p);
    pr->fallback = &fallback_for(p, d);
    pr->fallback_state = pr->fallback->prepare(p, d);
    return pr;
  }

  std::string describe(const ConvProblem& p, Direction d, const void* state) const override {
    const Prepared& pr = *static_cast<const Prepared*>(state);
    if (d == Direction::backward_weights)
      return describe_kernel(pr.st.kern->name, pr.st.isa) + " and " +
             grad_gemm_kernel(p, pr.st.isa).name + "; weight gradient by F(3x3,4x4): " +
             std::to_string(pr.st.T) + " tiles in blocks of up to " +
             std::to_string(grad_block_slots(p, pr.st)) + " slots" +
             (pr.st.dh * pr.st.dw > 1 ? " (dilation: one image per phase)" : "") +
             "; NaN/Inf in the inputs, or an overflow, runs '" + pr.fallback->name() + "' instead";
    const ConvProblem& q = pr.fwd ? *pr.fwd : p;
    return describe_kernel(pr.st.kern->name, pr.st.isa) + "; F(4x4,3x3), " +
           std::to_string(pr.st.T) + " tiles in blocks of up to " + std::to_string(pr.st.tb_max) +
           (pr.st.dh * pr.st.dw > 1 ? " (dilation: one image per phase)" : "") +
           "; transformed filters " + std::to_string(filter_floats(q, pr.st) * sizeof(float)) +
           " bytes per call" +
           (d == Direction::backward_data
                ? "; backward-data as the forward convolution of dy with the flipped, transposed "
                  "filters"
                : "") +
           "; NaN/Inf in the inputs, or an overflow, runs '" + pr.fallback->name() + "' instead";
  }

  std::shared_ptr<const void> pack_weights(const ConvProblem& p, Direction d, const void* state,
                                           const View5& w) const override {
    if (d != Direction::forward) return nullptr;
    const Prepared& pr = *static_cast<const Prepared*>(state);
    auto packed = std::make_shared<PackedFilters>();
    packed->U.resize(filter_floats(p, pr.st));
    packed->finite = transform_filters(p, pr.st, w, packed->U.data());
    return packed;
  }

  std::size_t packed_bytes(const ConvProblem& p, Direction d) const override {
    return d == Direction::forward ? filter_floats(p, make_state(p)) * sizeof(float) : 0;
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction d) const override {
    if (d == Direction::backward_weights) {
      const State st = make_state(p);
      const GradSizes z = grad_sizes(p, st);
      return std::max(static_cast<std::size_t>(z.lines + z.blocks) * sizeof(float),
                      fallback_for(p, d).workspace_bytes_per_thread(p, d));
    }
    const auto fwd = d == Direction::backward_data ? forward_of_backward_data(p) : nullptr;
    const ConvProblem& q = fwd ? *fwd : p;
    const State st = make_state(q);
    return std::max((worker_floats(q, st) + filter_floats(q, st)) * sizeof(float),
                    fallback_for(p, d).workspace_bytes_per_thread(p, d));
  }

  void execute(const ConvProblem& problem, Direction d, const void* state,
               const ConvArgs& args) const override {
    const Prepared& pr = *static_cast<const Prepared*>(state);
    const State& st = pr.st;
    note_isa_run(st.isa);
    if (d == Direction::backward_weights) {
      if (!run_bwd_weights(problem, st, args))
        pr.fallback->execute(problem, d, pr.fallback_state.get(), args);
      return;
    }
    if (st.T == 0) return;  // an empty batch
    // Backward-data: dy is the input, dx the output, the weights a flipped, transposed view.
    ConvArgs a = args;
    if (d == Direction::backward_data) {
      a.x = args.y;
      a.y = args.dx;
      a.w = flipped(args.w);
      a.relu = false;
    }
    const ConvProblem& p = pr.fwd ? *pr.fwd : problem;
    const WinoKernels& k = *st.kern;
    const Blocking bl = blocking(st, current_num_threads());
    const std::int64_t kblocks = st.Kp / k.lanes, nb = bl.nb, tb = bl.tb, ksplit = bl.ksplit;
    const std::int64_t ldv = row_length(k, tb);
    bool ok = input_finite(p, a.x);
    const float* U = nullptr;
    const auto* packed = static_cast<const PackedFilters*>(a.packed);
    if (packed) ok = ok && packed->finite;
    // Filters transformed by pack_weights serve one block of tiles, or many sharing them;
    // several blocks that would transform theirs in L2-sized pieces each re-read the whole
    // packed set (4× the weights) from memory instead, which measured slower (A/B at 2
    // threads: vgg16.conv4_2 5.9-6.1 -> 6.6-6.8 ms; conv5_2, one block, 2.6 -> 1.9 ms).
    if (packed && !(bl.own_filters && nb > 1)) {
      U = packed->U.data();
    } else if (ok && !bl.own_filters) {
      float* Us = static_cast<float*>(
          thread_scratch(filter_floats(p, st) * sizeof(float), ScratchSlot::shared));
      ok = transform_filters(p, st, a.w, Us);
      U = Us;
    }
    if (ok && nb == 1 && ksplit > 1) {
      // One block split by output channels: its inputs are transformed once, channels shared
      // out among the threads, into a buffer all parts read, rather than by every part (less
      // work; measured A/B alternating at 2 threads: vgg16.conv5_2 3-4 % faster,
      // resnet50.res4_3x3 within ±2 %).
      float* Vs = static_cast<float*>(thread_scratch(
          static_cast<std::size_t>(kElems * plane_stride(p.in_channels * ldv)) * sizeof(float),
          ScratchSlot::shared));
      parallel_for(ceil_div(p.in_channels, k.lanes), [&](std::int64_t b0, std::int64_t b1, int) {
        float* scratch =
            static_cast<float*>(thread_scratch(worker_floats(p, st) * sizeof(float)));
        input_stage(p, st, a, 0, st.S, b0 * k.lanes, std::min(p.in_channels, b1 * k.lanes), ldv,
                    Vs, scratch_layout(p, st, ldv, scratch));
      });
      std::atomic<bool> fine{true};
      parallel_for_dynamic(ksplit, 1, [&](std::int64_t begin, std::int64_t end, int) {
        float* scratch =
            static_cast<float*>(thread_scratch(worker_floats(p, st) * sizeof(float)));
        const Scratch sc = scratch_layout(p, st, ldv, scratch);
        for (std::int64_t part = begin; part < end && fine; ++part) {
          const std::int64_t kb0 = part * kblocks / ksplit, kb1 = (part + 1) * kblocks / ksplit;
          if (kb0 < kb1 && !compute_stage(p, st, a, U, 0, st.S, kb0, kb1, ldv, Vs, sc))
            fine = false;
        }
      });
      ok = fine;
    } else if (ok) {
      std::atomic<bool> fine{true};
      parallel_for_dynamic(nb * ksplit, 1, [&](std::int64_t begin, std::int64_t end, int) {
        float* scratch =
            static_cast<float*>(thread_scratch(worker_floats(p, st) * sizeof(float)));
        for (std::int64_t item = begin; item < end && fine; ++item) {
          const std::int64_t b = item / ksplit, part = item % ksplit;
          const std::int64_t kb0 = part * kblocks / ksplit, kb1 = (part + 1) * kblocks / ksplit;
          if (kb0 == kb1) continue;
          if (!run_item(p, st, a, U, b * tb, std::min(st.S, (b + 1) * tb), kb0, kb1, ldv,
                        scratch))
            fine = false;
        }
      });
      ok = fine;
    }
    if (!ok) pr.fallback->execute(problem, d, pr.fallback_state.get(), args);
  }
};

}  // namespace

const Algorithm& winograd_conv_algorithm() {
  static const WinogradConv algo;
  return algo;
}

}  // namespace convkit::detail
