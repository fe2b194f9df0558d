// src/algos/pointwise_channels_last.cpp — forward 1×1 convolutions on channels-last data as a
// GEMM whose rows are positions.
//
// With x channels-last, each output position p is one row of a matrix product:
//   y[p][k] = bias[k] + Σ_c x[src(p)][c] · WT[c][k],   WT = the weights transposed (C × K),
// src(p) the input position under the 1×1 window (stride, padding of any mode; a zero row for
// zero padding). The direct micro-kernels (src/kernels/conv) compute exactly that tile when
// their broadcast "weight rows" are the MR positions' input rows (contiguous channels) and
// their vector operand is WT (a row per channel, output channels in the vectors): no packing
// of x at all, and full tiles are written straight into y's rows. WT is built per call by
// 16×16 in-register transposes (the dwconv family's), one K×C pass.
//
// The reduction over channels runs in blocks of kChannelBlock (WT's slice for a column tile
// stays in L2), continued in place; each output element is computed by one work item (image,
// block of positions, range of column tiles) in a fixed order, so results do not depend on the
// thread count.
#include "algos/pointwise_channels_last.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace convkit::detail {
namespace {

constexpr std::int64_t kChannelBlock = 512;    // channels per pass over a tile
constexpr std::int64_t kTilesPerItem = 8;      // position tiles (of MR) per work item
constexpr std::int64_t kMinPositions = 512;    // auto prefers it from this many positions
constexpr std::int64_t kConvMaxNr = 64;        // widest tile of the conv kernels

struct State {
  Isa isa;
};

template <typename T>
const ConvKernel<T>& kernel_of(const ConvProblem& p, Isa isa) {
  return pick_kernel<T>(isa, p.out_spatial(), p.out_channels);
}

// Output channels rounded up to whole tiles: every kernel call, narrow or not, reads at most
// nr columns of WT from a tile's first column, so all of them lie inside WT's rows (the last
// tile's extra columns are zeros and are not written out).
std::int64_t padded_k(const ConvProblem& p, std::int64_t nr) {
  return (p.out_channels + nr - 1) / nr * nr;
}

// Output position q (flat over the output's spatial dims): false when the window reads padding
// that is zero, else true with *off the element offset of its input position (any sign: views
// may run backwards).
bool source_offset(const ConvProblem& p, const View5& x, std::int64_t q, std::int64_t* off) {
  const std::int64_t o[3] = {q / (p.out[1] * p.out[2]), (q / p.out[2]) % p.out[1], q % p.out[2]};
  *off = 0;
  for (int j = 0; j < 3; ++j) {
    const std::int64_t i = pad_source(o[j] * p.stride[j] - p.pad_before[j], p.in[j], p.padding_mode);
    if (i < 0) return false;
    *off += i * x.stride[2 + j];
  }
  return true;
}

// Element (n, k) of y at flat output position q.
template <typename T>
T* y_at(const View5& y, const ConvProblem& p, std::int64_t n, std::int64_t k, std::int64_t q) {
  return y.at<T>(n, k, q / (p.out[1] * p.out[2]), (q / p.out[2]) % p.out[1], q % p.out[2]);
}

// WT[c][k] = w[k][c] for k < K, zero for K ≤ k < KP (16×16 transposes when each filter's
// channels are contiguous).
template <typename T>
void build_wt(const ConvProblem& p, const DwconvKernel<T>& tk, const View5& w, std::int64_t KP, T* wt) {
  const std::int64_t C = p.in_channels, K = p.out_channels;
  const bool w_rows = w.stride[1] == 1 || C == 1;
  parallel_for((K + 15) / 16, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t kb = begin; kb < end; ++kb) {
      const std::int64_t k0 = kb * 16, kn = std::min<std::int64_t>(16, K - k0);
      if (w_rows) {
        tk.transpose(kn, C, w.at<const T>(k0, 0, 0, 0, 0), w.stride[0], wt + k0, KP);
      } else {
        for (std::int64_t k = k0; k < k0 + kn; ++k)
          for (std::int64_t c = 0; c < C; ++c) wt[c * KP + k] = *w.at<const T>(k, c, 0, 0, 0);
      }
    }
  });
  for (std::int64_t c = 0; c < C && KP > K; ++c) std::fill(wt + c * KP + K, wt + (c + 1) * KP, T(0));
}

// WT made once by pack_weights (forward plans), in the problem's dtype.
struct PackedWT {
  std::vector<float> f32;
  std::vector<double> f64;
  template <typename T>
  const T* data() const {
    if constexpr (sizeof(T) == 4)
      return f32.data();
    else
      return f64.data();
  }
};

template <typename T>
void run(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const ConvKernel<T>& uk = kernel_of<T>(p, st.isa);
  const DwconvKernel<T>& tk = dwconv_kernel<T>(st.isa);
  const std::int64_t mr = uk.mr, nr = uk.nr, lanes = nr / uk.nv;
  const std::int64_t C = p.in_channels, K = p.out_channels, KP = padded_k(p, nr);
  const std::int64_t P = p.out_spatial();
  const std::int64_t ptiles = (P + mr - 1) / mr;
  const std::int64_t blocks = (ptiles + kTilesPerItem - 1) / kTilesPerItem;
  const std::int64_t ktiles = (K + nr - 1) / nr;

  // WT[c][k] (k < KP; zero past K; from pack_weights when the plan packed it), a zero row (C
  // values) for zero-padded positions, the bias.
  const auto* packed = static_cast<const PackedWT*>(a.packed);
  T* scratch = static_cast<T*>(thread_scratch(
      static_cast<std::size_t>((packed ? 0 : C * KP) + C + K) * sizeof(T), ScratchSlot::shared));
  const T* wt = packed ? packed->data<T>() : scratch;
  if (!packed) build_wt<T>(p, tk, a.w, KP, scratch);
  T* zero_row = scratch + (packed ? 0 : C * KP);
  T* bias = zero_row + C;
  for (std::int64_t k = 0; k < K; ++k) bias[k] = a.bias ? *a.bias->at<const T>(k) : T(0);
  std::fill(zero_row, zero_row + C, T(0));

  // y's positions at one stride (dense over the spatial dims) and channels contiguous: full
  // tiles go straight into y.
  const std::int64_t ys = a.y.stride[4];
  const bool y_rows = a.y.stride[1] == 1 && (p.out[1] == 1 || a.y.stride[3] == p.out[2] * ys) &&
                      (p.out[0] == 1 || a.y.stride[2] == p.out[1] * a.y.stride[3]);
  const bool x_rows = a.x.stride[1] == 1 || C == 1;
  const std::int64_t tile_elems = mr * nr;
  // Column groups when there are fewer blocks of positions than 4 per thread (7×7 images:
  // one block): each item takes a range of column tiles. (Any split gives the same sums.)
  const std::int64_t kgroups = std::clamp<std::int64_t>(
      (4 * current_num_threads() + p.batch * blocks - 1) / std::max<std::int64_t>(1, p.batch * blocks), 1, ktiles);
  parallel_for(p.batch * blocks * kgroups, [&](std::int64_t begin, std::int64_t end, int) {
    T* mem = static_cast<T*>(thread_scratch(
        static_cast<std::size_t>(tile_elems + (x_rows ? 0 : mr * C)) * sizeof(T)));
    T* tile = mem;
    T* stage = mem + tile_elems;
    const T* rows[kConvMaxMr];
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t kg = item % kgroups, blk = (item / kgroups) % blocks, n = item / (kgroups * blocks);
      const std::int64_t t0 = blk * kTilesPerItem, t1 = std::min(ptiles, t0 + kTilesPerItem);
      const std::int64_t kt0 = kg * ktiles / kgroups, kt1 = (kg + 1) * ktiles / kgroups;
      for (std::int64_t c0 = 0; c0 < C; c0 += kChannelBlock) {
        const std::int64_t cn = std::min(kChannelBlock, C - c0);
        const bool last_pass = c0 + cn == C;
        for (std::int64_t kt = kt0; kt < kt1; ++kt) {
          const std::int64_t k0 = kt * nr, kcols = std::min(nr, K - k0);
          const int nv = uk.narrow_vectors(kcols);
          const ConvUkernel<T> kern = nv < uk.nv ? uk.narrow[nv - 1] : uk.run;
          const std::int64_t width = nv * lanes;  // columns the kernel writes
          for (std::int64_t pt = t0; pt < t1; ++pt) {
            const std::int64_t q0 = pt * mr, qn = std::min(mr, P - q0);
            for (std::int64_t i = 0; i < mr; ++i) {
              std::int64_t off = 0;
              const bool inside = source_offset(p, a.x, q0 + std::min(i, qn - 1), &off);
              const T* src = inside ? a.x.at<const T>(n, 0, 0, 0, 0) + off : zero_row;
              if (x_rows || !inside) {
                rows[i] = src + c0;
              } else {  // channels at a stride: this block's channels gathered first
                T* s = stage + i * C;
                for (std::int64_t c = 0; c < cn; ++c) s[c] = src[(c0 + c) * a.x.stride[1]];
                rows[i] = s;
              }
            }
            const bool direct_out = y_rows && qn == mr && width <= K - k0;
            T* out = direct_out ? a.y.at<T>(n, k0, 0, 0, 0) + q0 * ys : tile;
            const std::int64_t ldo = direct_out ? ys : nr;
            if (!direct_out && c0 > 0) {  // continue the sums kept in y
              for (std::int64_t i = 0; i < qn; ++i)
                for (std::int64_t j = 0; j < kcols; ++j)
                  tile[i * nr + j] = *y_at<T>(a.y, p, n, k0 + j, q0 + i);
            }
            const std::int64_t tap0 = 0;
            kern(cn, 1, &tap0, wt + c0 * KP + k0, KP, rows, ConvTileOut<T>{out, ldo, c0 > 0});
            // The epilogue on the last pass; partial or strided tiles into y.
            const bool epilogue = last_pass && (a.bias || a.relu);
            if (direct_out) {
              if (epilogue)
                for (std::int64_t i = 0; i < qn; ++i) {
                  T* o = out + i * ldo;
                  for (std::int64_t j = 0; j < kcols; ++j) {
                    const T v = o[j] + bias[k0 + j];
                    o[j] = a.relu ? relu(v) : v;
                  }
                }
            } else {
              for (std::int64_t i = 0; i < qn; ++i)
                for (std::int64_t j = 0; j < kcols; ++j) {
                  T v = tile[i * nr + j];
                  if (epilogue) {
                    v += bias[k0 + j];
                    if (a.relu) v = relu(v);
                  }
                  *y_at<T>(a.y, p, n, k0 + j, q0 + i) = v;
                }
            }
          }
        }
      }
    }
  });
}

class PointwiseChannelsLast final : public Algorithm {
 public:
  const char* name() const override { return "pointwise_channels_last"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::forward) return "forward only";
    if (p.layout != Layout::channels_last) return "channels-last layout only";
    if (p.kernel_spatial() != 1) return "1x1 kernels only";
    if (p.groups != 1) return "groups of channels (one group only)";
    // WT (channels × padded output channels) must be addressable.
    if (static_cast<double>(p.in_channels) * static_cast<double>(p.out_channels + kConvMaxNr) > 4e12)
      return "transposed weights would exceed 4e12 elements";
    return {};
  }

  // The weights are transposed on every call (C·K values written and read back) unless the
  // plan packed them; with few positions that costs more than the GEMM gains over `direct`,
  // which reads them in place. Measured at 2 threads (ms, this algorithm / packed / direct,
  // NHWC): res2_reduce (3136 positions) 0.263 / – / 0.693, res3_expand (784) 0.347 / 0.320 /
  // 0.451, res4_expand (196) 0.597 / 0.371 / 0.395, res5_reduce (49) 0.583 / 0.310 / 0.484.
  std::string not_preferred(const ConvProblem& p, Direction) const override {
    if (p.batch * p.out_spatial() < kMinPositions)
      return std::to_string(p.batch * p.out_spatial()) + " output positions per call (< " +
             std::to_string(kMinPositions) + "): the per-call weight transpose outweighs the gain";
    return {};
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
           "; rows are positions (input rows broadcast in place), columns output channels";
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    return static_cast<std::size_t>(kConvMaxMr * (64 + p.in_channels)) * dtype_size(p.dtype);
  }

  std::shared_ptr<const void> pack_weights(const ConvProblem& p, Direction d, const void* state,
                                           const View5& w) const override {
    if (d != Direction::forward) return nullptr;
    const Isa isa = static_cast<const State*>(state)->isa;
    auto packed = std::make_shared<PackedWT>();
    with_dtype(p.dtype, [&](auto tag) {
      using T = decltype(tag);
      const std::int64_t KP = padded_k(p, kernel_of<T>(p, isa).nr);
      std::vector<T>& v = [&]() -> std::vector<T>& {
        if constexpr (sizeof(T) == 4) return packed->f32; else return packed->f64;
      }();
      v.resize(static_cast<std::size_t>(p.in_channels * KP));
      build_wt<T>(p, dwconv_kernel<T>(isa), w, KP, v.data());
    });
    return packed;
  }

  std::size_t packed_bytes(const ConvProblem& p, Direction d) const override {
    if (d != Direction::forward) return 0;
    const Isa isa = active_isa();
    const std::int64_t nr = p.dtype == DType::f32 ? kernel_of<float>(p, isa).nr : kernel_of<double>(p, isa).nr;
    return static_cast<std::size_t>(p.in_channels * padded_k(p, nr)) * dtype_size(p.dtype);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    with_dtype(p.dtype, [&](auto tag) { run<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& pointwise_channels_last_algorithm() {
  static const PointwiseChannelsLast algo;
  return algo;
}

}  // namespace convkit::detail
