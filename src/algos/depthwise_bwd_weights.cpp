// src/algos/depthwise_bwd_weights.cpp — weight gradients of depthwise layers (one input and
// one output channel per group), vectors over channels.
//
// A work item is a chunk of CH channels (CH a multiple of the vector width). For each image the
// chunk's input is copied position-major (CH channels per position) into a zero-bordered
// buffer of the padded extent, and its output gradient position-major likewise. Then each
// source row offset (kd, kh) of the window is one call of the channels-last weight-gradient
// kernel (kernels/dwconv: f*_dwconv_cl_wgrad_*) over every output row of a depth slice, the
// KW taps' sums of a channel vector in registers throughout:
//   dw[c][t] += Σ_o dy[o][c] · xpad[o·s + t·d][c].
// A 3×3 window runs its three source rows in one call instead (f*_dwconv_cl_wgrad_3x3x*: all
// nine sums in registers, each input and gradient vector loaded from L2 once per output row).
// Lanes past the last channel of a chunk hold zeros and are discarded. A channel's sums run in
// one fixed order (images, depth slices, sources, rows, positions) in its own lane, so results
// do not depend on the thread count or the chunk size. Zero padding only; the padded zeros
// enter as products, as in the reference (src/ref/conv_ref.hpp), so the products summed are
// the reference's and Inf and NaN propagate as there.
//
// Against direct_bwd_weights (one channel at a time on the shifted layout, all taps' sums in
// registers, ending in one horizontal sum per tap) this wins up to about a megabyte of buffers
// per vector of channels (mobilenetv2's planes, up to dw112), as the per-channel copies, scans
// and horizontal sums dominate there.
#include "algos/depthwise_bwd_weights.hpp"

#include <algorithm>
#include <string>

#include "algos/position_major.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace convkit::detail {
namespace {

// A chunk's two position-major buffers should stay in L2 (1 MB on the machines measured):
// chunks shrink (down to one vector of channels) until they fit this.
constexpr double kChunkBudgetBytes = 640.0 * 1024;
constexpr std::int64_t kMaxChunk = 64;
// Channels-first problems whose buffers for one vector of channels exceed this go to
// direct_bwd_weights, which reads the planes in place. Measured at 2 threads (ms, this
// algorithm vs direct_bwd_weights, with the fused 3×3 kernel): mobilenetv2.dw56 (0.41 MB)
// 0.094 vs 0.13, dw112 (stride 2, 1.03 MB) 0.158 vs 0.27, 112×112 at stride 1 (1.6 MB) 0.09
// vs 0.098, 224×224 (6.5 MB) 0.86 vs 0.39.
constexpr double kMaxPreferredVectorBytes = 1.25 * 1024 * 1024;

std::int64_t lanes_of(const ConvProblem& p, Isa isa) {
  return p.dtype == DType::f32 ? dwconv_kernel<float>(isa).lanes : dwconv_kernel<double>(isa).lanes;
}

// Elements per channel of the two buffers, the accumulators and the staging area (padded input
// extent, output positions, taps, input positions of short rows), in double so that absurd sizes cannot overflow before they are refused.
double elements_per_channel(const ConvProblem& p) {
  double padded = 1, out = 1;
  for (int j = 0; j < 3; ++j) {
    padded *= static_cast<double>(p.in[j] + p.pad_before[j] + p.pad_after[j]);
    out *= static_cast<double>(p.out[j]);
  }
  const double stage = p.in[2] < kPositionMajorLongRow ? static_cast<double>(p.in_spatial()) : 0.0;
  return padded + out + static_cast<double>(p.kernel_spatial()) + stage;
}

struct State {
  Isa isa;
  std::int64_t chunk;  // channels per work item
  std::int64_t P[3];   // padded input extent
  // Strides of axes with one output and dilations of axes with one tap are never applied:
  // they are 0 here, so that absurd values there cannot overflow the offsets (every other
  // stride and dilation step stays inside the padded extent).
  std::int64_t stride[3], dilation[3];
};

// Whether a 3×3 window's three rows run in one call of the fused kernel (any stride and
// dilation; the kernel slides its input window when they are equal along the row).
bool fused_3x3(const ConvProblem& p) { return p.kernel[1] == 3 && p.kernel[2] == 3; }

// The largest chunk whose buffers fit the budget (at least one vector of channels).
std::int64_t chunk_cap(const ConvProblem& p, Isa isa) {
  const std::int64_t lanes = lanes_of(p, isa);
  const double per_channel = elements_per_channel(p) * static_cast<double>(dtype_size(p.dtype));
  std::int64_t ch = kMaxChunk;
  while (ch > lanes && static_cast<double>(ch) * per_channel > kChunkBudgetBytes) ch /= 2;
  return std::max(ch, lanes);
}

// Smaller chunks when there would be fewer than two per thread (results do not depend on the
// chunk size).
std::int64_t chunk_for(const ConvProblem& p, Isa isa) {
  const std::int64_t lanes = lanes_of(p, isa);
  std::int64_t ch = chunk_cap(p, isa);
  while (ch > lanes && (p.in_channels + ch - 1) / ch < 2 * current_num_threads()) ch /= 2;
  return ch;
}

std::size_t scratch_bytes(const ConvProblem& p, std::int64_t chunk) {
  return static_cast<std::size_t>(elements_per_channel(p) * static_cast<double>(chunk)) *
             dtype_size(p.dtype) + 192;
}

template <typename T>
void run(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const DwconvKernel<T>& uk = dwconv_kernel<T>(st.isa);
  const std::int64_t CH = st.chunk, C = p.in_channels;
  const std::int64_t nchunks = (C + CH - 1) / CH;
  const std::int64_t* P = st.P;
  const std::int64_t xlen = P[0] * P[1] * P[2] * CH;
  const std::int64_t ylen = p.out_spatial() * CH;
  const std::int64_t taps = p.kernel_spatial();
  const std::int64_t KD = p.kernel[0], KH = p.kernel[1], KW = p.kernel[2];
  parallel_for(nchunks, [&](std::int64_t begin, std::int64_t end, int) {
    char* mem = static_cast<char*>(thread_scratch(scratch_bytes(p, CH)));
    const T* xsrc[3];
    T* dwsrc[3];
    T* xb = reinterpret_cast<T*>(mem);
    T* yb = xb + xlen;
    T* acc = yb + ylen;
    T* stage = acc + taps * CH;
    // Borders (and the lanes past a short last chunk) stay zero: copies write interiors only.
    std::fill(xb, xb + xlen + ylen, T(0));
    for (std::int64_t chunk = begin; chunk < end; ++chunk) {
      const std::int64_t c0 = chunk * CH, cn = std::min(CH, C - c0);
      if (cn < CH && chunk != begin) std::fill(xb, xb + xlen + ylen, T(0));
      std::fill(acc, acc + taps * CH, T(0));
      for (std::int64_t n = 0; n < p.batch; ++n) {
        gather_position_major<T>(uk, a.x, n, c0, cn, p.in,
                           xb + ((p.pad_before[0] * P[1] + p.pad_before[1]) * P[2] + p.pad_before[2]) * CH,
                           P[1], P[2] * CH, CH, stage);
        gather_position_major<T>(uk, a.y, n, c0, cn, p.out, yb, p.out[1], p.out[2] * CH, CH, stage);
        // Per output plane row group (o0) and source (kd, kh): one call over all o1 rows.
        DwconvClWgradArgs<T> args{};
        args.nrows = p.out[1];
        args.npos = p.out[2];
        args.channels = CH;
        args.nsrc = 1;
        args.kw = KW;
        args.xsrc = xsrc;
        args.dwsrc = dwsrc;
        args.x_row = st.stride[1] * P[2] * CH;
        args.pos_step = st.stride[2] * CH;
        args.kw_step = st.dilation[2] * CH;
        args.dwstride = CH;
        args.dy_row = p.out[2] * CH;
        args.dy_step = CH;
        const bool fused = fused_3x3(p);
        for (std::int64_t o0 = 0; o0 < p.out[0]; ++o0) {
          args.dy = yb + o0 * p.out[1] * p.out[2] * CH;
          for (std::int64_t kd = 0; kd < KD; ++kd) {
            if (fused) {
              args.nsrc = 3;
              for (std::int64_t kh = 0; kh < 3; ++kh) {
                xsrc[kh] = xb + ((o0 * st.stride[0] + kd * st.dilation[0]) * P[1] + kh * st.dilation[1]) * P[2] * CH;
                dwsrc[kh] = acc + (kd * KH + kh) * KW * CH;
              }
              uk.cl_wgrad_3x3(args);
              continue;
            }
            args.nsrc = 1;
            for (std::int64_t kh = 0; kh < KH; ++kh) {
              xsrc[0] = xb + ((o0 * st.stride[0] + kd * st.dilation[0]) * P[1] + kh * st.dilation[1]) * P[2] * CH;
              dwsrc[0] = acc + (kd * KH + kh) * KW * CH;
              uk.cl_wgrad_row(args);
            }
          }
        }
      }
      const View5& w = a.w;
      if (w.dense_from(2)) {  // each channel's taps are one run
        uk.transpose(taps, cn, acc, CH, w.at<T>(c0, 0, 0, 0, 0), w.stride[0]);
        continue;
      }
      for (std::int64_t c = 0; c < cn; ++c) {
        std::int64_t t = 0;
        for (std::int64_t t0 = 0; t0 < KD; ++t0)
          for (std::int64_t t1 = 0; t1 < KH; ++t1)
            for (std::int64_t t2 = 0; t2 < KW; ++t2, ++t) *a.w.at<T>(c0 + c, 0, t0, t1, t2) = acc[t * CH + c];
      }
    }
  });
}

class DepthwiseBwdWeights final : public Algorithm {
 public:
  const char* name() const override { return "depthwise_bwd_weights"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_weights) return "backward-weights only";
    if (p.in_channels_per_group() != 1 || p.out_channels_per_group() != 1)
      return "groups have " + std::to_string(p.in_channels_per_group()) + " input and " +
             std::to_string(p.out_channels_per_group()) +
             " output channels (depthwise weight gradients need 1 and 1)";
    for (int j = 0; j < 3; ++j) {
      if (p.pad_before[j] < 0 || p.pad_after[j] < 0) return "negative padding (cropping)";
      if ((p.pad_before[j] != 0 || p.pad_after[j] != 0) && p.padding_mode != PaddingMode::zeros)
        return std::string("padding mode '") + padding_mode_name(p.padding_mode) + "' (zero padding only)";
    }
    // One vector of channels' buffers must be addressable (they are sized per work item).
    if (elements_per_channel(p) * 64 > 1e12) return "planes too large for its per-chunk buffers";
    return {};
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    // (Channels-last layers always: direct_bwd_weights gathers each channel with a stride,
    // 3-5x slower on mobilenetv2.dw56/dw112 even when these buffers outgrow L2.)
    if (p.layout == Layout::channels_last) return {};
    const Isa isa = active_isa();
    if (static_cast<double>(lanes_of(p, isa)) * elements_per_channel(p) *
            static_cast<double>(dtype_size(p.dtype)) > kMaxPreferredVectorBytes)
      return "one vector of channels' planes exceeds 1.25 MB (direct_bwd_weights streams them "
             "in place)";
    return {};
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    auto st = std::make_shared<State>();
    st->isa = active_isa();
    st->chunk = chunk_for(p, st->isa);
    for (int j = 0; j < 3; ++j) {
      st->P[j] = p.in[j] + p.pad_before[j] + p.pad_after[j];
      st->stride[j] = p.out[j] > 1 ? p.stride[j] : 0;
      st->dilation[j] = p.kernel[j] > 1 ? p.dilation[j] : 0;
    }
    return st;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    const bool fused = fused_3x3(p);
    const auto name = [&](auto tag) {
      const auto& k = dwconv_kernel<decltype(tag)>(st.isa);
      return fused ? k.cl_wgrad_3x3_name : k.cl_wgrad_name;
    };
    return describe_kernel(p.dtype == DType::f32 ? name(float{}) : name(double{}), st.isa) +
           ", " + std::to_string(st.chunk) + " channels per work item";
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    return scratch_bytes(p, chunk_cap(p, active_isa()));
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    with_dtype(p.dtype, [&](auto tag) { run<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& depthwise_bwd_weights_algorithm() {
  static const DepthwiseBwdWeights algo;
  return algo;
}

}  // namespace convkit::detail
