// src/algos/outer_bwd_weights.cpp — weight gradients as outer products over positions, run by
// the direct-convolution micro-kernels.
//
// With the input in the stride-phase layout (src/algos/shifted_layout.hpp) and the output
// gradient at the same extended positions q (zeros at discarded ones),
//   dw[k][c][t] = Σ_n Σ_q dy_ext[n][k][q] · x_shift[n][c][q + tap_t].
// For one tap that is a GEMM whose reduction runs over q. The forward micro-kernel
// (src/kernels/conv) computes exactly such a product when its "channels" are positions: its
// weight rows are dy_ext rows (contiguous in q, one broadcast per q and row) and its input is
// the shifted copy transposed to position-major order, XT[q][c], where NR consecutive input
// channels are one vector load per position and a tap is a constant offset. So the tile does
// MR·NR/lanes multiply-adds per MR broadcasts and NR/lanes vector loads (the dot-product tile
// of direct_bwd_weights loads 10 vectors per 24 multiply-adds and streams whole rows).
//
// Positions are taken in chunks whose transposed slice (each used stride phase: the chunk plus
// its largest tap shift) stays in L2; per chunk, every work item (group, output-channel tile,
// tap, input-channel tile) continues its own sums, so each weight-gradient element is summed in
// one fixed order (images, chunks, positions) by one thread: results do not depend on the
// thread count. 1×1 stride-1 unpadded layers read x and dy in place (no copies at all).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/outer_bwd_weights.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "core/transpose.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "ref/conv_ref.hpp"

namespace convkit::detail {
namespace {

constexpr std::size_t kSliceBytes = 384 * 1024;  // transposed chunk (L2)
// The whole schedule while every image's transposed copy takes at most this much (it stays
// in L3): one kernel call per tile beats chunk barriers and per-chunk tile reloads. Measured at
// 2 threads: res2_reduce 0.75 -> 0.52 ms, vgg16.conv3_2 (4.3 MB) 11.9 -> 10.5 ms; at 9.6 MB
// (vgg16.conv2_2) whole is no faster than chunked. Tests lower it to reach the chunked path.
std::atomic<double> g_whole_bytes{8.0 * 1024 * 1024};
constexpr std::int64_t kMaxChunk = 4096, kMinChunk = 64;
// Sliced whole schedule: the positions of the whole schedule split into this many fixed
// slices, each transposed (into its own rows of XT, its taps' halo included) and reduced by
// one thread into its own partial tiles, which are then added in slice order. The slice count
// does not depend on the thread count, so neither do the results. Each core then reads only
// the transposed rows it wrote itself: on this machine a core reads lines another core just
// wrote at about a third of the speed of its own (26 vs 94 GB/s, measured), and
// resnet50.res2a_1x1 ran no faster on 2 threads than on 1 with both cores reading the whole
// transposed copy.
constexpr std::int64_t kSlices = 2;
constexpr std::int64_t kMinSlicePositions = 256;
// The partial tiles of all slices, at most (measured at 2 threads, sliced / not, ms): 1×1
// layers gain up to 1 MB of them (res4a_1x1 0.648 / 0.705, res3_reduce 0.341 / 0.419,
// res3a_1x1 0.660 / 0.801); with 3×3 taps 295 KB gains (res2_3x3 0.746 / 0.829) and 1.2 MB
// loses (res3_3x3 0.751 / 0.724; vgg16.conv4_2, 19 MB, 12.6 / 10.8).
constexpr double kMaxSlicedPartialBytes = 4.0 * 1024 * 1024;
constexpr double kMaxSlicedPartialBytesTaps = 512.0 * 1024;

struct State {
  Isa isa;
  Geometry geo;
  std::int64_t dlen;  // elements per output channel of dy_ext
};

template <typename T>
const ConvKernel<T>& outer_kernel(const ConvProblem& p, Isa isa) {
  return pick_kernel<T>(isa, p.out_channels_per_group(), p.in_channels_per_group());
}

// 1×1, stride 1, unpadded: with dense planes, extended positions are the planes' flat indices.
bool unit_problem(const ConvProblem& p) {
  for (int j = 0; j < 3; ++j)
    if (p.kernel[j] != 1 || p.stride[j] != 1 || p.pad_before[j] != 0 || p.pad_after[j] != 0)
      return false;
  return true;
}

// Returns false (result unspecified) when a NaN or Inf in x or dy would meet the zeros of the
// layout (padding, discarded positions) in a product that a plain sum does not contain; the
// caller then recomputes with the reference.
//
// Two schedules. "Whole": when the transposed copy of every image is at most a few MB
// (g_whole_bytes), each work item runs one micro-kernel call over all positions of all
// images (images kept apart by zero gaps in dy) and writes its tile straight into dw.
// "Chunked": positions in L2-sized chunks, every item carrying its tile through a buffer.
template <typename T>
bool run_outer(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const ConvKernel<T>& uk = outer_kernel<T>(p, st.isa);
  const Geometry& g = st.geo;
  const std::int64_t mr = uk.mr, nr = uk.nr, N = p.batch;
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t C = p.in_channels, K = p.out_channels, taps = p.kernel_spatial();
  const std::int64_t ktiles = (Kg + mr - 1) / mr, ctiles = (Cg + nr - 1) / nr;
  // Work items: (group, output-channel tile, input-channel tile), each computing all taps, so
  // that its part of dw (rows of Cg·taps values) is written once, contiguously.
  const std::int64_t per_group = ktiles * ctiles;
  const std::int64_t items = p.groups * per_group;
  const std::int64_t tile_elems = taps * mr * nr;  // an item's tiles, [tap][row][column]
  const bool unit = unit_problem(p);
  const bool x_in_place = unit && a.x.dense_from(2);

  // Taps by stride phase; each used phase gets its own transposed slice.
  std::vector<std::int64_t> phase_of(static_cast<std::size_t>(taps)), shift_of(phase_of);
  std::vector<std::int64_t> max_shift(static_cast<std::size_t>(g.phases), -1);
  for (std::int64_t t = 0; t < taps; ++t) {
    const std::int64_t off = g.taps[static_cast<std::size_t>(t)];
    phase_of[static_cast<std::size_t>(t)] = off / g.plane;
    shift_of[static_cast<std::size_t>(t)] = off % g.plane;
    auto& m = max_shift[static_cast<std::size_t>(off / g.plane)];
    m = std::max(m, off % g.plane);
  }
  std::int64_t used = 0, shift_sum = 0, shift_max = 0;
  for (std::int64_t m : max_shift)
    if (m >= 0) {
      ++used;
      shift_sum += m;
      shift_max = std::max(shift_max, m);
    }
  // Row stride of XT: the channels plus a tile, rounded to a cache line, plus one line
  // against cache-set aliasing.
  const std::int64_t line = 64 / static_cast<std::int64_t>(sizeof(T));
  const std::int64_t ldc = (C + nr + line - 1) / line * line + line;
  // Columns a kernel reads past the last channel (whole vectors): zeroed in the sliced rows.
  const std::int64_t cpad = std::min(ldc, (C + nr / uk.nv - 1) / (nr / uk.nv) * (nr / uk.nv));
  const std::int64_t span = g.qext + shift_max;  // rows per image in the whole schedule
  const bool whole = static_cast<double>(N) * static_cast<double>(span) * static_cast<double>(used) *
                         static_cast<double>(ldc) * sizeof(T) <= g_whole_bytes.load();
  std::int64_t chunk = whole ? N * span : 0;
  if (!whole) {
    chunk = static_cast<std::int64_t>(kSliceBytes / (static_cast<std::size_t>(ldc) * sizeof(T))) /
                used - shift_sum / used;
    chunk = std::min(std::clamp(chunk / 16 * 16, kMinChunk, kMaxChunk), g.qext);
  }
  // Where each used phase's slice starts in XT (rows of ldc elements).
  std::vector<std::int64_t> slice_row(static_cast<std::size_t>(g.phases), 0);
  std::int64_t xt_rows = 0;
  for (std::int64_t ph = 0; ph < g.phases; ++ph)
    if (max_shift[static_cast<std::size_t>(ph)] >= 0) {
      slice_row[static_cast<std::size_t>(ph)] = xt_rows;
      xt_rows += whole ? N * span : chunk + max_shift[static_cast<std::size_t>(ph)];
    }
  // dy at extended positions: [k][dlen] per image (chunked), or [k][N·span] with zero gaps
  // between images (whole). Read in place when it already is that (one 1×1 image).
  const bool dy_in_place = unit && a.y.dense_from(2) && (!whole || N == 1);
  const std::int64_t drow = whole ? N * span : st.dlen;
  const std::int64_t total = N == 0 ? 0 : (N - 1) * span + g.qext;  // the items' positions
  const bool sliced = whole && total >= kSlices * kMinSlicePositions &&
                      static_cast<double>(kSlices * items * tile_elems) * sizeof(T) <=
                          (unit ? kMaxSlicedPartialBytes : kMaxSlicedPartialBytesTaps);
  // Sliced: slice sl covers positions [slice_begin(sl), slice_begin(sl + 1)); its rows of each
  // used phase (those positions plus the phase's largest shift) start at xts_row[sl][ph].
  auto slice_begin = [&](std::int64_t sl) {
    return sl >= kSlices ? total : total * sl / kSlices / 16 * 16;
  };
  std::vector<std::int64_t> xts_row(static_cast<std::size_t>(kSlices * g.phases), 0);
  if (sliced) {
    xt_rows = 0;
    for (std::int64_t sl = 0; sl < kSlices; ++sl)
      for (std::int64_t ph = 0; ph < g.phases; ++ph) {
        const std::int64_t ms = max_shift[static_cast<std::size_t>(ph)];
        if (ms < 0) continue;
        xts_row[static_cast<std::size_t>(sl * g.phases + ph)] = xt_rows;
        xt_rows += slice_begin(sl + 1) - slice_begin(sl) + ms;
      }
  }

  const std::size_t acc_bytes =
      sliced  ? (static_cast<std::size_t>(kSlices * items * tile_elems) * sizeof(T) + 63) / 64 * 64
      : whole ? 0
              : (static_cast<std::size_t>(items * tile_elems) * sizeof(T) + 63) / 64 * 64;
  const std::size_t xt_bytes = (static_cast<std::size_t>(xt_rows * ldc) * sizeof(T) + 63) / 64 * 64;
  const std::size_t dye_bytes =
      dy_in_place ? 0 : (static_cast<std::size_t>(K * drow) * sizeof(T) + 63) / 64 * 64;
  const std::size_t xs_bytes = x_in_place ? 0 : static_cast<std::size_t>(C * g.cstride) * sizeof(T);
  char* shared = static_cast<char*>(
      thread_scratch(acc_bytes + xt_bytes + dye_bytes + xs_bytes, ScratchSlot::shared));
  T* acc = reinterpret_cast<T*>(shared);
  T* xt = reinterpret_cast<T*>(shared + acc_bytes);
  T* dye = reinterpret_cast<T*>(shared + acc_bytes + xt_bytes);
  T* xs = reinterpret_cast<T*>(shared + acc_bytes + xt_bytes + dye_bytes);
  if (!whole) std::fill(acc, acc + items * tile_elems, T(0));
  // Columns past the last channel (read by the last tile) and rows no position reads: zero
  // (the sliced schedule writes every row, and zeros its rows' columns up to a whole vector).
  if (!sliced) std::fill(xt, xt + xt_rows * ldc, T(0));

  const std::vector<std::int64_t> toff = spatial_offsets(a.w);  // tap t within a dw row
  const bool w_taps_contiguous = a.w.dense_from(1);
  // One item's tiles into dw (rows and columns past the group's channels dropped): row by
  // row, channel by channel, all taps of a channel together.
  auto store_tiles = [&](std::int64_t item, const T* tiles) {
    const std::int64_t ct = item % ctiles, kt = (item / ctiles) % ktiles, grp = item / per_group;
    const std::int64_t cn = std::min(nr, Cg - ct * nr);
    for (std::int64_t i = 0; i < mr && kt * mr + i < Kg; ++i) {
      T* row = a.w.at<T>(grp * Kg + kt * mr + i, ct * nr, 0, 0, 0);
      const T* from = tiles + i * nr;
      if (taps == 1) {
        for (std::int64_t j = 0; j < cn; ++j) row[j * a.w.stride[1]] = from[j];
      } else if (w_taps_contiguous) {  // dw[k][c][t] in memory order
        for (std::int64_t j = 0; j < cn; ++j)
          for (std::int64_t t = 0; t < taps; ++t) *row++ = from[t * mr * nr + j];
      } else {
        for (std::int64_t j = 0; j < cn; ++j)
          for (std::int64_t t = 0; t < taps; ++t)
            row[j * a.w.stride[1] + toff[static_cast<std::size_t>(t)]] = from[t * mr * nr + j];
      }
    }
  };
  // One item's micro-kernel calls, one per tap, over `len` positions from dy column d0.
  auto run_item = [&](std::int64_t item, const T* dsrc, std::int64_t dks, std::int64_t d0,
                      std::int64_t len, T* tiles, bool accumulate, const std::int64_t* phase_row) {
    const std::int64_t ct = item % ctiles, kt = (item / ctiles) % ktiles, grp = item / per_group;
    const T* wrows[kConvMaxMr];
    for (std::int64_t i = 0; i < mr; ++i)
      wrows[i] = dsrc + (grp * Kg + std::min(kt * mr + i, Kg - 1)) * dks + d0;
    const int nv_here = uk.narrow_vectors(std::min(nr, Cg - ct * nr));
    const ConvUkernel<T> run = nv_here < uk.nv ? uk.narrow[nv_here - 1] : uk.run;
    const std::int64_t tap0 = 0;
    for (std::int64_t t = 0; t < taps; ++t) {
      const std::size_t ts = static_cast<std::size_t>(t);
      const T* x = xt + (phase_row[static_cast<std::size_t>(phase_of[ts])] + shift_of[ts]) * ldc +
                   grp * Cg + ct * nr;
      run(len, 1, &tap0, x, ldc, wrows, ConvTileOut<T>{tiles + t * mr * nr, nr, accumulate});
    }
  };
  // XT rows [row0, row0 + nrow) of phase ph's slice from the copy's positions from q0 on.
  auto transpose_in = [&](const T* xsrc, std::int64_t xcs, std::int64_t avail_end,
                          std::int64_t q0, std::int64_t len, std::int64_t row0) {
    parallel_for(C, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t ph = 0; ph < g.phases; ++ph) {
        const std::int64_t ms = max_shift[static_cast<std::size_t>(ph)];
        if (ms < 0) continue;
        const std::int64_t start = ph * g.plane + q0;
        const std::int64_t nrow = std::min(len + ms, avail_end - start);
        T* base = xt + (slice_row[static_cast<std::size_t>(ph)] + row0) * ldc;
        transpose_tiled<T>(end - begin, nrow, xsrc + begin * xcs + start, xcs, base + begin, ldc);
      }
    });
  };

  const ShiftedRows rows = x_in_place ? ShiftedRows{} : shifted_rows(p, g, a.x);
  if (whole && !dy_in_place) std::fill(dye, dye + K * drow, T(0));
  for (std::int64_t n = 0; n < N; ++n) {
    std::atomic<bool> finite{true};
    if (!x_in_place)
      parallel_for(C, [&](std::int64_t begin, std::int64_t end, int) {
        build_shifted_channels<T>(p, g, rows, a.x, n, begin, end, xs);
        if (!all_finite(xs + begin * g.cstride, (end - begin) * g.cstride)) finite = false;
      });
    if (!dy_in_place)
      parallel_for(K, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t k = begin; k < end; ++k) {
          T* row = dye + k * drow + (whole ? n * span : 0);
          build_output_ext<T>(p, g, a.y, n, k, 0, whole ? g.qext : st.dlen, row);
          if (!all_finite(row, whole ? g.qext : st.dlen)) finite = false;
        }
      });
    if (!finite) return false;
    const T* xsrc = x_in_place ? a.x.at<const T>(n, 0, 0, 0, 0) : xs;
    const std::int64_t xcs = x_in_place ? a.x.stride[1] : g.cstride;
    const std::int64_t avail_end = x_in_place ? p.in_spatial() : g.cstride;
    if (sliced) {  // this image's rows of each slice (with 2 threads, slice sl by thread sl)
      parallel_for(kSlices, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t sl = begin; sl < end; ++sl)
          for (std::int64_t ph = 0; ph < g.phases; ++ph) {
            const std::int64_t ms = max_shift[static_cast<std::size_t>(ph)];
            if (ms < 0) continue;
            const std::int64_t start = ph * g.plane;
            const std::int64_t nrow = std::min(g.qext + ms, avail_end - start);  // image rows with data
            const std::int64_t r0 = slice_begin(sl), r1 = slice_begin(sl + 1) + ms;
            T* base = xt + (xts_row[static_cast<std::size_t>(sl * g.phases + ph)] - r0) * ldc;
            // Concatenated rows [n·span, (n+1)·span) are this image's (the last image's run on
            // to the slice's end); the rows past its data are zeros.
            const std::int64_t lo = std::max(r0, n * span);
            const std::int64_t hi = std::min(r1, n + 1 == N ? r1 : (n + 1) * span);
            const std::int64_t data_hi = std::min(hi, n * span + nrow);
            if (data_hi > lo) {
              transpose_tiled<T>(C, data_hi - lo, xsrc + start + (lo - n * span), xcs,
                                 base + lo * ldc, ldc);
              if (cpad > C)
                for (std::int64_t r = lo; r < data_hi; ++r)
                  std::fill(base + r * ldc + C, base + r * ldc + cpad, T(0));
            }
            for (std::int64_t r = std::max(lo, data_hi); r < hi; ++r)
              std::fill(base + r * ldc, base + r * ldc + cpad, T(0));
          }
      });
      continue;
    }
    if (whole) {  // this image's rows of XT; the items run after the last image
      transpose_in(xsrc, xcs, avail_end, 0, g.qext, n * span);
      continue;
    }
    const T* dsrc = dy_in_place ? a.y.at<const T>(n, 0, 0, 0, 0) : dye;
    const std::int64_t dks = dy_in_place ? a.y.stride[1] : st.dlen;
    for (std::int64_t q0 = 0; q0 < g.qext; q0 += chunk) {
      const std::int64_t len = std::min(chunk, g.qext - q0);
      transpose_in(xsrc, xcs, avail_end, q0, len, 0);
      parallel_for_dynamic(items, 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t item = begin; item < end; ++item)
          run_item(item, dsrc, dks, q0, len, acc + item * tile_elems, true, slice_row.data());
      });
    }
  }
  if (sliced) {
    const T* dsrc = dy_in_place ? a.y.at<const T>(0, 0, 0, 0, 0) : dye;
    const std::int64_t dks = dy_in_place ? a.y.stride[1] : drow;
    parallel_for(kSlices, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t sl = begin; sl < end; ++sl) {
        const std::int64_t r0 = slice_begin(sl), len = slice_begin(sl + 1) - r0;
        // run_item reads phase ph's row q + shift at phase_row[ph] + q + shift, q from d0 = r0
        std::vector<std::int64_t> phase_row(static_cast<std::size_t>(g.phases), 0);
        for (std::int64_t ph = 0; ph < g.phases; ++ph)
          phase_row[static_cast<std::size_t>(ph)] =
              xts_row[static_cast<std::size_t>(sl * g.phases + ph)];
        for (std::int64_t item = 0; item < items; ++item)
          run_item(item, dsrc, dks, r0, len, acc + (sl * items + item) * tile_elems, false,
                   phase_row.data());
      }
    });
    parallel_for(items, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t item = begin; item < end; ++item) {
        T* sum = acc + item * tile_elems;
        for (std::int64_t sl = 1; sl < kSlices; ++sl) {
          const T* part = acc + (sl * items + item) * tile_elems;
          for (std::int64_t e = 0; e < tile_elems; ++e) sum[e] += part[e];
        }
        store_tiles(item, sum);
      }
    });
    return true;
  }
  if (whole) {
    const T* dsrc = dy_in_place ? a.y.at<const T>(0, 0, 0, 0, 0) : dye;
    const std::int64_t dks = dy_in_place ? a.y.stride[1] : drow;
    const std::int64_t len = N == 0 ? 0 : (N - 1) * span + g.qext;
    parallel_for_dynamic(items, 1, [&](std::int64_t begin, std::int64_t end, int) {
      T* tiles = static_cast<T*>(thread_scratch(static_cast<std::size_t>(tile_elems) * sizeof(T)));
      for (std::int64_t item = begin; item < end; ++item) {
        if (len > 0) run_item(item, dsrc, dks, 0, len, tiles, false, slice_row.data());
        else std::fill(tiles, tiles + tile_elems, T(0));
        store_tiles(item, tiles);
      }
    });
    return true;
  }
  parallel_for(items, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t item = begin; item < end; ++item) store_tiles(item, acc + item * tile_elems);
  });
  return true;
}

class OuterBackwardWeights final : public Algorithm {
 public:
  const char* name() const override { return "outer_bwd_weights"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_weights) return "backward-weights only";
    if (p.in_channels_per_group() == 1 && p.out_channels_per_group() == 1)
      return "depthwise (one channel per group: no outer product to form)";
    return shifted_layout_declines(p);
  }

  // Measured on layers.csv (2 threads) against direct_bwd_weights and gemm_bwd_weights, per
  // layer: ahead on images of 28×28 and more (res2_reduce 0.52 vs 1.02 ms, res3_expand 0.30
  // vs 0.68, res4a_1x1 0.73 vs 0.85, vgg16.conv4_2 11.3 vs 12.9, strided res3a_3x3s2 0.93 vs
  // 0.98) and on 1×1 stride-1 layers of 14×14 (level); behind on 7×7 images and on 14×14
  // layers with several taps or strides (gemm_bwd_weights: res5_3x3 0.97 vs 1.42, vgg16.conv5_2
  // 3.15 vs 3.67), and on the largest images with several taps (direct_bwd_weights:
  // vgg16.conv1_2 15.3 vs 19.9).
  std::string not_preferred(const ConvProblem& p, Direction) const override {
    const std::int64_t nr = outer_kernel_width(p), Cg = p.in_channels_per_group();
    if (2 * Cg < nr)
      return "fewer input channels per group (" + std::to_string(Cg) + ") than half a tile";
    const std::int64_t Q = p.out_spatial();
    const bool unit = unit_problem(p);
    if (Q < 196 || (Q < 784 && !unit))
      return "small images (" + std::to_string(Q) + " output positions) suit gemm_bwd_weights";
    if (!unit && p.kernel_spatial() > 1 && Q >= 16384)
      return "the largest images with several taps stream better in direct_bwd_weights";
    const Geometry g = geometry(p, 1);
    if (g.qext > 2 * Q + 64)
      return "more than half of its extended output grid would be zeros";
    return {};
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    auto st = std::make_shared<State>();
    st->isa = active_isa();
    st->geo = geometry(p, 1);
    st->dlen = st->geo.qext;
    return st;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    const char* kname = p.dtype == DType::f32 ? outer_kernel<float>(p, st.isa).name
                                              : outer_kernel<double>(p, st.isa).name;
    return describe_kernel(kname, st.isa) +
           (unit_problem(p) ? "; 1x1 stride-1: x and dy read in place when their planes are contiguous"
                            : "");
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem&, Direction) const override { return 0; }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    const bool done =
        with_dtype(p.dtype, [&](auto tag) { return run_outer<decltype(tag)>(p, st, a); });
    if (!done) ref::conv_backward_weights(p, a.y, a.x, a.w);
  }

 private:
  static std::int64_t outer_kernel_width(const ConvProblem& p) {
    return p.dtype == DType::f32 ? outer_kernel<float>(p, active_isa()).nr
                                 : outer_kernel<double>(p, active_isa()).nr;
  }
};

}  // namespace

double set_outer_bwd_weights_whole_bytes(double bytes) { return g_whole_bytes.exchange(bytes); }

const Algorithm& outer_bwd_weights_algorithm() {
  static const OuterBackwardWeights algo;
  return algo;
}

}  // namespace convkit::detail
