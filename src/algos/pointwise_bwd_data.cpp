// src/algos/pointwise_bwd_data.cpp — backward-data of 1×1 convolutions as a GEMM whose rows are
// output-gradient positions and whose columns are input channels.
//
// With a 1×1 window, output position q reads exactly one input position i(q) (stride and
// padding move it; zero padding drops it), so per group
//   dx[c][i(q)] = bias[c] + Σ_k dy[k][q] · w[k][c]
// is one row of a matrix product dyT · W, where W is the weights as given: row k holds the
// group's input channels contiguously. The direct micro-kernels (src/kernels/conv) compute
// exactly that tile when their broadcast "weight rows" are MR positions' rows of dyT (output
// channels contiguous) and their vector operand is W (a row per output channel, input channels
// in the vectors): W is read in place, never transposed. dyT is dy itself for channels-last
// data, else a per-call transpose of dy (Q·K values, small next to W on the small images this
// serves). Each tile is written to dx with the bias; dx positions no output position reaches
// (strides) get the bias alone.
//
// phased_bwd_data runs the same problem as a forward convolution over the transposed weight
// view, which broadcasts W column-wise and, on 7×7 images, computes 64 positions for 49; here
// the positions are the tile rows (49 = 6 tiles of 8 + 1) and the channels the vector columns.
// Every dx element is computed by one work item in a fixed order (output channels in order):
// results do not depend on the thread count.
#include "algos/pointwise_bwd_data.hpp"

#include <algorithm>
#include <string>

#include "algos/algorithm.hpp"
#include "algos/fill_dx.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace convkit::detail {
namespace {

constexpr std::int64_t kTilesPerItem = 8;      // position tiles (of MR) per work item
constexpr std::size_t kWeightBlockBytes = 24 * 1024;  // W rows × a tile's columns (L1)
// auto's choice against phased_bwd_data, measured (ms, A/B alternating, phased / this, 2 and
// 1 threads): 7×7 output gradients win (res5_expand 0.496 / 0.432, 0.810 / 0.720; res5_reduce
// 0.444 / 0.456, 0.846 / 0.737; res5_proj_s2 0.930 / 0.779, 1.891 / 1.449), 14×14 ones with at
// least 512 channels on both sides win (res5a_1x1 0.864 / 0.753, 1.467 / 1.312), 14×14 ones
// with 256 on a side lose (res4_reduce 0.414 / 0.446, res4_expand 0.407 / 0.490), and 28×28
// ones lose (res3_expand 0.332 / 0.502).
constexpr std::int64_t kSmallImage = 64;      // output positions: always preferred
constexpr std::int64_t kMediumImage = 256;    // preferred with kWideChannels on both sides
constexpr std::int64_t kWideChannels = 512;
// Below AVX-512 (16 vector registers, 6×16 tiles) phased_bwd_data's transposed weight view
// costs more: on an AVX2 VM (2 threads, 3 rounds alternating, medians, phased / this)
// res4_reduce 1.584 / 0.981 ms, res4_expand 0.873 / 0.860, res4a_1x1 1.860 / 1.790; 28×28
// images with 128 channels on a side still lose (res3_reduce 0.684 / 1.010).
constexpr std::int64_t kWideChannelsAvx2 = 256;

struct State {
  Isa isa;
};

template <typename T>
const ConvKernel<T>& kernel_of(const ConvProblem& p, Isa isa) {
  return pick_kernel<T>(isa, p.out_spatial(), p.in_channels_per_group());
}

// Output position q reads an input position (true, *off its element offset within one dx
// channel plane: any sign, views may run backwards) or padding (false).
bool dx_offset(const ConvProblem& p, const View5& dx, std::int64_t q, std::int64_t* off) {
  const std::int64_t o[3] = {q / (p.out[1] * p.out[2]), (q / p.out[2]) % p.out[1], q % p.out[2]};
  *off = 0;
  for (int j = 0; j < 3; ++j) {
    const std::int64_t i = o[j] * p.stride[j] - p.pad_before[j];
    if (i < 0 || i >= p.in[j]) return false;
    *off += i * dx.stride[2 + j];
  }
  return true;
}

// Runs `vectors` vectors of columns of tile kernel uk (whole kernels of up to kConvNarrow
// vectors at a time: only the last tile of a row of channels is narrower than uk).
template <typename T>
void run_columns(const ConvKernel<T>& uk, std::int64_t vectors, std::int64_t channels,
                 const T* x, std::int64_t cstride, const T* const* rows, T* out, std::int64_t ldo,
                 bool accumulate) {
  const std::int64_t lanes = uk.nr / uk.nv, tap0 = 0;
  for (std::int64_t v = 0; v < vectors;) {
    const std::int64_t n = vectors - v == uk.nv ? uk.nv : std::min<std::int64_t>(vectors - v, kConvNarrow);
    const ConvUkernel<T> kern = n == uk.nv ? uk.run : uk.narrow[n - 1];
    kern(channels, 1, &tap0, x + v * lanes, cstride, rows,
         ConvTileOut<T>{out + v * lanes, ldo, accumulate});
    v += n;
  }
}

template <typename T>
void run(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const ConvKernel<T>& uk = kernel_of<T>(p, st.isa);
  const DwconvKernel<T>& tk = dwconv_kernel<T>(st.isa);
  const std::int64_t mr = uk.mr, nr = uk.nr, lanes = nr / uk.nv;
  const std::int64_t K = p.out_channels, Kg = p.out_channels_per_group();
  const std::int64_t Cg = p.in_channels_per_group(), G = p.groups;
  const std::int64_t Q = p.out_spatial();
  const std::int64_t ctiles = (Cg + nr - 1) / nr;
  const std::int64_t cwhole = Cg / lanes * lanes;  // W columns the kernels may read in place

  // Scratch (shared): the covered output positions and their dx offsets; dyT (per image,
  // unless dy is channels-last with dense rows); W's last partial vector of columns, zero
  // padded (a kernel reads whole vectors: in place it would run past the last row).
  const bool dy_rows = a.y.stride[1] == 1 || K == 1;  // channels-last: rows read in place
  const std::int64_t ldq = (K + 15) / 16 * 16;
  const bool w_rows = a.w.stride[1] == 1 || Cg == 1;
  const std::int64_t wt_cols = w_rows ? (Cg > cwhole ? lanes : 0) : ctiles * nr;
  std::int64_t* qlist = static_cast<std::int64_t*>(thread_scratch(
      static_cast<std::size_t>(3 * Q) * sizeof(std::int64_t) +
          static_cast<std::size_t>((dy_rows ? 0 : Q * ldq) + K * wt_cols + 16) * sizeof(T),
      ScratchSlot::shared));
  std::int64_t* qoff = qlist + Q;  // dx offset within a channel plane
  std::int64_t* yoff = qoff + Q;   // dy offset within an image (channels-last rows)
  T* dyt = reinterpret_cast<T*>(yoff + Q);
  T* wt = dyt + (dy_rows ? 0 : Q * ldq);
  std::int64_t R = 0;
  for (std::int64_t q = 0; q < Q; ++q) {
    std::int64_t off = 0;
    if (!dx_offset(p, a.dx, q, &off)) continue;
    const std::int64_t o[3] = {q / (p.out[1] * p.out[2]), (q / p.out[2]) % p.out[1], q % p.out[2]};
    qlist[R] = q;
    yoff[R] = o[0] * a.y.stride[2] + o[1] * a.y.stride[3] + o[2] * a.y.stride[4];
    qoff[R++] = off;
  }
  // W columns [cwhole, Cg) of every row, zero padded to a vector (in place reads stop at
  // cwhole); or all of W when its channels are not contiguous.
  if (wt_cols > 0)
    parallel_for(K, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t k = begin; k < end; ++k) {
        T* row = wt + k * wt_cols;
        const std::int64_t c0 = w_rows ? cwhole : 0;
        for (std::int64_t c = c0; c < c0 + wt_cols; ++c)
          row[c - c0] = c < Cg ? *a.w.at<const T>(k, c, 0, 0, 0) : T(0);
      }
    });
  if (R < p.in_spatial()) fill_dx<T>(p, a);  // dx positions no output position reads
  const std::int64_t ptiles = (R + mr - 1) / mr;
  const std::int64_t blocks = (ptiles + kTilesPerItem - 1) / kTilesPerItem;
  // Channel-tile groups when there are few position blocks (7×7 images: one block).
  const std::int64_t cgroups = std::clamp<std::int64_t>(
      (4 * current_num_threads() + G * blocks - 1) / std::max<std::int64_t>(1, G * blocks), 1,
      ctiles);
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const T* dyn = a.y.at<const T>(n, 0, 0, 0, 0);
    if (!dy_rows) {  // dyT[r][k] = dy[n][k][q_r], 16 output channels at a time
      const bool planes = a.y.dense_from(2) && R == Q;
      parallel_for((K + 15) / 16, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t kb = begin; kb < end; ++kb) {
          const std::int64_t k0 = kb * 16, kn = std::min<std::int64_t>(16, K - k0);
          if (planes) {
            tk.transpose(kn, Q, dyn + k0 * a.y.stride[1], a.y.stride[1], dyt + k0, ldq);
            continue;
          }
          for (std::int64_t r = 0; r < R; ++r) {
            const std::int64_t q = qlist[r];
            const std::int64_t o[3] = {q / (p.out[1] * p.out[2]), (q / p.out[2]) % p.out[1],
                                       q % p.out[2]};
            const T* src = a.y.at<const T>(n, k0, o[0], o[1], o[2]);
            for (std::int64_t k = 0; k < kn; ++k) dyt[r * ldq + k0 + k] = src[k * a.y.stride[1]];
          }
        }
      });
    }
    // Output channels in blocks whose W rows (a tile's columns) stay in L1 across the item's
    // position tiles; each tile's sums continue in its buffer from block to block.
    const std::int64_t kblock = std::max<std::int64_t>(
        16, static_cast<std::int64_t>(kWeightBlockBytes / (static_cast<std::size_t>(nr) * sizeof(T))));
    parallel_for_dynamic(G * blocks * cgroups, 1, [&](std::int64_t begin, std::int64_t end, int) {
      T* tiles = static_cast<T*>(
          thread_scratch(static_cast<std::size_t>(kTilesPerItem * mr * nr) * sizeof(T)));
      const T* rows[kConvMaxMr];
      for (std::int64_t item = begin; item < end; ++item) {
        const std::int64_t cg = item % cgroups, blk = (item / cgroups) % blocks,
                           grp = item / (cgroups * blocks);
        const std::int64_t t0 = blk * kTilesPerItem, t1 = std::min(ptiles, t0 + kTilesPerItem);
        const std::int64_t ct0 = cg * ctiles / cgroups, ct1 = (cg + 1) * ctiles / cgroups;
        for (std::int64_t ct = ct0; ct < ct1; ++ct) {
          const std::int64_t c0 = ct * nr, ccols = std::min(nr, Cg - c0);
          const int nv = uk.narrow_vectors(ccols);
          // W's columns [c0, c0 + nv·lanes) at row stride ldw: in place while they are whole
          // vectors of real columns; the last tile's partial vector from the padded copy.
          const T* wsrc = a.w.at<const T>(grp * Kg, c0, 0, 0, 0);
          std::int64_t ldw = a.w.stride[0];
          std::int64_t vin = nv;  // vectors read from wsrc
          if (!w_rows) {
            wsrc = wt + grp * Kg * wt_cols + c0;
            ldw = wt_cols;
          } else if (c0 + nv * lanes > cwhole) {
            vin = (cwhole - c0) / lanes;
          }
          const T* wpad = wt + grp * Kg * wt_cols;  // (w_rows: the columns from cwhole on)
          for (std::int64_t k0 = 0; k0 < Kg; k0 += kblock) {
            const std::int64_t kn = std::min(kblock, Kg - k0);
            for (std::int64_t pt = t0; pt < t1; ++pt) {
              const std::int64_t r0 = pt * mr, rn = std::min(mr, R - r0);
              for (std::int64_t i = 0; i < mr; ++i) {
                const std::int64_t r = r0 + std::min(i, rn - 1);
                // (a channels-last dy row: its position's K values, contiguous)
                rows[i] = (dy_rows ? dyn + yoff[r] : dyt + r * ldq) + grp * Kg + k0;
              }
              T* tile = tiles + (pt - t0) * mr * nr;
              run_columns<T>(uk, vin, kn, wsrc + k0 * ldw, ldw, rows, tile, nr, k0 > 0);
              if (vin < nv)
                run_columns<T>(uk, 1, kn, wpad + k0 * wt_cols, wt_cols, rows, tile + vin * lanes,
                               nr, k0 > 0);
            }
          }
          for (std::int64_t pt = t0; pt < t1; ++pt) {
            const std::int64_t r0 = pt * mr, rn = std::min(mr, R - r0);
            const T* tile = tiles + (pt - t0) * mr * nr;
            for (std::int64_t j = 0; j < ccols; ++j) {
              const std::int64_t c = grp * Cg + c0 + j;
              const T b = a.bias ? *a.bias->at<const T>(c) : T(0);
              T* plane = a.dx.at<T>(n, c, 0, 0, 0);
              for (std::int64_t i = 0; i < rn; ++i) plane[qoff[r0 + i]] = tile[i * nr + j] + b;
            }
          }
        }
      }
    });
  }
}

class PointwiseBwdData final : public Algorithm {
 public:
  const char* name() const override { return "pointwise_bwd_data"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_data) return "backward-data only";
    if (p.kernel_spatial() != 1) return "1x1 kernels only";
    for (int j = 0; j < 3; ++j)
      if (p.padding_mode != PaddingMode::zeros && (p.pad_before[j] != 0 || p.pad_after[j] != 0))
        return std::string("padding mode '") + padding_mode_name(p.padding_mode) +
               "' maps an output position to a mirrored input (direct_bwd_data folds those)";
    // dyT (positions × output channels) and the copied weights must be addressable.
    if (static_cast<double>(p.out_spatial()) * static_cast<double>(p.out_channels + 16) > 4e12 ||
        static_cast<double>(p.out_channels) * static_cast<double>(p.in_channels_per_group() + 64) > 4e12)
      return "its copies would exceed 4e12 elements";
    return {};
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    const std::int64_t Q = p.out_spatial();
    const std::int64_t narrow = std::min(p.out_channels_per_group(), p.in_channels_per_group());
    if (Q <= kSmallImage && narrow >= 16) return {};
    const std::int64_t wide = active_isa() == Isa::avx512 ? kWideChannels : kWideChannelsAvx2;
    if (Q <= kMediumImage && narrow >= wide) return {};
    return std::to_string(Q) + " output positions per image with " + std::to_string(narrow) +
           " channels on the narrower side: phased_bwd_data measured faster";
  }

  std::shared_ptr<void> prepare(const ConvProblem&, Direction) const override {
    auto st = std::make_shared<State>();
    st->isa = active_isa();
    return st;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    return describe_kernel(p.dtype == DType::f32 ? kernel_of<float>(p, st.isa).name
                                                 : kernel_of<double>(p, st.isa).name,
                           st.isa) +
           "; rows are output-gradient positions, columns input channels (weights read in place)";
  }

  // An item's position tiles (the worker scratch of run()).
  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    const Isa isa = active_isa();
    const std::int64_t tile = p.dtype == DType::f32
                                  ? kernel_of<float>(p, isa).mr * kernel_of<float>(p, isa).nr
                                  : kernel_of<double>(p, isa).mr * kernel_of<double>(p, isa).nr;
    return static_cast<std::size_t>(kTilesPerItem * tile) * dtype_size(p.dtype);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    if (p.batch == 0) return;
    with_dtype(p.dtype, [&](auto tag) { run<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& pointwise_bwd_data_algorithm() {
  static const PointwiseBwdData algo;
  return algo;
}

}  // namespace convkit::detail
