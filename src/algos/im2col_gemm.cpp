// src/algos/im2col_gemm.cpp — forward convolution as blocked GEMM over im2col tiles.
//
// For each image n and group g:  Y[Kg × OUT] = W[Kg × Cg·kvol] · Col[Cg·kvol × OUT].
// The weights are packed once per call into MR-row panels (shared by all threads); the
// columns are gathered straight from the input into NR-column panels, one KC × NCB block at a
// time, so no whole-tensor im2col buffer ever exists. Padding of every mode is applied while
// gathering. Work items are (n, g, column block): each output element is computed by one
// thread with a fixed reduction order, so results do not depend on the thread count.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/im2col_gemm.hpp"
#include "core/arena.hpp"
#include "core/cpu_features.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"
#include "kernels/gemm/gemm_kernels.hpp"

namespace convkit::detail {
namespace {

constexpr std::int64_t kKc = 256;         // reduction block (rows of a packed B block)
constexpr std::int64_t kPanelsPerBlock = 4;  // NR-panels per column block

struct Blocking {
  std::int64_t mr, nr, kg_pad, kred, ncb, panels_a;
};

template <typename T>
Blocking blocking(const ConvProblem& p, const GemmKernel<T>& k) {
  Blocking b;
  b.mr = k.mr;
  b.nr = k.nr;
  b.panels_a = (p.out_channels_per_group() + b.mr - 1) / b.mr;
  b.kg_pad = b.panels_a * b.mr;
  b.kred = p.in_channels_per_group() * p.kernel_spatial();
  b.ncb = b.nr * kPanelsPerBlock;
  return b;
}

template <typename T>
const GemmKernel<T>& kernel_for(Isa isa);
template <>
const GemmKernel<float>& kernel_for<float>(Isa isa) { return gemm_kernels(isa).f32; }
template <>
const GemmKernel<double>& kernel_for<double>(Isa isa) { return gemm_kernels(isa).f64; }

struct State {
  Isa isa;
};

// Packs W of every group as [g][panel][kred][mr] (rows past Kg are zero).
template <typename T>
void pack_weights(const ConvProblem& p, const View5& w, const Blocking& b, T* ap) {
  const std::int64_t Kg = p.out_channels_per_group();
  const std::int64_t kvol = p.kernel_spatial();
  const std::int64_t kh_kw = p.kernel[1] * p.kernel[2];
  parallel_for(p.groups * b.panels_a, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t g = item / b.panels_a, panel = item % b.panels_a;
      T* dst = ap + (g * b.panels_a + panel) * b.kred * b.mr;
      for (std::int64_t r = 0; r < b.kred; ++r) {
        const std::int64_t c = r / kvol, t = r % kvol;
        const std::int64_t kd = t / kh_kw, kh = (t / p.kernel[2]) % p.kernel[1],
                           kw = t % p.kernel[2];
        for (std::int64_t i = 0; i < b.mr; ++i) {
          const std::int64_t kk = panel * b.mr + i;
          dst[r * b.mr + i] = kk < Kg ? *w.at<const T>(g * Kg + kk, c, kd, kh, kw) : T(0);
        }
      }
    }
  });
}

// Calls fn(j, seg, od, oh, ow) for each run of columns [col0 + j, col0 + j + seg) that lies in
// one output row (fixed od, oh; ow, ow + 1, ...), covering `cols` columns from col0.
template <typename Fn>
void for_each_row_segment(const ConvProblem& p, std::int64_t col0, std::int64_t cols, Fn&& fn) {
  std::int64_t od = col0 / (p.out[1] * p.out[2]), oh = (col0 / p.out[2]) % p.out[1],
               ow = col0 % p.out[2];
  for (std::int64_t j = 0; j < cols;) {
    const std::int64_t seg = std::min(cols - j, p.out[2] - ow);
    fn(j, seg, od, oh, ow);
    j += seg;
    ow = 0;
    if (++oh == p.out[1]) {
      oh = 0;
      ++od;
    }
  }
}

// One row of the im2col matrix for columns [col0, col0 + cols): the input of channel c at each
// window's position plus `off` (dilated tap offset minus padding), padded by the problem's
// mode, zero beyond `cols` up to `width`. Element j goes to dst[(j / nr) * panel_stride + j % nr].
template <typename T>
void gather_row(const ConvProblem& p, const View5& x, std::int64_t n, std::int64_t c,
                const std::int64_t off[3], std::int64_t col0, std::int64_t cols,
                std::int64_t width, T* dst, std::int64_t panel_stride, std::int64_t nr) {
  auto put = [&](std::int64_t j, T v) { dst[(j / nr) * panel_stride + j % nr] = v; };
  const std::int64_t in_w = p.in[2], sx = x.stride[4], st = p.stride[2];
  for_each_row_segment(p, col0, cols, [&](std::int64_t j, std::int64_t seg, std::int64_t od,
                                          std::int64_t oh, std::int64_t ow) {
    const std::int64_t sd = pad_source(od * p.stride[0] + off[0], p.in[0], p.padding_mode);
    const std::int64_t sh = pad_source(oh * p.stride[1] + off[1], p.in[1], p.padding_mode);
    if (sd < 0 || sh < 0) {
      for (std::int64_t q = 0; q < seg; ++q) put(j + q, T(0));
      return;
    }
    const T* row = x.at<const T>(n, c, sd, sh, 0);
    const std::int64_t iw0 = ow * st + off[2];
    for (std::int64_t q = 0; q < seg; ++q) {
      const std::int64_t iw = iw0 + q * st;  // (no step past the last window: strides can be huge)
      if (static_cast<std::uint64_t>(iw) < static_cast<std::uint64_t>(in_w)) {
        put(j + q, row[iw * sx]);
      } else {
        const std::int64_t s = pad_source(iw, in_w, p.padding_mode);
        put(j + q, s < 0 ? T(0) : row[s * sx]);
      }
    }
  });
  for (std::int64_t j = cols; j < width; ++j) put(j, T(0));
}

template <typename T>
void run_forward(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const GemmKernel<T>& uk = kernel_for<T>(st.isa);
  const Blocking b = blocking<T>(p, uk);
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t ncol = p.out_spatial();
  const std::int64_t nblocks = (ncol + b.ncb - 1) / b.ncb;
  const std::int64_t kvol = p.kernel_spatial();
  const std::int64_t kh_kw = p.kernel[1] * p.kernel[2];

  T* ap = static_cast<T*>(thread_scratch(
      static_cast<std::size_t>(p.groups * b.kg_pad * b.kred) * sizeof(T), ScratchSlot::shared));
  pack_weights<T>(p, a.w, b, ap);

  const std::size_t bpack_elems = static_cast<std::size_t>(kKc * b.ncb);
  const std::size_t cbuf_elems = static_cast<std::size_t>(b.kg_pad * b.ncb);

  parallel_for(p.batch * p.groups * nblocks, [&](std::int64_t begin, std::int64_t end, int) {
    T* bp = static_cast<T*>(thread_scratch((bpack_elems + cbuf_elems) * sizeof(T)));
    T* cbuf = bp + bpack_elems;
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t n = item / (p.groups * nblocks);
      const std::int64_t g = (item / nblocks) % p.groups;
      const std::int64_t col0 = (item % nblocks) * b.ncb;
      const std::int64_t cols = std::min(b.ncb, ncol - col0);
      const std::int64_t panels_b = (cols + b.nr - 1) / b.nr;
      const T* ag = ap + g * b.kg_pad * b.kred;
      for (std::int64_t k0 = 0; k0 < b.kred; k0 += kKc) {
        const std::int64_t kc = std::min(kKc, b.kred - k0);
        // Gather Col[k0 : k0+kc, col0 : col0+cols] into NR-column panels.
        for (std::int64_t r = 0; r < kc; ++r) {
          const std::int64_t rr = k0 + r;
          const std::int64_t c = g * Cg + rr / kvol, t = rr % kvol;
          const std::int64_t off[3] = {(t / kh_kw) * p.dilation[0] - p.pad_before[0],
                                       ((t / p.kernel[2]) % p.kernel[1]) * p.dilation[1] -
                                           p.pad_before[1],
                                       (t % p.kernel[2]) * p.dilation[2] - p.pad_before[2]};
          gather_row<T>(p, a.x, n, c, off, col0, cols, panels_b * b.nr, bp + r * b.nr, kc * b.nr,
                        b.nr);
        }
        for (std::int64_t i = 0; i < b.panels_a; ++i)
          for (std::int64_t j = 0; j < panels_b; ++j)
            uk.run(kc, ag + i * b.mr * b.kred + k0 * b.mr, bp + j * kc * b.nr,
                   cbuf + i * b.mr * b.ncb + j * b.nr, b.ncb, k0 > 0);
      }
      // Write back with the bias (an empty reduction cannot happen: kred >= 1).
      for (std::int64_t kk = 0; kk < Kg; ++kk) {
        const std::int64_t k = g * Kg + kk;
        const T bias = a.bias ? *a.bias->at<const T>(k) : T(0);
        const T* crow = cbuf + kk * b.ncb;
        for_each_row_segment(p, col0, cols, [&](std::int64_t j, std::int64_t seg, std::int64_t od,
                                                std::int64_t oh, std::int64_t ow) {
          T* yrow = a.y.at<T>(n, k, od, oh, ow);
          const std::int64_t ys = a.y.stride[4];
          if (a.relu)
            for (std::int64_t q = 0; q < seg; ++q) yrow[q * ys] = relu(crow[j + q] + bias);
          else
            for (std::int64_t q = 0; q < seg; ++q) yrow[q * ys] = crow[j + q] + bias;
        });
      }
    }
  });
}

class Im2colGemm final : public Algorithm {
 public:
  const char* name() const override { return "im2col_gemm"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::forward) return "forward only";
    // Packed weights (groups · padded rows · reduction) and panel buffers must be addressable.
    const double packed = static_cast<double>(p.groups) *
                          static_cast<double>(p.out_channels_per_group() + 32) *
                          static_cast<double>(p.in_channels_per_group()) *
                          static_cast<double>(p.kernel_spatial());
    if (packed > 4e12) return "packed weights would exceed 4e12 elements";
    return {};
  }

  std::shared_ptr<void> prepare(const ConvProblem&, Direction) const override {
    auto s = std::make_shared<State>();
    s->isa = active_isa();
    return s;
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const Isa isa = static_cast<const State*>(state)->isa;
    return describe_kernel(gemm_kernel_name(p.dtype, isa).c_str(), isa);
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    const Isa isa = active_isa();
    const std::size_t es = dtype_size(p.dtype);
    const Blocking b = p.dtype == DType::f32 ? blocking<float>(p, kernel_for<float>(isa))
                                             : blocking<double>(p, kernel_for<double>(isa));
    return static_cast<std::size_t>(kKc * b.ncb + b.kg_pad * b.ncb) * es;
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    with_dtype(p.dtype, [&](auto tag) { run_forward<decltype(tag)>(p, st, a); });
  }
};

}  // namespace

const Algorithm& im2col_gemm_algorithm() {
  static const Im2colGemm algo;
  return algo;
}

std::string gemm_kernel_name(DType t, Isa isa) {
  return t == DType::f32 ? gemm_kernels(isa).f32.name : gemm_kernels(isa).f64.name;
}

}  // namespace convkit::detail
