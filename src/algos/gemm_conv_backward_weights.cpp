// src/algos/gemm_conv_backward_weights.cpp — weight gradients as a GEMM over output positions,
// for layers with small images.
//
// Per group: dW[Kg × Cg·taps] = Σ_n dY_n[Kg × Q] · Xcol_n[Q × Cg·taps], Q = output positions.
// When Q is small (late ResNet layers: 49–196 positions) the reduction is short and wide, and
// the GEMM micro-kernels (src/kernels/gemm) suit it: the output gradient is packed as MR-row
// panels (shared), and each thread gathers its own NR-column panels of Xcol straight from the
// input (any padding mode) in chunks of KC positions. Each weight-gradient element belongs to
// one column panel, owned by one work item, and is accumulated over chunks and images in a
// fixed order: results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/direct_conv_backward_weights.hpp"
#include "algos/gemm_conv_backward_weights.hpp"
#include "core/arena.hpp"
#include "core/cpu_features.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"
#include "kernels/gemm/gemm_kernels.hpp"

namespace convkit::detail {
namespace {

constexpr std::int64_t kZero = INT64_MIN;       // "reads a zero of zero padding"
constexpr std::int64_t kKc = 256;              // output positions per reduction chunk
// Preferred for images of at most this many output positions (28×28). Measured: the GEMM
// wins on 7×7–28×28 images (res5_3x3 2.1 vs 10.8 ms, deeplab 15.8 vs 21.8), direct_bwd_weights
// on 56×56 and larger (vgg16.conv3_2 14.2 vs 16.6 ms, conv2_2 14.6 vs 22.3).
constexpr std::int64_t kPreferredMaxQ = 784;

template <typename T>
const GemmKernel<T>& kernel_for(Isa isa);
template <>
const GemmKernel<float>& kernel_for<float>(Isa isa) { return gemm_kernels(isa).f32; }
template <>
const GemmKernel<double>& kernel_for<double>(Isa isa) { return gemm_kernels(isa).f64; }

struct State {
  Isa isa;
};

template <typename T>
void run(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const GemmKernel<T>& uk = kernel_for<T>(st.isa);
  const std::int64_t mr = uk.mr, nr = uk.nr;
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t taps = p.kernel_spatial(), cols = Cg * taps;
  const std::int64_t itiles = (Kg + mr - 1) / mr, jtiles = (cols + nr - 1) / nr;
  const std::int64_t kg_pad = itiles * mr, cols_pad = jtiles * nr;
  const std::int64_t Q = p.out_spatial();
  const std::int64_t k12 = p.kernel[1] * p.kernel[2];

  const std::size_t cbytes =
      (static_cast<std::size_t>(p.groups * kg_pad * cols_pad) * sizeof(T) + 63) / 64 * 64;
  const std::size_t abytes =
      (static_cast<std::size_t>(p.groups * kg_pad * kKc) * sizeof(T) + 63) / 64 * 64;
  char* shared = static_cast<char*>(thread_scratch(
      cbytes + abytes + static_cast<std::size_t>((taps + 1) * Q) * sizeof(std::int64_t),
      ScratchSlot::shared));
  T* acc = reinterpret_cast<T*>(shared);  // [g][kg_pad][cols_pad]
  T* ap = reinterpret_cast<T*>(shared + cbytes);  // [g][itile][kc][mr]
  // src[t][q]: offset of the input element that tap t of output position q reads within one
  // channel of one image (negative with negative strides), or kZero for a zero of zero padding
  // (the same for every n and c).
  std::int64_t* src = reinterpret_cast<std::int64_t*>(shared + cbytes + abytes);
  // yoff[q]: offset of output position q within one channel of dy.
  std::int64_t* yoff = src + taps * Q;
  {
    std::int64_t o[3] = {0, 0, 0};
    for (std::int64_t q = 0; q < Q; ++q) {
      yoff[q] = o[0] * a.y.stride[2] + o[1] * a.y.stride[3] + o[2] * a.y.stride[4];
      if (++o[2] == p.out[2]) {
        o[2] = 0;
        if (++o[1] == p.out[1]) {
          o[1] = 0;
          ++o[0];
        }
      }
    }
  }
  parallel_for(taps, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t off[3] = {(t / k12) * p.dilation[0] - p.pad_before[0],
                                   ((t / p.kernel[2]) % p.kernel[1]) * p.dilation[1] - p.pad_before[1],
                                   (t % p.kernel[2]) * p.dilation[2] - p.pad_before[2]};
      std::int64_t o[3] = {0, 0, 0};
      for (std::int64_t q = 0; q < Q; ++q) {
        const std::int64_t s0 = pad_source(o[0] * p.stride[0] + off[0], p.in[0], p.padding_mode);
        const std::int64_t s1 = pad_source(o[1] * p.stride[1] + off[1], p.in[1], p.padding_mode);
        const std::int64_t s2 = pad_source(o[2] * p.stride[2] + off[2], p.in[2], p.padding_mode);
        src[t * Q + q] = (s0 < 0 || s1 < 0 || s2 < 0)
                             ? kZero
                             : s0 * a.x.stride[2] + s1 * a.x.stride[3] + s2 * a.x.stride[4];
        if (++o[2] == p.out[2]) {
          o[2] = 0;
          if (++o[1] == p.out[1]) {
            o[1] = 0;
            ++o[0];
          }
        }
      }
    }
  });
  if (p.batch == 0) std::fill(acc, acc + p.groups * kg_pad * cols_pad, T(0));
  // Whole tiles go straight into dw when its rows are contiguous (the copy of a 4 MB
  // accumulator was a fifth of resnet50.res5_expand's time); the edge tiles, past the last
  // whole MR rows or NR columns of a group, through `acc`.
  const std::vector<std::int64_t> tap_dst = spatial_offsets(a.w);  // element offset in dw
  const bool rows_contiguous = a.w.dense_from(1);  // each dw row (C/groups · taps values) in one run
  const bool tiles_in_place = rows_contiguous && p.batch > 0;
  const std::int64_t full_i = tiles_in_place ? Kg / mr : 0, full_j = tiles_in_place ? cols / nr : 0;

  for (std::int64_t n = 0; n < p.batch; ++n)
    for (std::int64_t q0 = 0; q0 < Q; q0 += kKc) {
      const std::int64_t kc = std::min(kKc, Q - q0);
      const bool accumulate = n > 0 || q0 > 0;
      // Output-gradient panels: ap[g][i][r][mr] = dy[n][g·Kg + i·mr + row][q0 + r].
      parallel_for(p.groups * itiles, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t g = item / itiles, i = item % itiles;
          T* dst = ap + item * kc * mr;
          // Row by row: each reads one channel of dy along its positions (in memory order for
          // the usual layouts) and fills one column of the L1-sized panel.
          const std::int64_t* yo = yoff + q0;
          for (std::int64_t row = 0; row < mr; ++row) {
            const std::int64_t kk = i * mr + row;
            if (kk >= Kg) {
              for (std::int64_t r = 0; r < kc; ++r) dst[r * mr + row] = T(0);
              continue;
            }
            const T* yk = a.y.at<const T>(n, g * Kg + kk, 0, 0, 0);
            for (std::int64_t r = 0; r < kc; ++r) dst[r * mr + row] = yk[yo[r]];
          }
        }
      });
      parallel_for_dynamic(p.groups * jtiles, 1, [&](std::int64_t begin, std::int64_t end, int) {
        T* bp = static_cast<T*>(thread_scratch(static_cast<std::size_t>(kc * nr) * sizeof(T)));
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t g = item / jtiles, j = item % jtiles;
          // Column panel: bp[r][col] = xpad[n][channel of col][window of q0 + r, tap of col].
          for (std::int64_t col = 0; col < nr; ++col) {
            const std::int64_t r_col = j * nr + col;
            if (r_col >= cols) {
              for (std::int64_t r = 0; r < kc; ++r) bp[r * nr + col] = T(0);
              continue;
            }
            const std::int64_t c = g * Cg + r_col / taps, t = r_col % taps;
            const T* xc = a.x.at<const T>(n, c, 0, 0, 0);
            const std::int64_t* st_ = src + t * Q + q0;
            for (std::int64_t r = 0; r < kc; ++r)
              bp[r * nr + col] = st_[r] == kZero ? T(0) : xc[st_[r]];
          }
          T* cg = acc + g * kg_pad * cols_pad + j * nr;
          for (std::int64_t i = 0; i < itiles; ++i) {
            if (i < full_i && j < full_j)
              uk.run(kc, ap + (g * itiles + i) * kc * mr, bp,
                     a.w.at<T>(g * Kg + i * mr, 0, 0, 0, 0) + j * nr, a.w.stride[0], accumulate);
            else
              uk.run(kc, ap + (g * itiles + i) * kc * mr, bp, cg + i * mr * cols_pad, cols_pad,
                     accumulate);
          }
        }
      });
    }
  // Copy the accumulated gradient (of the edge tiles, or all) into the weight gradient's layout.
  parallel_for(p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t k = begin; k < end; ++k) {
      const T* from = acc + ((k / Kg) * kg_pad + k % Kg) * cols_pad;
      if (rows_contiguous) {
        const std::int64_t done = k % Kg < full_i * mr ? full_j * nr : 0;  // written in place
        std::copy(from + done, from + cols, a.w.at<T>(k, 0, 0, 0, 0) + done);
        continue;
      }
      for (std::int64_t c = 0; c < Cg; ++c) {
        T* to = a.w.at<T>(k, c, 0, 0, 0);
        for (std::int64_t t = 0; t < taps; ++t) to[tap_dst[static_cast<std::size_t>(t)]] = from[c * taps + t];
      }
    }
  });
}

class GemmConvBackwardWeights final : public Algorithm {
 public:
  const char* name() const override { return "gemm_bwd_weights"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_weights) return "backward-weights only";
    // The column matrix (reduction × output positions per image) must be addressable.
    const double cols = static_cast<double>(p.groups) * static_cast<double>(p.in_channels_per_group()) *
                        static_cast<double>(p.kernel_spatial()) * static_cast<double>(p.out_spatial());
    if (cols > 4e12) return "the column matrix would exceed 4e12 elements";
    return {};
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    // Per-group products that are small or mostly padding (depthwise: 1 of 8 rows, 9 of 32
    // columns; resnext50's 8-channel groups) run 3–10× slower than direct_bwd_weights
    // (measured on mobilenetv2.dw28/dw14/dw7 and resnext50.grouped_3x3).
    const std::int64_t mr = p.dtype == DType::f32 ? kernel_for<float>(active_isa()).mr
                                                  : kernel_for<double>(active_isa()).mr;
    const std::int64_t nr = p.dtype == DType::f32 ? kernel_for<float>(active_isa()).nr
                                                  : kernel_for<double>(active_isa()).nr;
    const std::int64_t Kg = p.out_channels_per_group();
    // (in double: Kg · cols can exceed the int64 range for absurd but valid problems)
    const auto padded = [](double v, double m) { return std::ceil(v / m) * m; };
    const double kg = static_cast<double>(Kg);
    const double cd = static_cast<double>(p.in_channels_per_group()) *
                      static_cast<double>(p.kernel_spatial());
    const double fill = kg * cd / (padded(kg, static_cast<double>(mr)) * padded(cd, static_cast<double>(nr)));
    if (p.groups > 1 && (fill < 0.5 || Kg <= 2 * mr))
      return "groups of " + std::to_string(Kg) + " output channels make per-group GEMMs of " +
             std::to_string(static_cast<int>(fill * 100)) + "% useful tiles";
    if (p.out_spatial() <= kPreferredMaxQ) return {};
    // (Only in favour of direct_bwd_weights: when it would waste its grid, the GEMM still
    // beats the reference by far.)
    const Algorithm& direct = direct_conv_backward_weights_algorithm();
    if (!direct.declines(p, Direction::backward_weights).empty() ||
        !direct.not_preferred(p, Direction::backward_weights).empty())
      return {};
    return "images of " + std::to_string(p.out_spatial()) + " output positions (> " +
           std::to_string(kPreferredMaxQ) + ") stream better in direct_bwd_weights";
  }

  std::shared_ptr<void> prepare(const ConvProblem&, Direction) const override {
    auto st = std::make_shared<State>();
    st->isa = active_isa();
    return st;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    return describe_kernel(
        p.dtype == DType::f32 ? kernel_for<float>(st.isa).name : kernel_for<double>(st.isa).name,
        st.isa);
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    return static_cast<std::size_t>(kKc * 32) * dtype_size(p.dtype);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    with_dtype(p.dtype, [&](auto tag) { run<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& gemm_conv_backward_weights_algorithm() {
  static const GemmConvBackwardWeights algo;
  return algo;
}

}  // namespace convkit::detail
