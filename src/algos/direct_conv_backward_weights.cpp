// src/algos/direct_conv_backward_weights.cpp — weight gradients by blocked dot products on the
// shifted layout.
//
// With the input of one image in the stride-phase layout (src/algos/shifted_layout.hpp) and
// the output gradient at the same extended positions q (zeros at discarded ones),
//   dw[k][c][t] = Σ_n Σ_q dy_ext[n][k][q] · x_shift[n][c][q + tap_t],
// a matrix product whose reduction runs along contiguous memory on both sides. The micro-kernel
// (src/kernels/conv/wgrad_*) computes MR output channels × NJ (channel, tap) columns, with the
// reduction split into chunks of q. Depthwise layers (one channel per group) instead run every
// tap of a channel against its own output-gradient row with all taps' sums in registers
// (f*_wgrad_taps kernels). Each weight-gradient element is owned by one
// work item and accumulated over chunks and images in a fixed order, so results are bitwise
// identical for any thread count.
#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/direct_conv_backward_weights.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "kernels/conv/wgrad_kernels.hpp"
#include "ref/conv_ref.hpp"

namespace convkit::detail {
namespace {

constexpr std::int64_t kQuantum = 64;     // extended positions are padded to a multiple of this
// Reduction chunk (multiple of kQuantum). Each chunk ends in MR×NJ horizontal vector sums,
// which cost about as much as 512 positions of multiply-adds: 512 ran 1.7× slower than 4096
// on resnet50.res2_3x3 and vgg16.conv1_2; longer chunks lose the L2 reuse on large images.
constexpr std::int64_t kQChunk = 4096;
constexpr std::int64_t kTapsSlack = 16;  // elements (a vector of any ISA) past a channel's copy

struct State {
  Isa isa;
  Geometry geo;
  std::int64_t dlen;  // elements per output channel of dy_ext (zero padded)
};

template <typename T>
const WgradKernel<T>& kernel_for(Isa isa);
template <>
const WgradKernel<float>& kernel_for<float>(Isa isa) { return wgrad_kernels(isa).f32; }
template <>
const WgradKernel<double>& kernel_for<double>(Isa isa) { return wgrad_kernels(isa).f64; }

// Returns false (leaving the result unspecified) when the input or the output gradient holds a
// NaN or Inf: the zeros at discarded extended positions would meet it in a product that a
// plain sum does not contain, so the caller recomputes with the reference.
template <typename T>
bool run_backward_weights(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const WgradKernel<T>& uk = kernel_for<T>(st.isa);
  const Geometry& g = st.geo;
  const std::int64_t mr = uk.mr, nj = uk.nj;
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t taps = p.kernel_spatial();
  const std::int64_t cols = Cg * taps;
  const std::int64_t ktiles = (Kg + mr - 1) / mr, jtiles = (cols + nj - 1) / nj;
  // Depthwise (one input and one output channel per group): each channel's taps are dot
  // products of its own two rows, all taps' sums in registers over the whole length.
  const bool depthwise = Kg == 1 && Cg == 1;
  const std::int64_t items = depthwise ? p.groups : p.groups * ktiles * jtiles;
  const std::int64_t qlen = (g.qext + uk.lanes - 1) / uk.lanes * uk.lanes;

  const std::int64_t acc_elems = depthwise ? p.groups * taps : items * mr * nj;
  const std::size_t abytes = (static_cast<std::size_t>(acc_elems) * sizeof(T) + 63) / 64 * 64;
  const std::size_t dbytes =
      depthwise ? 0 : (static_cast<std::size_t>(p.out_channels * st.dlen) * sizeof(T) + 63) / 64 * 64;
  char* shared = static_cast<char*>(thread_scratch(
      abytes + dbytes +
          (depthwise ? 0 : static_cast<std::size_t>(p.in_channels * g.cstride) * sizeof(T)),
      ScratchSlot::shared));
  T* acc = reinterpret_cast<T*>(shared);
  T* dye = reinterpret_cast<T*>(shared + abytes);
  T* xs = reinterpret_cast<T*>(shared + abytes + dbytes);
  std::fill(acc, acc + acc_elems, T(0));

  const ShiftedRows rows = shifted_rows(p, g, a.x);
  if (depthwise) {
    // Per channel, in the thread's own scratch: the channel's shifted copy and its dy row are
    // built, checked and used while they are in L1/L2, instead of whole-tensor copies through
    // shared memory first (on these small planes the copies cost more than the multiply-adds;
    // measured a few % faster, mobilenetv2.dw56 0.24 -> 0.20 ms at 2 threads).
    std::atomic<bool> finite{true};
    parallel_for(p.groups, [&](std::int64_t begin, std::int64_t end, int) {
      // (the taps kernel may read a vector past the shifted copy: zeroed slack)
      T* mine = static_cast<T*>(thread_scratch(
          static_cast<std::size_t>(g.cstride + kTapsSlack + st.dlen) * sizeof(T)));
      T* xc = mine;
      T* dc = mine + g.cstride + kTapsSlack;
      std::fill(xc + g.cstride, dc, T(0));
      for (std::int64_t c = begin; c < end && finite; ++c)
        for (std::int64_t n = 0; n < p.batch; ++n) {
          build_shifted_channel<T>(p, g, rows, a.x, n, c, xc);
          build_output_ext<T>(p, st.geo, a.y, n, c, 0, st.dlen, dc);
          if (!all_finite(xc, g.cstride) || !all_finite(dc, st.dlen)) {
            finite = false;
            break;
          }
          uk.run_taps(qlen, dc, xc, g.taps.data(), taps, acc + c * taps);
        }
    });
    if (!finite) return false;
  }
  for (std::int64_t n = 0; n < p.batch && !depthwise; ++n) {
    std::atomic<bool> finite{true};
    parallel_for(p.in_channels, [&](std::int64_t begin, std::int64_t end, int) {
      build_shifted_channels<T>(p, g, rows, a.x, n, begin, end, xs);
      if (!all_finite(xs + begin * g.cstride, (end - begin) * g.cstride)) finite = false;
    });
    parallel_for(p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t k = begin; k < end; ++k) {
        build_output_ext<T>(p, st.geo, a.y, n, k, 0, st.dlen, dye + k * st.dlen);
        if (!all_finite(dye + k * st.dlen, st.dlen)) finite = false;
      }
    });
    if (!finite) return false;
    for (std::int64_t q0 = 0; q0 < qlen; q0 += kQChunk) {
      const std::int64_t len = std::min(kQChunk, qlen - q0);
      parallel_for_dynamic(items, 1, [&](std::int64_t begin, std::int64_t end, int) {
        const T* rows[8];
        const T* colp[8];
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t jt = item % jtiles, kt = (item / jtiles) % ktiles;
          const std::int64_t grp = item / (jtiles * ktiles);
          for (std::int64_t i = 0; i < mr; ++i)
            rows[i] = dye + (grp * Kg + std::min(kt * mr + i, Kg - 1)) * st.dlen + q0;
          for (std::int64_t j = 0; j < nj; ++j) {
            const std::int64_t r = std::min(jt * nj + j, cols - 1);
            colp[j] = xs + (grp * Cg + r / taps) * g.cstride + g.taps[static_cast<std::size_t>(r % taps)] + q0;
          }
          uk.run(len, rows, colp, acc + item * mr * nj, nj, true);
        }
      });
    }
  }
  // Scatter the accumulated blocks into the weight gradient's layout.
  const std::vector<std::int64_t> tap_dst = spatial_offsets(a.w);  // element offset in dw
  if (depthwise) {
    parallel_for(p.groups, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t c = begin; c < end; ++c) {
        T* to = a.w.at<T>(c, 0, 0, 0, 0);
        for (std::int64_t t = 0; t < taps; ++t) to[tap_dst[static_cast<std::size_t>(t)]] = acc[c * taps + t];
      }
    });
    return true;
  }
  parallel_for(items, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t jt = item % jtiles, kt = (item / jtiles) % ktiles;
      const std::int64_t grp = item / (jtiles * ktiles);
      for (std::int64_t i = 0; i < mr && kt * mr + i < Kg; ++i)
        for (std::int64_t j = 0; j < nj && jt * nj + j < cols; ++j) {
          const std::int64_t r = jt * nj + j;
          a.w.at<T>(grp * Kg + kt * mr + i, r / taps, 0, 0, 0)[tap_dst[static_cast<std::size_t>(r % taps)]] =
              acc[(item * mr + i) * nj + j];
        }
    }
  });
  return true;
}

class DirectConvBackwardWeights final : public Algorithm {
 public:
  const char* name() const override { return "direct_bwd_weights"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_weights) return "backward-weights only";
    return shifted_layout_declines(p);
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    const Geometry g = geometry(p, kQuantum);
    if (g.qext > 2 * p.out_spatial() + 2 * kQuantum)
      return "more than half of its extended output grid would be zeros";
    return {};
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    auto st = std::make_shared<State>();
    st->isa = active_isa();
    st->geo = geometry(p, kQuantum);
    st->dlen = (st->geo.qext + kQuantum - 1) / kQuantum * kQuantum;
    return st;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    const bool dw = p.in_channels_per_group() == 1 && p.out_channels_per_group() == 1;
    const char* kname = p.dtype == DType::f32
                            ? (dw ? kernel_for<float>(st.isa).taps_name : kernel_for<float>(st.isa).name)
                            : (dw ? kernel_for<double>(st.isa).taps_name : kernel_for<double>(st.isa).name);
    return describe_kernel(kname, st.isa);
  }

  // Depthwise: each thread's copy of one channel and its dy row (the other problems use shared
  // scratch only).
  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    if (p.in_channels_per_group() != 1 || p.out_channels_per_group() != 1) return 0;
    const Geometry g = geometry(p, kQuantum);
    const std::int64_t dlen = (g.qext + kQuantum - 1) / kQuantum * kQuantum;
    return static_cast<std::size_t>(g.cstride + kTapsSlack + dlen) * dtype_size(p.dtype);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    const bool done = with_dtype(
        p.dtype, [&](auto tag) { return run_backward_weights<decltype(tag)>(p, st, a); });
    if (!done) ref::conv_backward_weights(p, a.y, a.x, a.w);
  }
};

}  // namespace

const Algorithm& direct_conv_backward_weights_algorithm() {
  static const DirectConvBackwardWeights algo;
  return algo;
}

}  // namespace convkit::detail
