// src/algos/depthwise_conv.cpp — forward convolution when every group has one input channel
// (depthwise, with any channel multiplier).
//
// One work item is one (image, input channel): the channel is rewritten into the stride-phase
// layout (src/algos/shifted_layout.hpp) in the thread's own scratch, each of its output
// channels is computed over all extended positions by the depthwise micro-kernel (tap weights
// in registers), and the real outputs are copied out with the bias. Nothing is shared between
// items, so results do not depend on the thread count.
#include <algorithm>
#include <string>

#include "algos/algorithm.hpp"
#include "algos/depthwise_conv.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace convkit::detail {
namespace {

template <typename T>
const DwconvKernel<T>& kernel_for(Isa isa);
template <>
const DwconvKernel<float>& kernel_for<float>(Isa isa) { return dwconv_kernels(isa).f32; }
template <>
const DwconvKernel<double>& kernel_for<double>(Isa isa) { return dwconv_kernels(isa).f64; }

std::int64_t block_of(const ConvProblem& p, Isa isa) {
  return p.dtype == DType::f32 ? kernel_for<float>(isa).block : kernel_for<double>(isa).block;
}

struct State {
  Isa isa;
  Geometry geo;
  std::int64_t len;  // extended positions rounded up to the kernel's block
};

template <typename T>
void run_forward(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const DwconvKernel<T>& uk = kernel_for<T>(st.isa);
  const Geometry& g = st.geo;
  const std::int64_t Kg = p.out_channels_per_group(), taps = p.kernel_spatial();
  const std::int64_t k12 = p.kernel[1] * p.kernel[2];
  const std::int64_t ys = a.y.stride[4];
  parallel_for(p.batch * p.in_channels, [&](std::int64_t begin, std::int64_t end, int) {
    // Per thread: the channel's shifted copy, one output row of extended positions, weights.
    T* xs = static_cast<T*>(thread_scratch(
        static_cast<std::size_t>(g.cstride + st.len + taps) * sizeof(T)));
    T* out = xs + g.cstride;
    T* w = out + st.len;
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t n = item / p.in_channels, c = item % p.in_channels;
      build_shifted_channel<T>(p, g, a.x, n, c, xs);
      for (std::int64_t kk = 0; kk < Kg; ++kk) {
        const std::int64_t k = c * Kg + kk;
        for (std::int64_t t = 0; t < taps; ++t)
          w[t] = *a.w.at<const T>(k, 0, t / k12, (t / p.kernel[2]) % p.kernel[1], t % p.kernel[2]);
        uk.run(st.len, taps, g.taps.data(), xs, w, out);
        const T bias = a.bias ? *a.bias->at<const T>(k) : T(0);
        for (std::int64_t o0 = 0; o0 < p.out[0]; ++o0)
          for (std::int64_t o1 = 0; o1 < p.out[1]; ++o1) {
            const T* src = out + (o0 * g.Lq[1] + o1) * g.Lq[2];
            T* dst = a.y.at<T>(n, k, o0, o1, 0);
            if (ys == 1) {
              for (std::int64_t o2 = 0; o2 < p.out[2]; ++o2) dst[o2] = src[o2] + bias;
            } else {
              for (std::int64_t o2 = 0; o2 < p.out[2]; ++o2) dst[o2 * ys] = src[o2] + bias;
            }
          }
      }
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
    for (int j = 0; j < 3; ++j)
      if (p.pad_after[j] < 0) return "negative trailing padding";
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
    const char* kname =
        p.dtype == DType::f32 ? kernel_for<float>(st.isa).name : kernel_for<double>(st.isa).name;
    return describe_kernel(kname, st.isa);
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    const std::int64_t block = block_of(p, active_isa());
    const Geometry g = geometry(p, block);
    return static_cast<std::size_t>(g.cstride + g.qext + block + p.kernel_spatial()) *
           dtype_size(p.dtype);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    with_dtype(p.dtype, [&](auto tag) { run_forward<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& depthwise_conv_algorithm() {
  static const DepthwiseConv algo;
  return algo;
}

}  // namespace convkit::detail
