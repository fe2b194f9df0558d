// src/algos/direct_conv.cpp — forward convolution by register-blocked direct summation over a
// "shifted" copy of the input.
//
// The padded input of one image is rewritten, channel by channel, into stride phases: with
// stride s, phase (a0, a1, a2) holds xpad[i0·s0 + a0][i1·s1 + a1][i2·s2 + a2]. In that layout
// every filter tap is a constant offset from an "extended" output index
//   q = (o0·Lq1 + o1)·Lq2 + o2       (Lq = phase-plane sizes, o = output position),
// so a tile of NR consecutive q's reads NR consecutive input values per tap: the micro-kernel
// (src/kernels/conv) is a GEMM whose B operand is read straight from that copy, with no im2col
// matrix. Positions q whose o2 ≥ out2 (or o1 ≥ out1) are computed and discarded; the algorithm
// declines when that waste would exceed half the work. Any padding mode, stride, dilation,
// group count and layout is handled while building the copy (one pass over the input).
//
// Blocking: output channels in chunks whose packed weights stay in L2; input channels in
// blocks whose slice of the copy stays in L1, the running sums carried in tile buffers.
// Work items are (group, weight chunk, tile of q); each output element is one sum in a fixed
// order (channels, then taps) computed by one thread, so results do not depend on the thread
// count (carrying a partial sum through memory does not change its value).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/direct_conv.hpp"
#include "core/arena.hpp"
#include "core/cpu_features.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"
#include "algos/shifted_layout.hpp"
#include "kernels/conv/conv_kernels.hpp"

namespace convkit::detail {
namespace {

constexpr std::size_t kWeightChunkBytes = 256 * 1024;  // packed weights reused across tiles (L2)
constexpr std::size_t kInputBlockBytes = 24 * 1024;    // input slice reused across k-tiles (L1)

struct State {
  Isa isa;
  Geometry geo;       // weights in contiguous rows (one-tap problems may end in dot products)
  Geometry geo_view;  // weights through a strided view (no dot-product tail)
  // A 1×1 unpadded strided problem runs as the stride-1 problem on the input's strided view
  // (its shifted copy is the one phase the taps read, not all stride² phases).
  std::shared_ptr<ConvProblem> subsampled;
};

std::shared_ptr<ConvProblem> subsampled_problem(const ConvProblem& p) {
  bool strided = false;
  for (int j = 0; j < 3; ++j) {
    if (p.kernel[j] != 1 || p.pad_before[j] != 0 || p.pad_after[j] != 0) return nullptr;
    strided = strided || p.stride[j] > 1;
  }
  if (!strided) return nullptr;
  auto q = std::make_shared<ConvProblem>(p);
  for (int j = 0; j < 3; ++j) {
    q->in[j] = p.out[j];
    q->stride[j] = 1;
    q->dilation[j] = 1;
  }
  return q;
}

// True when the input of a 1×1, stride-1, unpadded problem can serve as its own shifted copy:
// each channel's spatial plane is contiguous (then q is the plane's flat index).
bool input_is_shifted_layout(const ConvProblem& p, const View5& x) {
  for (int j = 0; j < 3; ++j)
    if (p.kernel[j] != 1 || p.stride[j] != 1 || p.pad_before[j] != 0 || p.pad_after[j] != 0)
      return false;
  return x.dense_from(2);
}

// Writes the dot-product tail's sums of output channels [k0, k0 + rows), positions
// [qmain, qmain + cols) (flat output indices), with the bias and ReLU.
template <typename T>
void write_dot_tail(const ConvProblem& p, const ConvArgs& a, std::int64_t n, std::int64_t k0,
                    std::int64_t rows, std::int64_t qmain, std::int64_t cols, const T* sums) {
  for (std::int64_t j = 0; j < cols; ++j) {
    const std::int64_t q = qmain + j;
    const std::int64_t o2 = q % p.out[2], o1 = (q / p.out[2]) % p.out[1],
                       o0 = q / (p.out[2] * p.out[1]);
    for (std::int64_t i = 0; i < rows; ++i) {
      const T v = sums[i * cols + j] + (a.bias ? *a.bias->at<const T>(k0 + i) : T(0));
      *a.y.at<T>(n, k0 + i, o0, o1, o2) = a.relu ? relu(v) : v;
    }
  }
}

template <typename T>
void run_forward(const ConvProblem& p, const State& st, const ConvArgs& a) {
  // Weights are read in place: contiguous rows by the plain kernel, any other view (e.g. the
  // transposed, reversed weights of phased_bwd_data) by the view kernel: row k starts at
  // w[k][0], its channel c wcstride further, tap t of that wtaps[t] further.
  const bool rows_contiguous = a.w.dense_from(1);  // each weight row one run
  const ConvKernel<T>& uk = forward_kernel<T>(p, st.isa, rows_contiguous);
  const Geometry& g = rows_contiguous ? st.geo : st.geo_view;
  const std::int64_t mr = uk.mr, nr = uk.nr;
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t taps = p.kernel_spatial();
  const std::int64_t ktiles = (Kg + mr - 1) / mr;
  // Positions [qmain, qext) past the last whole vector of a one-tap problem run as dot
  // products over channels (uk.dot_tail) in the work item of the last tile, from a gathered
  // copy of their input columns xt[j][c]; the vector tiles cover [0, qmain) exactly.
  const std::int64_t lanes = nr / uk.nv;
  const std::int64_t dot_cols = rows_contiguous ? forward_dot_cols(p, lanes) : 0;
  const std::int64_t qmain = g.qext - dot_cols;
  const std::int64_t tiles = std::max<std::int64_t>(1, (qmain + nr - 1) / nr);
  const std::int64_t ldxt = (p.in_channels + 15) / 16 * 16;
  const std::int64_t wtile = Cg * taps * mr;  // weight elements per k-tile (L2 blocking)
  // Output-channel chunks: weights that fit in L2, but enough work items for every thread.
  std::int64_t kchunk = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(kWeightChunkBytes /
                                   (static_cast<std::size_t>(wtile) * sizeof(T))));
  const std::int64_t want_items = 4 * current_num_threads();
  while (kchunk > 1 && p.groups * tiles * ((ktiles + kchunk - 1) / kchunk) < want_items)
    kchunk = (kchunk + 1) / 2;
  const std::int64_t nchunks = (ktiles + kchunk - 1) / kchunk;
  // Equal chunks: threads take contiguous runs of (chunk, tile) items, so a short last chunk
  // would leave one thread with most of the work (16 k-tiles as 7+7+2: 2 threads ran slower
  // than 1 on resnet50.res3a_3x3s2).
  kchunk = (ktiles + nchunks - 1) / nchunks;
  // The input lines a tile reads in each channel: its taps' runs [tap, tap + nr), merged.
  // Each channel is its own stream, far more streams than the hardware prefetchers follow
  // (vgg16.conv1_2: 64 channels × 3 rows), so the next tile's lines are fetched into L2
  // ahead, one channel block at a time, while this tile computes.
  const std::int64_t line = 64 / static_cast<std::int64_t>(sizeof(T));
  std::vector<std::int64_t> run_lo, run_hi;
  {
    std::vector<std::int64_t> sorted = g.taps;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t t : sorted) {
      if (!run_hi.empty() && t <= run_hi.back() + line) {
        run_hi.back() = std::max(run_hi.back(), t + nr);
      } else {
        run_lo.push_back(t);
        run_hi.push_back(t + nr);
      }
    }
  }
  // Input-channel blocks whose slice of the copy (the runs above, each a line more when
  // misaligned) stays in L1.
  std::int64_t span = 0;
  for (std::size_t r = 0; r < run_lo.size(); ++r) span += run_hi[r] - run_lo[r] + line;
  const std::int64_t cblock = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(kInputBlockBytes / (static_cast<std::size_t>(span) * sizeof(T))));

  const std::int64_t wcstride = a.w.stride[1];
  const std::vector<std::int64_t> wtaps = spatial_offsets(a.w);
  // A 1×1, stride-1, unpadded problem whose input planes are contiguous already is in the
  // shifted layout: read it in place, and copy only the last, partial tile (whose reads would
  // run past the input).
  const bool x_in_place = input_is_shifted_layout(p, a.x);
  const std::int64_t tail_q0 = (tiles - 1) * nr;
  const bool tail_copy = x_in_place && tail_q0 + nr > qmain && qmain > tail_q0;
  const std::int64_t xs_elems = x_in_place ? (tail_copy ? p.in_channels * nr : 0)
                                           : p.in_channels * g.cstride;
  const std::int64_t xs_pad = (xs_elems + 15) / 16 * 16;
  T* xs = static_cast<T*>(thread_scratch(
      static_cast<std::size_t>(xs_pad + (dot_cols ? dot_cols * ldxt : 0)) * sizeof(T),
      ScratchSlot::shared));
  T* xt = xs + xs_pad;

  // Threads take contiguous runs of (chunk, tile) items. Chunk-major, each reads all of the
  // input copy and its share of the weights; tile-major, its share of the input and all the
  // weights. Tile-major when the weights are not much larger than the input copy and there
  // are two tiles or more per thread (resnet50.res3a_3x3s2 at 2 threads: 1.64 -> 1.13 ms;
  // res4a_3x3s2, 5 tiles: 1.21 -> 1.09 ms when four per thread were asked; res5a_3x3s2, with
  // 9.4 MB of weights, needs chunk-major).
  const double weight_bytes = static_cast<double>(p.out_channels * Cg * taps) * sizeof(T);
  const double input_bytes =
      static_cast<double>(p.in_channels) *
      static_cast<double>(x_in_place ? p.in_spatial() : g.cstride) * sizeof(T);
  const bool tile_major =
      tiles >= 2 * current_num_threads() && weight_bytes <= 4 * input_bytes;
  // The dot-product tail's per-thread buffers: each k-tile's partial vectors, carried between
  // channel blocks, and the finished sums of one k-tile.
  const std::int64_t part_elems = dot_cols * mr * lanes;
  const std::int64_t acc_elems = (kchunk * mr * nr + 15) / 16 * 16;

  // When extended positions are output positions (no discarded columns: 1×1 kernels at
  // stride 1, or the subsampled strided ones) and each output plane is contiguous, a full
  // tile of a full k-tile is written straight into y, bias and ReLU applied by the kernel
  // (the copy from a tile buffer cost ~25 % of 1×1 layers).
  const bool y_direct = g.Lq[1] == p.out[1] && g.Lq[2] == p.out[2] && a.y.dense_from(2);
  // Only when the input does not stay in L2 anyway (measured: neutral to 5 % slower on
  // layers whose input fits; vgg16.conv1_2, 13 MB: 29.4 -> 26.0 ms at 1 thread).
  const bool prefetch_next = input_bytes > 1024.0 * 1024.0;
  const ShiftedRows rows = x_in_place ? ShiftedRows{} : shifted_rows(p, g, a.x);
  for (std::int64_t n = 0; n < p.batch; ++n) {
    parallel_for(p.in_channels, [&](std::int64_t begin, std::int64_t end, int) {
      if (!x_in_place) {
        build_shifted_channels<T>(p, g, rows, a.x, n, begin, end, xs);
      } else if (tail_copy) {
        for (std::int64_t c = begin; c < end; ++c) {
          const T* src = a.x.at<const T>(n, c, 0, 0, 0) + tail_q0;
          T* dst = xs + c * nr;
          std::copy(src, src + (g.qext - tail_q0), dst);
          std::fill(dst + (g.qext - tail_q0), dst + nr, T(0));
        }
      }
      // The dot-product tail's input columns, channel-contiguous.
      for (std::int64_t c = begin; c < end && dot_cols; ++c) {
        const T* src = x_in_place ? a.x.at<const T>(n, c, 0, 0, 0) : xs + c * g.cstride;
        for (std::int64_t j = 0; j < dot_cols; ++j) xt[j * ldxt + c] = src[qmain + j];
      }
    });
    // Items are shared out dynamically at the end (an output tile's sums do not depend on the
    // thread): static halves left one core idle for 10-25 % of 1×1 layers.
    const std::int64_t items = p.groups * nchunks * tiles;
    const std::int64_t grain = 1;
    parallel_for_dynamic(items, grain, [&](std::int64_t begin, std::int64_t end, int) {
      // Per thread: kchunk tiles of running sums, and the tile's runs of real outputs.
      T* acc = static_cast<T*>(thread_scratch(
          static_cast<std::size_t>(acc_elems + kchunk * part_elems + mr * lanes) * sizeof(T) +
          static_cast<std::size_t>(3 * nr) * sizeof(std::int64_t)));
      T* part = acc + acc_elems;                  // 64-byte aligned: acc_elems % 16 == 0
      T* dot_out = part + kchunk * part_elems;    // mr × dot_cols finished sums
      std::int64_t* run_j = reinterpret_cast<std::int64_t*>(dot_out + mr * lanes);
      std::int64_t* run_len = run_j + nr;
      std::int64_t* run_off = run_len + nr;
      const std::int64_t ys = a.y.stride[4];
      const bool channels_inner = a.y.stride[1] == 1 && ys != 1;
      for (std::int64_t item = begin; item < end; ++item) {
        const std::int64_t grp = item / (nchunks * tiles);
        const std::int64_t chunk = tile_major ? item % nchunks : (item / tiles) % nchunks;
        const std::int64_t q0 = (tile_major ? (item / nchunks) % tiles : item % tiles) * nr;
        // Runs of this tile's positions that are real outputs (one output row each):
        // run v starts at tile column run_j[v], has run_len[v] elements, and lands at run_off[v].
        std::int64_t nruns = 0;
        {
          std::int64_t o2 = q0 % g.Lq[2], r = q0 / g.Lq[2];
          std::int64_t o1 = r % g.Lq[1], o0 = r / g.Lq[1];
          for (std::int64_t j = 0; j < nr && q0 + j < qmain;) {
            const std::int64_t row_left = g.Lq[2] - o2;
            if (o1 < p.out[1] && o2 < p.out[2]) {
              run_j[nruns] = j;
              run_len[nruns] = std::min({p.out[2] - o2, nr - j, qmain - q0 - j});
              run_off[nruns++] = o0 * a.y.stride[2] + o1 * a.y.stride[3] + o2 * a.y.stride[4];
            }
            j += row_left;
            o2 = 0;
            if (++o1 == g.Lq[1]) {
              o1 = 0;
              ++o0;
            }
          }
        }
        const bool dot_here = dot_cols > 0 && q0 == tail_q0;
        if (nruns == 0 && !dot_here) continue;
        const std::int64_t k0 = chunk * kchunk, k1 = std::min(ktiles, k0 + kchunk);
        // Where this tile's input starts, and the distance between its channels.
        const T* xg = xs + grp * Cg * g.cstride + q0;
        std::int64_t cs = g.cstride;
        if (x_in_place) {
          if (tail_copy && q0 == tail_q0) {
            xg = xs + grp * Cg * nr;
            cs = nr;
          } else {
            xg = a.x.at<const T>(n, grp * Cg, 0, 0, 0) + q0;
            cs = a.x.stride[1];
          }
        }
        // A partial last tile runs a narrower version of the kernel (same output stride); with
        // a dot-product tail, none when the tail is all there is.
        const bool vector_tile = qmain > q0;
        const int nv_here = vector_tile ? uk.narrow_vectors(std::min(nr, qmain - q0)) : uk.nv;
        const ConvUkernel<T> run = nv_here < uk.nv ? uk.narrow[nv_here - 1] : uk.run;
        const ConvViewUkernel<T> run_view =
            nv_here < uk.nv ? uk.narrow_view[nv_here - 1] : uk.run_view;
        const bool tile_direct = y_direct && q0 + nr <= qmain;
        // The next tile of this group, when this thread is likely to run it next (the copied
        // tail of an in-place input lives elsewhere: not prefetched).
        const T* xnext = nullptr;
        if (prefetch_next && q0 + nr < qmain && (!tile_major || chunk == 0) &&
            !(x_in_place && tail_copy && q0 + nr == tail_q0))
          xnext = xg + nr;
        for (std::int64_t c0 = 0; c0 < Cg; c0 += cblock) {
          const std::int64_t cn = std::min(cblock, Cg - c0);
          if (xnext)
            for (std::int64_t c = c0; c < c0 + cn; ++c)
              for (std::size_t r = 0; r < run_lo.size(); ++r)
                for (std::int64_t e = run_lo[r]; e < run_hi[r]; e += line)
                  __builtin_prefetch(xnext + c * cs + e, 0, 2);
          const bool last = c0 + cn == Cg;
          for (std::int64_t kt = k0; kt < k1; ++kt) {
            ConvTileOut<T> o{acc + (kt - k0) * mr * nr, nr, c0 > 0};
            T bias_v[kConvMaxMr];
            if (tile_direct && (kt + 1) * mr <= Kg) {
              o.out = a.y.at<T>(n, grp * Kg + kt * mr, 0, 0, 0) + q0;
              o.ldo = a.y.stride[1];
              if (last && a.bias) {
                for (std::int64_t i = 0; i < mr; ++i)
                  bias_v[i] = *a.bias->at<const T>(grp * Kg + kt * mr + i);
                o.bias = bias_v;
              }
              o.relu = last && a.relu;
            }
            // Rows past the group's last channel repeat it; their results are discarded.
            const T* wrows[kConvMaxMr];
            for (std::int64_t i = 0; i < mr; ++i)
              wrows[i] = a.w.at<const T>(grp * Kg + std::min(kt * mr + i, Kg - 1), c0, 0, 0, 0);
            if (!vector_tile) {
            } else if (rows_contiguous) {
              run(cn, taps, g.taps.data(), xg + c0 * cs, cs, wrows, o);
            } else {
              run_view(cn, taps, g.taps.data(), wtaps.data(), xg + c0 * cs, cs, wrows, wcstride,
                       o);
            }
            if (dot_here) {  // while this k-tile's weight rows are in L1
              uk.dot_tail(cn, dot_cols, xt + grp * Cg + c0, ldxt, wrows,
                          part + (kt - k0) * part_elems, c0 > 0, last ? dot_out : nullptr);
              if (last) write_dot_tail<T>(p, a, n, grp * Kg + kt * mr, std::min(mr, Kg - kt * mr),
                                          qmain, dot_cols, dot_out);
            }
          }
        }
        for (std::int64_t kt = k0; kt < k1 && vector_tile; ++kt) {
          const std::int64_t rows = std::min(mr, Kg - kt * mr);
          if (tile_direct && rows == mr) continue;  // written by the kernel
          if (channels_inner) {
            // Channels-last output: position by position, the tile's rows are consecutive
            // channels, so each position is one short contiguous store (row by row, every
            // store would land on its own cache line).
            T bias_v[kConvMaxMr];
            for (std::int64_t i = 0; i < rows; ++i)
              bias_v[i] = a.bias ? *a.bias->at<const T>(grp * Kg + kt * mr + i) : T(0);
            T* ybase = a.y.at<T>(n, grp * Kg + kt * mr, 0, 0, 0);
            const T* tile = acc + (kt - k0) * mr * nr;
            for (std::int64_t v = 0; v < nruns; ++v)
              for (std::int64_t e = 0; e < run_len[v]; ++e) {
                T* yp = ybase + run_off[v] + e * ys;
                const T* tc = tile + run_j[v] + e;
                if (a.relu)
                  for (std::int64_t i = 0; i < rows; ++i) yp[i] = relu(tc[i * nr] + bias_v[i]);
                else
                  for (std::int64_t i = 0; i < rows; ++i) yp[i] = tc[i * nr] + bias_v[i];
              }
            continue;
          }
          for (std::int64_t i = 0; i < rows; ++i) {
            const std::int64_t k = grp * Kg + kt * mr + i;
            const T bias = a.bias ? *a.bias->at<const T>(k) : T(0);
            T* ybase = a.y.at<T>(n, k, 0, 0, 0);
            const T* trow = acc + ((kt - k0) * mr + i) * nr;
            for (std::int64_t v = 0; v < nruns; ++v) {
              T* yr = ybase + run_off[v];
              const T* tr = trow + run_j[v];
              if (a.relu) {
                for (std::int64_t e = 0; e < run_len[v]; ++e) yr[e * ys] = relu(tr[e] + bias);
              } else if (ys == 1) {
                for (std::int64_t e = 0; e < run_len[v]; ++e) yr[e] = tr[e] + bias;
              } else {
                for (std::int64_t e = 0; e < run_len[v]; ++e) yr[e * ys] = tr[e] + bias;
              }
            }
          }
        }
      }
    });
  }
}

class DirectConv final : public Algorithm {
 public:
  const char* name() const override { return "direct"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::forward) return "forward only";
    return shifted_layout_declines(p);
  }

  std::string not_preferred(const ConvProblem& problem, Direction) const override {
    const auto sub = subsampled_problem(problem);
    const ConvProblem& p = sub ? *sub : problem;
    const std::int64_t nr = tile_width(p, active_isa());
    const Geometry g = geometry(p, nr);
    const std::int64_t tiles = (g.qext + nr - 1) / nr;
    if (2 * p.out_spatial() < tiles * nr)
      return "more than half of its extended output grid would be discarded (" +
             std::to_string(tiles * nr) + " computed for " + std::to_string(p.out_spatial()) +
             " outputs)";
    return {};
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    auto s = std::make_shared<State>();
    s->isa = active_isa();
    s->subsampled = subsampled_problem(p);
    const ConvProblem& q = s->subsampled ? *s->subsampled : p;
    s->geo = geometry(q, tile_width(q, s->isa));
    s->geo_view = geometry(q, tile_width(q, s->isa, false));
    return s;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    const ConvProblem& q = st.subsampled ? *st.subsampled : p;
    const char* kname = p.dtype == DType::f32 ? forward_kernel<float>(q, st.isa).name
                                              : forward_kernel<double>(q, st.isa).name;
    const std::size_t copy_bytes =
        static_cast<std::size_t>(p.in_channels * st.geo.cstride) * dtype_size(p.dtype);
    return describe_kernel(kname, st.isa) + "; shifted input copy " + std::to_string(copy_bytes) +
           " bytes per image, reused across calls" +
           (st.subsampled ? "; 1x1 strided: runs at stride 1 on the input's strided view" : "");
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    const std::int64_t nr = tile_width(p, active_isa());
    const std::size_t es = dtype_size(p.dtype);
    const std::size_t chunk_tiles = kWeightChunkBytes / es + 2;  // upper bound on kchunk + 1
    // the dot-product tail: fewer than lanes² partial values per tile row (lanes ≤ 16)
    const std::size_t dot_part =
        forward_dot_tail(p) ? static_cast<std::size_t>(kConvMaxMr) * 256 * es : 0;
    return std::min<std::size_t>(chunk_tiles, 64) *
               (8 * static_cast<std::size_t>(nr) * es + dot_part) +
           3 * static_cast<std::size_t>(nr) * sizeof(std::int64_t);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    if (st.subsampled) {  // x[:, :, ::s0, ::s1, ::s2], cropped to the positions read
      ConvArgs b = a;
      for (int j = 0; j < 3; ++j) {
        b.x.size[2 + j] = p.out[j];
        b.x.stride[2 + j] *= p.stride[j];
      }
      with_dtype(p.dtype, [&](auto tag) { run_forward<decltype(tag)>(*st.subsampled, st, b); });
      return;
    }
    with_dtype(p.dtype, [&](auto tag) { run_forward<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& direct_conv_algorithm() {
  static const DirectConv algo;
  return algo;
}

}  // namespace convkit::detail
