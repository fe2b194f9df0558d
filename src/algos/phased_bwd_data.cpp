// src/algos/phased_bwd_data.cpp — backward-data (and so transposed convolution) as a few
// stride-1 forward convolutions, one per stride phase of dx, run by the forward algorithms.
//
// Per spatial dimension (stride s, dilation d, kernel K, leading pad pb, g = gcd(s, d)):
//   dx[i] = Σ_{o, t : o·s + t·d − pb = i} w[t] · dy[o].
// Split i by its phase ρ = (i + pb) mod s and write i = m·s + ρ − pb. The taps that reach phase
// ρ are t = t0 + u·(s/g), u = 0..U−1 (none unless g | ρ), with o = m − c0 − u·(d/g), so
//   dx_ρ[m] = Σ_u w[t0 + u·s/g] · dy[m − c0 − u·d/g]
// is a stride-1 correlation of dy with the reversed sub-kernel, dilation d/g, and padding
// that may be negative (then dy is cropped instead). With zero padding nothing else contributes,
// so each phase is a plain forward problem: input channels K, output channels C, weights
// w'[c][k][v] = w[k][c][t0 + (U−1−v)·s/g] — a transposed, reversed strided view of w, read in
// place by the forward micro-kernels (only grouped layers, whose w' is no view of w, get a
// per-call packed copy in a reused buffer) — and the output written through a strided view of
// dx. Positions of phases no tap reaches get the bias (or 0). No multiply is spent on the zeros a strided transposed convolution inserts, and
// every forward improvement (direct, depthwise, im2col micro-kernels) serves the gradient too.
//
// Zero padding only: the other padding modes fold gradients back onto the input
// (direct_bwd_data does that). When a phase pads dy and the weights are not all finite, the
// reference recomputes dx: the forward pass multiplies weights by padding zeros, which a plain
// gradient sum does not (an infinite weight would turn them into NaN). Depthwise phases run
// channel by channel (every phase of a channel back to back, so its dx plane stays in cache).
#include "algos/phased_bwd_data.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "algos/depthwise_conv.hpp"
#include "algos/direct_conv.hpp"
#include "algos/fill_dx.hpp"
#include "algos/im2col_gemm.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"
#include "ref/conv_ref.hpp"

namespace convkit::detail {
namespace {

constexpr std::int64_t kMaxPhases = 64;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// One dimension of one phase.
struct PhaseDim {
  std::int64_t taps = 0;      // U (0: no tap reaches this phase)
  std::int64_t t0 = 0, tstep = 1;  // original taps t0 + u·tstep; sub-kernel tap v is u = U−1−v
  std::int64_t count = 0;     // M: dx positions of this phase
  std::int64_t dx_start = 0;  // the first of them (then every s-th)
  std::int64_t dy_crop = 0;   // dy positions skipped at the front
  std::int64_t dy_len = 0;    // dy positions the sub-problem reads (≤ 0: none)
  std::int64_t pad_before = 0, pad_after = 0, dilation = 1;
};

struct Phase {
  PhaseDim dim[3];
  bool reached = false;            // some tap reaches it and dy is not cropped away
  std::int64_t weight_offset = 0;  // where its packed weights start (elements)
  std::int64_t sub_taps = 0;
  std::shared_ptr<ConvProblem> sub;  // the forward sub-problem (reached phases)
  const Algorithm* algo = nullptr;
  std::shared_ptr<void> state;
  bool preferred = true;
  bool padded = false;    // the sub-problem pads dy (its zeros meet the weights)
  bool in_place = false;  // the sub-problem's weights are a strided view of w (no packing)
};

struct Plan {
  std::vector<Phase> phases;       // phases holding at least one dx position
  std::int64_t packed_elems = 0;
  std::string declined;            // non-empty: why the lowering cannot run
  std::string not_preferred;
};

PhaseDim phase_dim(const ConvProblem& p, int j, std::int64_t rho) {
  PhaseDim r;
  const std::int64_t s = p.stride[j], d = p.dilation[j], K = p.kernel[j];
  const std::int64_t pb = p.pad_before[j];
  const std::int64_t g = std::gcd(s, d);
  const std::int64_t m_lo = -floor_div(rho - pb, s);  // ceil((pb − ρ) / s)
  const std::int64_t m_hi = floor_div(p.in[j] - 1 + pb - rho, s);
  r.count = std::max<std::int64_t>(0, m_hi - m_lo + 1);
  r.dx_start = m_lo * s + rho - pb;
  if (rho % g != 0) return r;
  r.tstep = s / g;
  // The first tap in phase rho: t0·d ≡ rho (mod s), in modular arithmetic (d may be huge;
  // s ≤ 64 here). t0·d itself fits once t0 < K (the kernel's extent was validated).
  const std::int64_t dm = d % s;
  std::int64_t t0 = 0;
  while (t0 < r.tstep && (t0 * dm) % s != rho) ++t0;
  if (t0 >= r.tstep || t0 >= K) return r;
  r.t0 = t0;
  r.taps = (K - 1 - t0) / r.tstep + 1;
  r.dilation = d / g;
  const std::int64_t c0 = (t0 * d - rho) / s;  // exact
  const std::int64_t span = (r.taps - 1) * r.dilation + 1;
  std::int64_t pb2 = c0 + (r.taps - 1) * r.dilation - m_lo;
  std::int64_t pa2 = r.count - 1 + span - p.out[j] - pb2;
  r.dy_crop = std::max<std::int64_t>(0, -pb2);
  const std::int64_t tail_crop = std::max<std::int64_t>(0, -pa2);
  r.pad_before = std::max<std::int64_t>(0, pb2);
  r.pad_after = std::max<std::int64_t>(0, pa2);
  r.dy_len = p.out[j] - r.dy_crop - tail_crop;
  return r;
}

// 1×1 layers with at most this many output-gradient channels (per group) pack the transposed
// weights; wider ones read them in place (see make_plan).
constexpr std::int64_t kMaxPacked1x1Channels = 128;

// The forward algorithms a phase may run on, in auto's order.
const Algorithm* const* forward_candidates() {
  static const Algorithm* const list[] = {&depthwise_conv_algorithm(), &direct_conv_algorithm(),
                                          &im2col_gemm_algorithm(), nullptr};
  return list;
}

// Splits p into phases and picks each one's forward algorithm (prepare: also its state).
std::shared_ptr<Plan> make_plan(const ConvProblem& p, bool prepare) {
  auto plan = std::make_shared<Plan>();
  if (p.padding_mode != PaddingMode::zeros) {
    plan->declined = std::string("padding mode '") + padding_mode_name(p.padding_mode) +
                     "' folds gradients back through the padding map (direct_bwd_data does)";
    return plan;
  }
  double nphase = 1;
  for (int j = 0; j < 3; ++j) nphase *= static_cast<double>(p.stride[j]);
  if (nphase > kMaxPhases) {
    plan->declined = "more than 64 stride phases";
    return plan;
  }
  const std::int64_t Kg = p.out_channels_per_group();
  for (std::int64_t r0 = 0; r0 < p.stride[0]; ++r0)
    for (std::int64_t r1 = 0; r1 < p.stride[1]; ++r1)
      for (std::int64_t r2 = 0; r2 < p.stride[2]; ++r2) {
        Phase ph;
        const std::int64_t rho[3] = {r0, r1, r2};
        bool empty = false;
        ph.reached = true;
        ph.sub_taps = 1;
        for (int j = 0; j < 3; ++j) {
          ph.dim[j] = phase_dim(p, j, rho[j]);
          if (ph.dim[j].count == 0) empty = true;
          if (ph.dim[j].taps == 0 || ph.dim[j].dy_len <= 0) ph.reached = false;
          ph.sub_taps *= ph.dim[j].taps;
        }
        if (empty) continue;
        if (ph.reached) {
          auto sub = std::make_shared<ConvProblem>(p);
          sub->in_channels = p.out_channels;
          sub->out_channels = p.in_channels;
          for (int j = 0; j < 3; ++j) {
            const PhaseDim& pd = ph.dim[j];
            sub->in[j] = pd.dy_len;
            sub->kernel[j] = pd.taps;
            sub->stride[j] = 1;
            sub->dilation[j] = pd.dilation;
            sub->pad_before[j] = pd.pad_before;
            sub->pad_after[j] = pd.pad_after;
            sub->out[j] = pd.count;
          }
          const Algorithm* fallback = nullptr;
          for (const Algorithm* const* a = forward_candidates(); *a; ++a) {
            if (!(*a)->declines(*sub, Direction::forward).empty()) continue;
            if (!fallback) fallback = *a;
            if ((*a)->not_preferred(*sub, Direction::forward).empty()) {
              ph.algo = *a;
              break;
            }
          }
          if (!ph.algo) {
            ph.algo = fallback;
            ph.preferred = false;
          }
          if (!ph.algo) {
            plan->declined = "no forward algorithm takes the phase " + sub->to_string();
            return plan;
          }
          if (!ph.preferred && plan->not_preferred.empty())
            plan->not_preferred = "the forward algorithms would waste most of the work on phase " +
                                  sub->to_string();
          ph.sub = sub;
          for (int j = 0; j < 3; ++j)
            if (sub->pad_before[j] > 0 || sub->pad_after[j] > 0) ph.padded = true;
          // w'[c][k][v] = w[k][c][t(v)] is a strided view of w unless channel c and output
          // channel k of a group with several of each interleave (then it is packed).
          // Multi-tap views are read in place only for depthwise weights (small): through a
          // transposed view, each of a row's channels is a separate, far-apart run (measured
          // 3× slower than packing on resnet50.res5_3x3's 9.4 MB of weights).
          // 1×1 layers with few output-gradient channels are packed (a register transpose):
          // their in-place rows cost more than the transpose (2 threads, ms, in place ->
          // packed: resnet50.res2_reduce 0.35 -> 0.30, res3a_1x1 0.67 -> 0.61, res3_reduce
          // 0.34 -> 0.32, res2a_1x1 0.093 -> 0.087), while with 256 or more the packed ones
          // ran slower (res3_expand 0.32 -> 0.34, res4a_1x1 0.63 -> 0.66, res4_expand 0.36 ->
          // 0.55).
          const bool pack_1x1 = p.kernel_spatial() == 1 && Kg <= kMaxPacked1x1Channels;
          ph.in_place = (p.groups == 1 && !pack_1x1) || (Kg == 1 && p.in_channels_per_group() == 1);
          ph.weight_offset = plan->packed_elems;
          if (!ph.in_place) plan->packed_elems += p.in_channels * Kg * ph.sub_taps;
          if (prepare) ph.state = ph.algo->prepare(*sub, Direction::forward);
        }
        plan->phases.push_back(std::move(ph));
      }
  return plan;
}

// Element offsets in w of a phase's sub-kernel taps, in sub-kernel order (reversed).
std::vector<std::int64_t> phase_tap_offsets(const Phase& ph, const View5& w) {
  const PhaseDim* pd = ph.dim;
  std::vector<std::int64_t> off;
  off.reserve(static_cast<std::size_t>(ph.sub_taps));
  for (std::int64_t v0 = 0; v0 < pd[0].taps; ++v0)
    for (std::int64_t v1 = 0; v1 < pd[1].taps; ++v1)
      for (std::int64_t v2 = 0; v2 < pd[2].taps; ++v2)
        off.push_back((pd[0].t0 + (pd[0].taps - 1 - v0) * pd[0].tstep) * w.stride[2] +
                      (pd[1].t0 + (pd[1].taps - 1 - v1) * pd[1].tstep) * w.stride[3] +
                      (pd[2].t0 + (pd[2].taps - 1 - v2) * pd[2].tstep) * w.stride[4]);
  return off;
}

// Packs the weights of every reached phase that does not read w in place: rows
// w'[c][k][v0][v1][v2] (c over all groups).
template <typename T>
void pack_weights(const ConvProblem& p, const Plan& plan, const View5& w, T* dst) {
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  // A blocked transpose: kKBlock output channels × cb input channels at a time, so both the
  // reads (cb·taps contiguous values per k) and the writes (kKBlock·taps per row) are runs of
  // whole cache lines and the block (≤ 32 KiB) stays in L1.
  constexpr std::int64_t kKBlock = 16;
  for (std::size_t i = 0; i < plan.phases.size(); ++i) {
    const Phase& ph = plan.phases[i];
    if (!ph.reached || ph.in_place) continue;
    const std::vector<std::int64_t> tap_off = phase_tap_offsets(ph, w);
    const std::int64_t nt = ph.sub_taps;
    if (nt == 1 && w.stride[1] == 1) {
      // One tap over contiguous channels (1×1 kernels): w'[c][k] = w[k][c] is a plain
      // transpose per group, done in registers (the ISA's 16×16 blocks) in blocks of channels.
      const auto transpose = dwconv_kernel<T>(active_isa()).transpose;
      constexpr std::int64_t kCBlock = 64;
      const std::int64_t cblocks = (Cg + kCBlock - 1) / kCBlock;
      parallel_for(p.groups * cblocks, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t b = begin; b < end; ++b) {
          const std::int64_t grp = b / cblocks, c_lo = b % cblocks * kCBlock;
          transpose(Kg, std::min(kCBlock, Cg - c_lo), w.at<const T>(grp * Kg, c_lo, 0, 0, 0) + tap_off[0],
                    w.stride[0], dst + ph.weight_offset + (grp * Cg + c_lo) * Kg, Kg);
        }
      });
      continue;
    }
    const std::int64_t cb = std::max<std::int64_t>(8, 8192 / (kKBlock * nt));
    const std::int64_t cblocks = (Cg + cb - 1) / cb, kblocks = (Kg + kKBlock - 1) / kKBlock;
    parallel_for(p.groups * cblocks * kblocks, [&](std::int64_t begin, std::int64_t end, int) {
      const std::int64_t* off = tap_off.data();
      for (std::int64_t b = begin; b < end; ++b) {
        const std::int64_t grp = b / (cblocks * kblocks);
        const std::int64_t c_lo = (b / kblocks) % cblocks * cb, cn = std::min(cb, Cg - c_lo);
        const std::int64_t k_lo = b % kblocks * kKBlock, kn = std::min(kKBlock, Kg - k_lo);
        for (std::int64_t c = 0; c < cn; ++c) {
          T* out = dst + ph.weight_offset + ((grp * Cg + c_lo + c) * Kg + k_lo) * nt;
          for (std::int64_t kk = 0; kk < kn; ++kk) {
            const T* src = w.at<const T>(grp * Kg + k_lo + kk, c_lo + c, 0, 0, 0);
            for (std::int64_t v = 0; v < nt; ++v) out[kk * nt + v] = src[off[v]];
          }
        }
      }
    });
  }
}

template <typename T>
bool view_finite(const View5& v) {
  std::atomic<bool> finite{true};
  if (v.dense_from(1)) {
    // Whole images are single runs: scan them in long pieces (per-row calls cost more than
    // the scan on small planes).
    const std::int64_t per_image = v.size[1] * v.size[2] * v.size[3] * v.size[4];
    constexpr std::int64_t kPiece = 16384;
    const std::int64_t pieces = (per_image + kPiece - 1) / kPiece;
    parallel_for(v.size[0] * pieces, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t i = begin; i < end && finite; ++i) {
        const std::int64_t n = i / pieces, lo = (i % pieces) * kPiece;
        if (!all_finite(v.at<const T>(n, 0, 0, 0, 0) + lo, std::min(kPiece, per_image - lo)))
          finite = false;
      }
    });
    return finite;
  }
  parallel_for(v.size[0] * v.size[1], [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t nc = begin; nc < end && finite; ++nc)
      for (std::int64_t i0 = 0; i0 < v.size[2]; ++i0)
        for (std::int64_t i1 = 0; i1 < v.size[3]; ++i1) {
          const T* row = v.at<const T>(nc / v.size[1], nc % v.size[1], i0, i1, 0);
          if (v.stride[4] == 1 || v.size[4] == 1) {
            if (!all_finite(row, v.size[4])) finite = false;
          } else {
            for (std::int64_t i2 = 0; i2 < v.size[4]; ++i2)
              if (!all_finite(row + i2 * v.stride[4], 1)) finite = false;
          }
        }
  });
  return finite;
}

// The forward arguments of reached phase ph: dy cropped, dx at the phase's positions, the
// reversed, transposed weights (a view of w, or the phase's packed copy).
template <typename T>
ConvArgs phase_args(const ConvProblem& p, const Phase& ph, const ConvArgs& a, T* packed) {
  const std::int64_t Kg = p.out_channels_per_group();
  ConvArgs sa;
  sa.x = a.y;  // dy, cropped
  sa.y = a.dx;  // dx at this phase's positions
  for (int j = 0; j < 3; ++j) {
    const PhaseDim& pd = ph.dim[j];
    sa.x.base += pd.dy_crop * a.y.stride[2 + j] * static_cast<std::int64_t>(sizeof(T));
    sa.x.size[2 + j] = pd.dy_len;
    sa.y.base += pd.dx_start * a.dx.stride[2 + j] * static_cast<std::int64_t>(sizeof(T));
    sa.y.size[2 + j] = pd.count;
    sa.y.stride[2 + j] = a.dx.stride[2 + j] * p.stride[j];
  }
  if (ph.in_place) {  // w'[c][k][v] = w[k][c][t0 + (U−1−v)·tstep]: reversed, transposed
    sa.w = View5{};
    std::int64_t last[3];
    for (int j = 0; j < 3; ++j) {
      const PhaseDim& pd = ph.dim[j];
      last[j] = pd.t0 + (pd.taps - 1) * pd.tstep;
      sa.w.size[2 + j] = pd.taps;
      sa.w.stride[2 + j] = -pd.tstep * a.w.stride[2 + j];
    }
    sa.w.base = reinterpret_cast<char*>(a.w.at<T>(0, 0, last[0], last[1], last[2]));
    sa.w.size[0] = p.in_channels;
    sa.w.size[1] = Kg;
    const bool depthwise = p.groups > 1;  // then c is the group: w'[c][0] = w[c][0]
    sa.w.stride[0] = depthwise ? a.w.stride[0] : a.w.stride[1];
    sa.w.stride[1] = depthwise ? a.w.stride[1] : a.w.stride[0];
  } else {
    sa.w.base = reinterpret_cast<char*>(packed + ph.weight_offset);
    const std::int64_t wsize[5] = {p.in_channels, Kg, ph.dim[0].taps, ph.dim[1].taps,
                                   ph.dim[2].taps};
    std::int64_t stride = 1;
    for (int d = 4; d >= 0; --d) {
      sa.w.size[d] = wsize[d];
      sa.w.stride[d] = stride;
      stride *= wsize[d];
    }
  }
  sa.bias = a.bias;
  return sa;
}

// Whether every reached phase runs depthwise_conv's channel-plane path (and there are
// several): then the phases run channel by channel (run_depthwise_fused).
bool depthwise_fused(const Plan& plan, const std::vector<ConvArgs>& args) {
  std::size_t reached = 0;
  for (std::size_t i = 0; i < plan.phases.size(); ++i) {
    const Phase& ph = plan.phases[i];
    if (!ph.reached) continue;
    if (ph.algo != &depthwise_conv_algorithm() || !DepthwisePlanes::serves(*ph.sub, args[i]))
      return false;
    ++reached;
  }
  return reached >= 2;
}

// All reached phases of one (image, channel) item back to back, so each dx plane is written
// while it is in cache. Run phase by phase, a stride-2 depthwise layer's dx went through
// memory once per phase, each pass writing every other value of half its rows (measured A/B,
// mobilenetv2.dw112 at 2 threads: 0.175 -> 0.132 ms; those stores were most of the time).
void run_depthwise_fused(const ConvProblem& p, const Plan& plan, const std::vector<ConvArgs>& args) {
  std::vector<std::unique_ptr<DepthwisePlanes>> runs;
  std::vector<std::size_t> offset;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < plan.phases.size(); ++i) {
    const Phase& ph = plan.phases[i];
    if (!ph.reached) continue;
    runs.push_back(std::make_unique<DepthwisePlanes>(*ph.sub, ph.state.get(), args[i]));
    offset.push_back(bytes);
    bytes += runs.back()->scratch_bytes();
  }
  parallel_for(p.batch * p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
    char* mem = static_cast<char*>(thread_scratch(bytes));
    for (std::size_t r = 0; r < runs.size(); ++r) runs[r]->begin(mem + offset[r]);
    for (std::int64_t item = begin; item < end; ++item)
      for (std::size_t r = 0; r < runs.size(); ++r) runs[r]->run(item, mem + offset[r]);
  });
}

template <typename T>
bool run(const ConvProblem& p, const Plan& plan, const ConvArgs& a) {
  if (p.batch == 0) return true;  // empty dx (and views that may hold null pointers)
  T* packed = static_cast<T*>(thread_scratch(
      static_cast<std::size_t>(plan.packed_elems) * sizeof(T), ScratchSlot::lowered));
  pack_weights<T>(p, plan, a.w, packed);
  bool padded = false, unreached = false;
  std::vector<ConvArgs> args(plan.phases.size());
  for (std::size_t i = 0; i < plan.phases.size(); ++i) {
    const Phase& ph = plan.phases[i];
    unreached = unreached || !ph.reached;
    padded = padded || ph.padded;
    if (ph.reached) args[i] = phase_args<T>(p, ph, a, packed);
  }
  // (first, when some phase is reached by no tap, e.g. three of the four phases of a 1×1
  // stride-2 layer; the reached phases then overwrite their positions)
  if (unreached) fill_dx<T>(p, a);
  if (depthwise_fused(plan, args)) {
    note_isa_run(active_isa());
    run_depthwise_fused(p, plan, args);
  } else {
    for (std::size_t i = 0; i < plan.phases.size(); ++i)
      if (plan.phases[i].reached)
        plan.phases[i].algo->execute(*plan.phases[i].sub, Direction::forward,
                                     plan.phases[i].state.get(), args[i]);
  }
  // A padded phase multiplies weights by dy's padding zeros, products the plain sum does not
  // hold: harmless for finite weights, NaN for an infinite one. So finite weights prove the
  // result a plain sum (up to order), and so does a finite dx (such a NaN cannot vanish in a
  // sum): whichever is smaller is scanned. Otherwise the reference recomputes dx.
  if (!padded) return true;
  const std::int64_t w_elems = a.w.size[0] * a.w.size[1] * a.w.size[2] * a.w.size[3] * a.w.size[4];
  const std::int64_t dx_elems = a.dx.size[0] * a.dx.size[1] * a.dx.size[2] * a.dx.size[3] * a.dx.size[4];
  return w_elems <= dx_elems ? view_finite<T>(a.w) : view_finite<T>(a.dx);
}

class PhasedBackwardData final : public Algorithm {
 public:
  const char* name() const override { return "phased_bwd_data"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_data) return "backward-data only";
    return make_plan(p, false)->declined;
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    return make_plan(p, false)->not_preferred;
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    return make_plan(p, true);
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const Plan& plan = *static_cast<const Plan*>(state);
    std::int64_t reached = 0;
    std::string subs;
    for (const Phase& ph : plan.phases) {
      if (!ph.reached) continue;
      ++reached;
      if (subs.empty())
        subs = std::string("'") + ph.algo->name() + "' (" +
               ph.algo->describe(*ph.sub, Direction::forward, ph.state.get()) + ")";
    }
    (void)p;
    return std::to_string(plan.phases.size()) + " stride phase(s), " + std::to_string(reached) +
           " reached by taps, each a stride-1 forward convolution of dy with the transposed, "
           "reversed weights (" + (plan.packed_elems > 0 ? "packed per call" : "read in place") +
           "); first phase runs " + subs;
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    const auto plan = make_plan(p, false);
    std::size_t most = 0;
    for (const Phase& ph : plan->phases)
      if (ph.reached)
        most = std::max(most, ph.algo->workspace_bytes_per_thread(*ph.sub, Direction::forward));
    most = std::max(most, ref::backward_data_scratch_bytes(p));  // the NaN/Inf fallback
    return most + static_cast<std::size_t>(plan->packed_elems) * dtype_size(p.dtype) /
                      static_cast<std::size_t>(current_num_threads());
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const Plan& plan = *static_cast<const Plan*>(state);
    const bool done = with_dtype(p.dtype, [&](auto tag) { return run<decltype(tag)>(p, plan, a); });
    if (!done) ref::conv_backward_data(p, a.y, a.w, a.bias, a.dx);
  }
};

}  // namespace

const Algorithm& phased_bwd_data_algorithm() {
  static const PhasedBackwardData algo;
  return algo;
}

}  // namespace convkit::detail
