// src/algos/direct_conv_backward_data.cpp — backward-data (and so transposed convolution) by
// direct summation on the shifted layout, with no multiply spent on inserted zeros.
//
// In the stride-phase layout of the padded input (src/algos/shifted_layout.hpp), the gradient
// of phase plane a is a stride-1 correlation of the output gradient with the taps that land
// in that phase:
//   gpad_a[c][q'] = Σ_k Σ_{t in phase a} w[k][c][t] · dy_ext[k][q' − shift_t],
// where dy_ext holds dy at the extended positions q of the forward layout and zeros at the
// discarded ones. That is the forward micro-kernel with dy as its input (front-padded with
// zeros so every offset is non-negative) and the weights re-packed per phase as rows
// w_a[c][k][t]. The padded gradient is then folded back onto the input positions it came
// from (cropping for zero padding; summing the reflected/replicated/wrapped copies otherwise),
// channel by channel in a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "algos/direct_conv_backward_data.hpp"
#include "algos/shifted_layout.hpp"
#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/threading.hpp"
#include "ref/conv_ref.hpp"

namespace convkit::detail {
namespace {

constexpr std::size_t kWeightChunkBytes = 256 * 1024;  // weight rows reused across tiles (L2)
constexpr std::size_t kInputBlockBytes = 24 * 1024;    // dy slice reused across c-tiles (L1)

struct Phase {
  std::vector<std::int64_t> taps;  // forward tap indices in this phase, ascending
  std::vector<std::int64_t> offs;  // front − shift of each, the offset into dy_ext
};

struct State {
  Isa isa;
  Geometry geo;
  std::vector<Phase> phases;
  std::int64_t front;     // zeros before dy_ext (the largest shift)
  std::int64_t plane_tiles;
  std::int64_t dstride;   // elements per output channel in dy_ext
};

// Elements of one phase plane: the positions the kernel tiles.
std::int64_t phase_plane(const ConvProblem& p) {
  std::int64_t n = 1;
  for (int j = 0; j < 3; ++j)
    n *= (p.in[j] + p.pad_before[j] + p.pad_after[j] + p.stride[j] - 1) / p.stride[j];
  return n;
}

// Tiles are input channels of a group × phase-plane positions.
template <typename T>
const ConvKernel<T>& bwd_kernel(const ConvProblem& p, Isa isa) {
  return pick_kernel<T>(isa, p.in_channels_per_group(), phase_plane(p));
}

template <typename T>
const ConvKernel<T>& kernel_for(const State& st, const ConvProblem& p) {
  return bwd_kernel<T>(p, st.isa);
}

std::int64_t bwd_tile_width(const ConvProblem& p, Isa isa) {
  return p.dtype == DType::f32 ? bwd_kernel<float>(p, isa).nr : bwd_kernel<double>(p, isa).nr;
}

std::shared_ptr<State> make_state(const ConvProblem& p) {
  auto st = std::make_shared<State>();
  st->isa = active_isa();
  const std::int64_t nr = bwd_tile_width(p, st->isa);
  st->geo = geometry(p, nr);
  const Geometry& g = st->geo;
  st->phases.resize(static_cast<std::size_t>(g.phases));
  st->front = 0;
  for (std::size_t t = 0; t < g.taps.size(); ++t) {
    const std::int64_t ph = g.taps[t] / g.plane;
    st->phases[static_cast<std::size_t>(ph)].taps.push_back(static_cast<std::int64_t>(t));
    st->front = std::max(st->front, g.taps[t] % g.plane);
  }
  for (auto& ph : st->phases)
    for (std::int64_t t : ph.taps) ph.offs.push_back(st->front - g.taps[static_cast<std::size_t>(t)] % g.plane);
  st->plane_tiles = (g.plane + nr - 1) / nr;
  st->dstride = (st->front + st->plane_tiles * nr + 15) / 16 * 16;
  return st;
}

// Weights as rows w_a[g][c][phase][k][t in phase] (one contiguous row per (g, c, phase)).
template <typename T>
void pack_phase_weights(const ConvProblem& p, const State& st, const View5& w, T* dst) {
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t taps = p.kernel_spatial();
  // Where tap t of output channel kk lands inside a (g, c) row: phase offset + kk·|phase| + rank.
  std::vector<std::int64_t> tap_phase_off(static_cast<std::size_t>(taps)), tap_rank(tap_phase_off);
  std::vector<std::int64_t> tap_phase_len(tap_phase_off);
  std::int64_t off = 0;
  for (const Phase& ph : st.phases) {
    const std::int64_t nt = static_cast<std::int64_t>(ph.taps.size());
    for (std::int64_t r = 0; r < nt; ++r) {
      const auto t = static_cast<std::size_t>(ph.taps[static_cast<std::size_t>(r)]);
      tap_phase_off[t] = off;
      tap_rank[t] = r;
      tap_phase_len[t] = nt;
    }
    off += Kg * nt;
  }
  // Read the weights in memory order (one output channel at a time) and scatter: each write
  // run is a tap group of one (g, c) row, so the rows being filled stay in cache.
  const std::vector<std::int64_t> tap_src = spatial_offsets(w);  // element offset in w
  parallel_for(p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t k = begin; k < end; ++k) {
      const std::int64_t g = k / Kg, kk = k % Kg;
      for (std::int64_t c = 0; c < Cg; ++c) {
        T* row = dst + (g * Cg + c) * Kg * taps;
        const T* src = w.at<const T>(k, c, 0, 0, 0);
        for (std::int64_t t = 0; t < taps; ++t) {
          const auto ti = static_cast<std::size_t>(t);
          row[tap_phase_off[ti] + kk * tap_phase_len[ti] + tap_rank[ti]] = src[tap_src[ti]];
        }
      }
    }
  });
}

// dx[n][c] = bias[c] + the padded gradient folded back through the padding map.
// src2[p2] / off2[p2]: the input index that padded position p2 of the last dimension folds onto
// (-1: a zero of zero padding) and its offset in the phase planes, precomputed per call.
template <typename T>
void fold_channel(const ConvProblem& p, const Geometry& g, const T* gp, const View1* bias,
                  const View5& dx, std::int64_t n, std::int64_t c, const std::int64_t* src2,
                  const std::int64_t* off2) {
  const T b = bias ? *bias->at<const T>(c) : T(0);
  for (std::int64_t i0 = 0; i0 < p.in[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < p.in[1]; ++i1) {
      T* row = dx.at<T>(n, c, i0, i1, 0);
      for (std::int64_t i2 = 0; i2 < p.in[2]; ++i2) row[i2 * dx.stride[4]] = b;
    }
  for (std::int64_t p0 = 0; p0 < g.P[0]; ++p0) {
    const std::int64_t s0 = pad_source(p0 - p.pad_before[0], p.in[0], p.padding_mode);
    if (s0 < 0) continue;
    for (std::int64_t p1 = 0; p1 < g.P[1]; ++p1) {
      const std::int64_t s1 = pad_source(p1 - p.pad_before[1], p.in[1], p.padding_mode);
      if (s1 < 0) continue;
      const std::int64_t plane_row =
          ((p0 % p.stride[0]) * p.stride[1] + p1 % p.stride[1]) * p.stride[2] * g.plane +
          ((p0 / p.stride[0]) * g.Lq[1] + p1 / p.stride[1]) * g.Lq[2];
      T* row = dx.at<T>(n, c, s0, s1, 0);
      const T* grow = gp + plane_row;
      const std::int64_t xs = dx.stride[4];
      for (std::int64_t p2 = 0; p2 < g.P[2]; ++p2)
        if (src2[p2] >= 0) row[src2[p2] * xs] += grow[off2[p2]];
    }
  }
}

// Returns false (leaving the result unspecified) when the weights or the output gradient hold
// a NaN or Inf: the zeros at discarded extended positions would meet it in a product that a
// plain sum does not contain, so the caller recomputes with the reference.
template <typename T>
bool run_backward_data(const ConvProblem& p, const State& st, const ConvArgs& a) {
  const ConvKernel<T>& uk = kernel_for<T>(st, p);
  const Geometry& g = st.geo;
  const std::int64_t mr = uk.mr, nr = uk.nr;
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  const std::int64_t taps = p.kernel_spatial();
  const std::int64_t ctiles = (Cg + mr - 1) / mr;
  const std::int64_t nph = g.phases;
  const std::int64_t gstride = nph * g.plane;  // padded-gradient elements per channel

  // Channel-tile chunks whose weight rows fit in L2, with enough items for every thread.
  const std::int64_t row_max = Kg * taps;
  std::int64_t cchunk = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(kWeightChunkBytes /
                                   (static_cast<std::size_t>(row_max * mr) * sizeof(T))));
  const std::int64_t want_items = 4 * current_num_threads();
  while (cchunk > 1 && p.groups * nph * st.plane_tiles * ((ctiles + cchunk - 1) / cchunk) < want_items)
    cchunk = (cchunk + 1) / 2;
  const std::int64_t nchunks = (ctiles + cchunk - 1) / cchunk;
  const std::int64_t span = nr + st.front;
  const std::int64_t kblock = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(kInputBlockBytes / (static_cast<std::size_t>(span) * sizeof(T))));

  const std::size_t wbytes = (static_cast<std::size_t>(p.groups * Cg * row_max) * sizeof(T) + 63) / 64 * 64;
  const std::size_t dbytes = (static_cast<std::size_t>(p.out_channels * st.dstride) * sizeof(T) + 63) / 64 * 64;
  char* shared = static_cast<char*>(thread_scratch(
      wbytes + dbytes + static_cast<std::size_t>(p.in_channels * gstride) * sizeof(T),
      ScratchSlot::shared));
  T* wt = reinterpret_cast<T*>(shared);
  T* dye = reinterpret_cast<T*>(shared + wbytes);
  T* gp = reinterpret_cast<T*>(shared + wbytes + dbytes);
  pack_phase_weights<T>(p, st, a.w, wt);
  std::vector<std::int64_t> src2(static_cast<std::size_t>(g.P[2])), off2(src2);
  for (std::int64_t p2 = 0; p2 < g.P[2]; ++p2) {
    src2[static_cast<std::size_t>(p2)] = pad_source(p2 - p.pad_before[2], p.in[2], p.padding_mode);
    off2[static_cast<std::size_t>(p2)] = (p2 % p.stride[2]) * g.plane + p2 / p.stride[2];
  }
  if (!all_finite(wt, p.groups * Cg * row_max)) return false;

  for (std::int64_t n = 0; n < p.batch; ++n) {
    std::atomic<bool> finite{true};
    parallel_for(p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t k = begin; k < end; ++k) {
        build_output_ext<T>(p, st.geo, a.y, n, k, st.front, st.dstride, dye + k * st.dstride);
        if (!all_finite(dye + k * st.dstride, st.dstride)) finite = false;
      }
    });
    if (!finite) return false;
    parallel_for(p.groups * nph * nchunks * st.plane_tiles,
                 [&](std::int64_t begin, std::int64_t end, int) {
      T* acc = static_cast<T*>(thread_scratch(static_cast<std::size_t>(cchunk * mr * nr) * sizeof(T)));
      for (std::int64_t item = begin; item < end; ++item) {
        const std::int64_t tile = item % st.plane_tiles;
        const std::int64_t chunk = (item / st.plane_tiles) % nchunks;
        const std::int64_t ph = (item / (st.plane_tiles * nchunks)) % nph;
        const std::int64_t grp = item / (st.plane_tiles * nchunks * nph);
        const Phase& phase = st.phases[static_cast<std::size_t>(ph)];
        const std::int64_t nt = static_cast<std::int64_t>(phase.taps.size());
        const std::int64_t q0 = tile * nr;
        const std::int64_t cols = std::min(nr, g.plane - q0);
        const std::int64_t c0 = chunk * cchunk, c1 = std::min(ctiles, c0 + cchunk);
        // Offset of this phase's rows inside each (g, c) weight row block.
        std::int64_t row_off = 0;
        for (std::int64_t q = 0; q < ph; ++q)
          row_off += Kg * static_cast<std::int64_t>(st.phases[static_cast<std::size_t>(q)].taps.size());
        if (nt > 0) {
          // A partial last tile runs the kernel's narrow version, as pick_kernel assumed.
          const int nv_here = uk.narrow_vectors(cols);
          const ConvUkernel<T> run = nv_here < uk.nv ? uk.narrow[nv_here - 1] : uk.run;
          const T* dg = dye + grp * Kg * st.dstride + q0;
          for (std::int64_t kb = 0; kb < Kg; kb += kblock) {
            const std::int64_t kn = std::min(kblock, Kg - kb);
            for (std::int64_t ct = c0; ct < c1; ++ct) {
              const T* wrows[kConvMaxMr];
              for (std::int64_t i = 0; i < mr; ++i) {
                const std::int64_t c = std::min(ct * mr + i, Cg - 1);
                wrows[i] = wt + (grp * Cg + c) * row_max + row_off + kb * nt;
              }
              run(kn, nt, phase.offs.data(), dg + kb * st.dstride, st.dstride, wrows,
                  ConvTileOut<T>{acc + (ct - c0) * mr * nr, nr, kb > 0});
            }
          }
        }
        for (std::int64_t ct = c0; ct < c1; ++ct) {
          const std::int64_t rows = std::min(mr, Cg - ct * mr);
          for (std::int64_t i = 0; i < rows; ++i) {
            T* dst = gp + (grp * Cg + ct * mr + i) * gstride + ph * g.plane + q0;
            if (nt > 0)
              std::memcpy(dst, acc + ((ct - c0) * mr + i) * nr, static_cast<std::size_t>(cols) * sizeof(T));
            else
              std::fill(dst, dst + cols, T(0));
          }
        }
      }
    });
    parallel_for(p.in_channels, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t c = begin; c < end; ++c)
        fold_channel<T>(p, g, gp + c * gstride, a.bias, a.dx, n, c, src2.data(), off2.data());
    });
  }
  return true;
}

class DirectConvBackwardData final : public Algorithm {
 public:
  const char* name() const override { return "direct_bwd_data"; }

  std::string declines(const ConvProblem& p, Direction d) const override {
    if (d != Direction::backward_data) return "backward-data only";
    return shifted_layout_declines(p);
  }

  std::string not_preferred(const ConvProblem& p, Direction) const override {
    // Work per useful multiply: the phase planes cover the padded input; tiny channel counts
    // leave most of each MR-row tile empty.
    const std::int64_t nr = bwd_tile_width(p, active_isa());
    const Geometry g = geometry(p, nr);
    const std::int64_t tiles = (g.plane + nr - 1) / nr;
    if (tiles * nr * g.phases > 4 * p.in_spatial() + 64 * nr)
      return "its padded gradient planes would be much larger than the input";
    return {};
  }

  std::shared_ptr<void> prepare(const ConvProblem& p, Direction) const override {
    return make_state(p);
  }

  std::string describe(const ConvProblem& p, Direction, const void* state) const override {
    const State& st = *static_cast<const State*>(state);
    const char* kname = p.dtype == DType::f32 ? kernel_for<float>(st, p).name
                                              : kernel_for<double>(st, p).name;
    return describe_kernel(kname, st.isa);
  }

  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction) const override {
    return static_cast<std::size_t>(64 * bwd_tile_width(p, active_isa())) * dtype_size(p.dtype);
  }

  void execute(const ConvProblem& p, Direction, const void* state,
               const ConvArgs& a) const override {
    const State& st = *static_cast<const State*>(state);
    note_isa_run(st.isa);
    const bool done = with_dtype(
        p.dtype, [&](auto tag) { return run_backward_data<decltype(tag)>(p, st, a); });
    if (!done) ref::conv_backward_data(p, a.y, a.w, a.bias, a.dx);
  }
};

}  // namespace

const Algorithm& direct_conv_backward_data_algorithm() {
  static const DirectConvBackwardData algo;
  return algo;
}

}  // namespace convkit::detail
