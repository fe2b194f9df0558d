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
#include <type_traits>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/outer_bwd_weights.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "ref/conv_ref.hpp"

namespace convkit::detail {
namespace {

constexpr std::size_t kSliceBytes = 384 * 1024;  // transposed chunk (L2)
constexpr std::int64_t kMaxChunk = 4096, kMinChunk = 64;

struct State {
  Isa isa;
  Geometry geo;
  std::int64_t dlen;  // elements per output channel of dy_ext
};

template <typename T>
const ConvKernel<T>& outer_kernel(const ConvProblem& p, Isa isa) {
  return pick_kernel<T>(isa, p.out_channels_per_group(), p.in_channels_per_group());
}

// True when the view's spatial planes (dims 2..4) are contiguous, so that a 1×1 stride-1
// unpadded problem's extended positions are the plane's flat indices.
bool planes_contiguous(const View5& v) {
  std::int64_t expect = 1;
  for (int d = 4; d >= 2; --d) {
    if (v.size[d] > 1 && v.stride[d] != expect) return false;
    expect *= v.size[d];
  }
  return true;
}

bool unit_problem(const ConvProblem& p) {
  for (int j = 0; j < 3; ++j)
    if (p.kernel[j] != 1 || p.stride[j] != 1 || p.pad_before[j] != 0 || p.pad_after[j] != 0)
      return false;
  return true;
}

// dst[r·ldd + c] = src[c·lds + r] for c < cn, r < rn: 4×4 (float) or 2×2 (double) blocks
// transposed in 16-byte registers (GCC vector extensions, any target), scalar edges.
template <typename T>
void transpose_block(std::int64_t cn, std::int64_t rn, const T* src, std::int64_t lds, T* dst,
                     std::int64_t ldd) {
  constexpr int B = 16 / sizeof(T);
  typedef T V __attribute__((vector_size(16)));
  using I = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  typedef I M __attribute__((vector_size(16)));
  const std::int64_t cb = cn / B * B, rb = rn / B * B;
  for (std::int64_t c = 0; c < cb; c += B) {
    for (std::int64_t r = 0; r < rb; r += B) {
      V v[B];
      for (int i = 0; i < B; ++i) std::memcpy(&v[i], src + (c + i) * lds + r, sizeof(V));
      V o[B];
      if constexpr (B == 4) {
        const V t0 = __builtin_shuffle(v[0], v[1], M{0, 4, 1, 5});
        const V t1 = __builtin_shuffle(v[0], v[1], M{2, 6, 3, 7});
        const V t2 = __builtin_shuffle(v[2], v[3], M{0, 4, 1, 5});
        const V t3 = __builtin_shuffle(v[2], v[3], M{2, 6, 3, 7});
        o[0] = __builtin_shuffle(t0, t2, M{0, 1, 4, 5});
        o[1] = __builtin_shuffle(t0, t2, M{2, 3, 6, 7});
        o[2] = __builtin_shuffle(t1, t3, M{0, 1, 4, 5});
        o[3] = __builtin_shuffle(t1, t3, M{2, 3, 6, 7});
      } else {
        o[0] = __builtin_shuffle(v[0], v[1], M{0, 2});
        o[1] = __builtin_shuffle(v[0], v[1], M{1, 3});
      }
      for (int i = 0; i < B; ++i) std::memcpy(dst + (r + i) * ldd + c, &o[i], sizeof(V));
    }
    for (std::int64_t r = rb; r < rn; ++r)
      for (int i = 0; i < B; ++i) dst[r * ldd + c + i] = src[(c + i) * lds + r];
  }
  for (std::int64_t c = cb; c < cn; ++c)
    for (std::int64_t r = 0; r < rn; ++r) dst[r * ldd + c] = src[c * lds + r];
}

// Returns false (result unspecified) when a NaN or Inf in x or dy would meet the zeros of the
// layout (padding, discarded positions) in a product that a plain sum does not contain; the
// caller then recomputes with the reference.
template <typename T>
bool run_outer(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const ConvKernel<T>& uk = outer_kernel<T>(p, st.isa);
  const Geometry& g = st.geo;
  const std::int64_t mr = uk.mr, nr = uk.nr;
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t C = p.in_channels, taps = p.kernel_spatial();
  const std::int64_t ktiles = (Kg + mr - 1) / mr, ctiles = (Cg + nr - 1) / nr;
  const std::int64_t per_group = ktiles * taps * ctiles;
  const std::int64_t items = p.groups * per_group;
  const bool unit = unit_problem(p);
  const bool x_in_place = unit && planes_contiguous(a.x);
  const bool dy_in_place = unit && planes_contiguous(a.y);

  // Used phases: each gets its own transposed slice of chunk + largest shift rows.
  std::vector<std::int64_t> phase_of(static_cast<std::size_t>(taps)), shift_of(phase_of);
  std::vector<std::int64_t> max_shift(static_cast<std::size_t>(g.phases), -1);
  for (std::int64_t t = 0; t < taps; ++t) {
    const std::int64_t off = g.taps[static_cast<std::size_t>(t)];
    phase_of[static_cast<std::size_t>(t)] = off / g.plane;
    shift_of[static_cast<std::size_t>(t)] = off % g.plane;
    auto& m = max_shift[static_cast<std::size_t>(off / g.plane)];
    m = std::max(m, off % g.plane);
  }
  std::int64_t used = 0, shift_sum = 0;
  for (std::int64_t m : max_shift)
    if (m >= 0) {
      ++used;
      shift_sum += m;
    }
  // Row stride of XT: the channels rounded to a cache line, plus one line against aliasing.
  const std::int64_t line = 64 / static_cast<std::int64_t>(sizeof(T));
  const std::int64_t ldc = (C + nr + line - 1) / line * line + line;
  std::int64_t chunk =
      static_cast<std::int64_t>(kSliceBytes / (static_cast<std::size_t>(ldc) * sizeof(T))) / used -
      shift_sum / used;
  chunk = std::clamp(chunk / 16 * 16, kMinChunk, kMaxChunk);
  chunk = std::min(chunk, std::max<std::int64_t>(g.qext, 1));
  // Where each used phase's slice starts in XT (rows of ldc elements).
  std::vector<std::int64_t> slice_row(static_cast<std::size_t>(g.phases), 0);
  std::int64_t xt_rows = 0;
  for (std::int64_t ph = 0; ph < g.phases; ++ph)
    if (max_shift[static_cast<std::size_t>(ph)] >= 0) {
      slice_row[static_cast<std::size_t>(ph)] = xt_rows;
      xt_rows += chunk + max_shift[static_cast<std::size_t>(ph)];
    }

  const std::size_t acc_bytes =
      (static_cast<std::size_t>(items * mr * nr) * sizeof(T) + 63) / 64 * 64;
  const std::size_t xt_bytes = (static_cast<std::size_t>(xt_rows * ldc) * sizeof(T) + 63) / 64 * 64;
  const std::size_t dye_bytes =
      dy_in_place ? 0
                  : (static_cast<std::size_t>(p.out_channels * st.dlen) * sizeof(T) + 63) / 64 * 64;
  const std::size_t xs_bytes =
      x_in_place ? 0 : static_cast<std::size_t>(C * g.cstride) * sizeof(T);
  char* shared = static_cast<char*>(
      thread_scratch(acc_bytes + xt_bytes + dye_bytes + xs_bytes, ScratchSlot::shared));
  T* acc = reinterpret_cast<T*>(shared);
  T* xt = reinterpret_cast<T*>(shared + acc_bytes);
  T* dye = reinterpret_cast<T*>(shared + acc_bytes + xt_bytes);
  T* xs = reinterpret_cast<T*>(shared + acc_bytes + xt_bytes + dye_bytes);
  std::fill(acc, acc + items * mr * nr, T(0));
  // Columns past the last channel are read by the last tile's vectors: keep them zero.
  std::fill(xt, xt + xt_rows * ldc, T(0));

  const ShiftedRows rows = x_in_place ? ShiftedRows{} : shifted_rows(p, g, a.x);
  for (std::int64_t n = 0; n < p.batch; ++n) {
    std::atomic<bool> finite{true};
    if (!x_in_place)
      parallel_for(C, [&](std::int64_t begin, std::int64_t end, int) {
        build_shifted_channels<T>(p, g, rows, a.x, n, begin, end, xs);
        if (!all_finite(xs + begin * g.cstride, (end - begin) * g.cstride)) finite = false;
      });
    if (!dy_in_place)
      parallel_for(p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t k = begin; k < end; ++k) {
          build_output_ext<T>(p, g, a.y, n, k, 0, st.dlen, dye + k * st.dlen);
          if (!all_finite(dye + k * st.dlen, st.dlen)) finite = false;
        }
      });
    if (!finite) return false;
    const T* xsrc = x_in_place ? a.x.at<const T>(n, 0, 0, 0, 0) : xs;
    const std::int64_t xcs = x_in_place ? a.x.stride[1] : g.cstride;
    const T* dsrc = dy_in_place ? a.y.at<const T>(n, 0, 0, 0, 0) : dye;
    const std::int64_t dks = dy_in_place ? a.y.stride[1] : st.dlen;

    for (std::int64_t q0 = 0; q0 < g.qext; q0 += chunk) {
      const std::int64_t len = std::min(chunk, g.qext - q0);
      // XT: each used phase's rows [q0, q0 + len + its largest shift), position-major.
      // (Rows past the copy's end would only feed discarded columns; they stay zero.)
      parallel_for(C, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t ph = 0; ph < g.phases; ++ph) {
          const std::int64_t ms = max_shift[static_cast<std::size_t>(ph)];
          if (ms < 0) continue;
          const std::int64_t start = ph * g.plane + q0;
          const std::int64_t avail = x_in_place ? p.in_spatial() - q0 : g.cstride - start;
          const std::int64_t nrow = std::min(len + ms, avail);
          T* base = xt + slice_row[static_cast<std::size_t>(ph)] * ldc;
          // Blocks of 16 channels × 64 positions: the 16 source runs and 64 destination rows
          // stay in L1 while the block is transposed.
          for (std::int64_t c0 = begin; c0 < end; c0 += 16)
            for (std::int64_t r0 = 0; r0 < nrow; r0 += 64)
              transpose_block<T>(std::min<std::int64_t>(16, end - c0), std::min<std::int64_t>(64, nrow - r0),
                                 xsrc + c0 * xcs + start + r0, xcs, base + r0 * ldc + c0, ldc);
        }
      });
      parallel_for_dynamic(items, 1, [&](std::int64_t begin, std::int64_t end, int) {
        const std::int64_t tap0 = 0;
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t ct = item % ctiles, t = (item / ctiles) % taps;
          const std::int64_t kt = (item / (ctiles * taps)) % ktiles, grp = item / per_group;
          const T* wrows[kConvMaxMr];
          for (std::int64_t i = 0; i < mr; ++i)
            wrows[i] = dsrc + (grp * Kg + std::min(kt * mr + i, Kg - 1)) * dks + q0;
          const std::size_t ts = static_cast<std::size_t>(t);
          const T* x = xt + (slice_row[static_cast<std::size_t>(phase_of[ts])] + shift_of[ts]) * ldc +
                       grp * Cg + ct * nr;
          const int nv_here = uk.narrow_vectors(std::min(nr, Cg - ct * nr));
          const ConvUkernel<T> run = nv_here < uk.nv ? uk.narrow[nv_here - 1] : uk.run;
          run(len, 1, &tap0, x, ldc, wrows, ConvTileOut<T>{acc + item * mr * nr, nr, true});
        }
      });
    }
  }
  // Scatter the tiles into the weight gradient's layout.
  const std::int64_t k12 = p.kernel[1] * p.kernel[2];
  parallel_for(items, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t ct = item % ctiles, t = (item / ctiles) % taps;
      const std::int64_t kt = (item / (ctiles * taps)) % ktiles, grp = item / per_group;
      const std::int64_t toff = (t / k12) * a.w.stride[2] + ((t / p.kernel[2]) % p.kernel[1]) * a.w.stride[3] +
                                (t % p.kernel[2]) * a.w.stride[4];
      const T* tile = acc + item * mr * nr;
      for (std::int64_t i = 0; i < mr && kt * mr + i < Kg; ++i)
        for (std::int64_t j = 0; j < nr && ct * nr + j < Cg; ++j)
          a.w.at<T>(grp * Kg + kt * mr + i, ct * nr + j, 0, 0, 0)[toff] = tile[i * nr + j];
    }
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
    for (int j = 0; j < 3; ++j)
      if (p.pad_after[j] < 0) return "negative trailing padding";
    return shifted_layout_declines(p);
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    const std::int64_t nr = outer_kernel_width(p);
    if (2 * p.in_channels_per_group() < nr)
      return "fewer input channels per group (" + std::to_string(p.in_channels_per_group()) +
             ") than half a tile";
    const Geometry g = geometry(p, 1);
    if (g.qext > 2 * p.out_spatial() + 64)
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

const Algorithm& outer_bwd_weights_algorithm() {
  static const OuterBackwardWeights algo;
  return algo;
}

}  // namespace convkit::detail
