// src/signal/fft_filter.cpp — the FFT filter engine: picks the overlap-save tiling (cost model
// below), computes the kernel spectrum once, and runs tiles in parallel. See fft_filter.hpp
// for the layouts and the memory bound.
#include "signal/fft_filter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <vector>

#include "convkit/error.hpp"
#include "core/arena.hpp"
#include "core/threading.hpp"
#include "signal/fft/fft.hpp"
#include "signal/fft/fft_nd.hpp"

namespace convkit::signal::detail {

namespace {

namespace fft = convkit::signal::fft;
using convkit::detail::parallel_for;
using convkit::detail::ScratchSlot;
using convkit::detail::thread_scratch;
using std::int64_t;

enum class Layout { scale, rows, lanes_tiles, lanes_trailing, long_line };

// The tiling: which problem dimensions are transformed, their FFT lengths and tile sizes, and
// how tiles are grouped into jobs (one parallel work item each).
struct Tiling {
  Layout layout = Layout::scale;
  int lanes = 16;                   // SIMD lanes of the accumulation type
  int R = 0;                        // transformed dimensions
  int fdim[kMaxRank] = {};          // their problem dimensions, in order
  int64_t K[kMaxRank] = {}, L[kMaxRank] = {}, T[kMaxRank] = {}, ntiles[kMaxRank] = {};
  int n_outer_dims = 0;
  int outer_dim[kMaxRank] = {};     // looped (kernel extent 1) dims, lane dim excluded
  int64_t n_outer = 1, n_tiles = 1; // products
  int64_t lane_groups = 1;          // lanes_trailing: groups along the last dimension
  int64_t items = 0;                // lanes_tiles: (outer, tile) pairs
  int64_t jobs = 0;
  bool varies = false;
  double cost = 0;                  // seconds on one core
};

std::int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ---- cost model ---------------------------------------------------------------------------
// Seconds per unit of work, measured on the development machine (Zen 5, AVX-512, one core):
// kFftPoint per point and radix-2 level of a vectorised transform (per lane point), kIo per
// gathered/stored element (boundary, conversion, call overhead), kTranspose per element moved
// between row and lane order.
constexpr double kFftPoint = 0.28e-9;
constexpr double kIo = 0.45e-9;
constexpr double kTranspose = 0.5e-9;
constexpr double kLineCall = 25e-9;
// Per-layout corrections from measured/modelled ratios (single thread, float32, 2026-11):
// the model is within about 2x of measured times (small problems that fit in cache run faster).
constexpr double kRowsFactor = 1.2, kLongFactor = 0.9, kTrailingFactor = 0.75, kLanesFactor = 1.15;

double log2d(double v) { return v > 1 ? std::log2(v) : 0; }

// One-core seconds for everything done on one tile/job with lengths L and valid extents V.
double job_cost(const Tiling& g, const int64_t* L, const int64_t* V, int64_t lanes_used) {
  const int R = g.R;
  double points = 1, logs = 0, valid = 1;
  for (int d = 0; d < R; ++d) points *= L[d], logs += log2d(static_cast<double>(L[d])), valid *= V[d];
  const double lx = static_cast<double>(L[R - 1]);
  const double rows = points / lx;
  if (g.layout == Layout::rows) {
    double valid_rows = 1;
    for (int d = 0; d + 1 < R; ++d) valid_rows *= V[d];
    const double row_fft = (lx / 2) * log2d(lx / 2) * kFftPoint / g.lanes * 2.2;  // per row
    const double half_pts = rows * (lx / 2 + 1);
    double col = 0;
    for (int d = 0; d + 1 < R; ++d) col += half_pts * log2d(static_cast<double>(L[d])) * kFftPoint / g.lanes * 2;
    return kRowsFactor * ((rows + valid_rows) * row_fft + 2 * col +
                          (rows + valid_rows) * (kLineCall + 3 * lx * kTranspose / g.lanes) +
                          points * kIo + valid * kIo + half_pts * kFftPoint * 2 / g.lanes);
  }
  if (g.layout == Layout::long_line) {  // one complex four-step transform holds two tiles
    const double fft = 2 * points * (logs + 2) * kFftPoint * 2 / g.lanes + 2 * points * 3 * kTranspose / g.lanes;
    return kLongFactor * (fft + lanes_used * (2 * kLineCall + (lx + valid) * kIo));
  }
  // Lanes layouts: every transform runs across `lanes` tiles at once.
  const double fft_all = points * (logs + 2) * kFftPoint;  // lanes points per vector op: per job
  const double io = (g.layout == Layout::lanes_tiles)
                        ? lanes_used * (2 * kLineCall + (lx + valid) * (kIo + kTranspose))
                        : (points + valid) * (kLineCall + lanes_used * kIo);
  return (g.layout == Layout::lanes_tiles ? kLanesFactor : kTrailingFactor) * (fft_all + io);
}

double total_cost(const Tiling& g, const FilterProblem& p, const int64_t* L) {
  int64_t T[kMaxRank], V[kMaxRank];
  double tiles = 1;
  for (int d = 0; d < g.R; ++d) {
    T[d] = L[d] - g.K[d] + 1;
    const int64_t out = p.out_shape[g.fdim[d]];
    tiles *= static_cast<double>(ceil_div(out, T[d]));
    V[d] = std::min(T[d], out);
  }
  if (g.layout == Layout::lanes_tiles || g.layout == Layout::long_line) {
    const int per_job = g.layout == Layout::long_line ? 2 : g.lanes;
    const double items = static_cast<double>(g.n_outer) * tiles;
    const double jobs = std::ceil(items / per_job);
    return jobs * job_cost(g, L, V, per_job);
  }
  if (g.layout == Layout::lanes_trailing)
    return static_cast<double>(g.n_outer) * tiles * static_cast<double>(g.lane_groups) *
           job_cost(g, L, V, g.lanes);
  return static_cast<double>(g.n_outer) * tiles * job_cost(g, L, V, g.lanes);
}

// Parallel work items for lengths L. The tiling never depends on the thread count (that would
// change rounding), but few large jobs balance badly, so the choice penalises them.
int64_t job_count(const Tiling& g, const FilterProblem& p, const int64_t* L) {
  int64_t tiles = 1;
  for (int d = 0; d < g.R; ++d) tiles *= ceil_div(p.out_shape[g.fdim[d]], L[d] - g.K[d] + 1);
  if (g.layout == Layout::lanes_tiles) return ceil_div(g.n_outer * tiles, g.lanes);
  if (g.layout == Layout::long_line) return ceil_div(g.n_outer * tiles, 2);
  return g.n_outer * tiles * g.lane_groups;
}

// Candidate FFT lengths for dimension d: fast lengths from the kernel extent up to the one
// that covers the whole output in one tile (long_line: fast multiples of the lane count).
std::vector<int64_t> candidates(const Tiling& g, const FilterProblem& p, int d, double cap) {
  const int64_t unit = g.layout == Layout::long_line ? g.lanes : 1;
  const bool even = d == g.R - 1 && unit == 1;
  const int64_t K = g.K[d];
  auto fast = [&](int64_t n) { return unit * fft::next_fast_length(ceil_div(n, unit), even); };
  const int64_t top = fast(p.out_shape[g.fdim[d]] + K - 1);
  std::vector<int64_t> c;
  for (int64_t v = fast(K);; v = fast(v + 1)) {
    if (!c.empty() && static_cast<double>(v) > cap) break;
    c.push_back(v);
    if (v >= top) break;
  }
  return c;
}

void search_lengths(Tiling& g, const FilterProblem& p);

// What search_lengths reads: the layout and grouping of g, the transformed extents and the
// accumulator. Equal keys give equal tilings.
struct LengthsKey {
  Layout layout;
  int R, lanes;
  int64_t n_outer, lane_groups;
  Acc acc;
  int64_t K[kMaxRank], out[kMaxRank];
  bool operator==(const LengthsKey& o) const {
    if (layout != o.layout || R != o.R || lanes != o.lanes || n_outer != o.n_outer ||
        lane_groups != o.lane_groups || acc != o.acc)
      return false;
    for (int d = 0; d < R; ++d)
      if (K[d] != o.K[d] || out[d] != o.out[d]) return false;
    return true;
  }
};

// The search costs milliseconds on large images (thousands of length combinations), and one
// call asks for the same tiling up to three times (auto's cost, the workspace check, the run)
// while users filter many images of one shape: recent results are remembered.
void choose_lengths(Tiling& g, const FilterProblem& p) {
  LengthsKey key{g.layout, g.R, g.lanes, g.n_outer, g.lane_groups, p.acc, {}, {}};
  for (int d = 0; d < g.R; ++d) {
    key.K[d] = g.K[d];
    key.out[d] = p.out_shape[g.fdim[d]];
  }
  static std::mutex mutex;
  static std::vector<std::pair<LengthsKey, Tiling>> recent;  // newest last, at most 16
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [k, t] : recent)
      if (k == key) {  // copy what search_lengths fills
        std::copy(t.L, t.L + g.R, g.L);
        std::copy(t.T, t.T + g.R, g.T);
        std::copy(t.ntiles, t.ntiles + g.R, g.ntiles);
        g.n_tiles = t.n_tiles;
        g.cost = t.cost;
        g.items = t.items;
        g.jobs = t.jobs;
        return;
      }
  }
  search_lengths(g, p);
  std::lock_guard<std::mutex> lock(mutex);
  if (recent.size() >= 16) recent.erase(recent.begin());
  recent.emplace_back(key, g);
}

// Picks the FFT lengths minimising the modelled total over candidate combinations, with tiles
// capped in points (unless the kernel alone needs more); fills L, T, ntiles, cost.
void search_lengths(Tiling& g, const FilterProblem& p) {
  const int64_t unit = g.layout == Layout::long_line ? g.lanes : 1;
  double kernel_points = 1;
  for (int d = 0; d < g.R; ++d)
    kernel_points *= static_cast<double>(unit * fft::next_fast_length(ceil_div(g.K[d], unit), d == g.R - 1));
  double base_cap = 1 << 14;  // lanes layouts: 16 (8) tiles side by side
  if (g.layout == Layout::rows) base_cap = p.acc == Acc::f32 ? 1 << 18 : 1 << 17;
  if (g.layout == Layout::long_line) base_cap = 1 << 22;
  const double cap_points = std::max(base_cap, 4 * kernel_points);
  std::vector<std::vector<int64_t>> cand(g.R);
  int64_t combos = 1;
  for (int d = 0; d < g.R; ++d) {
    cand[d] = candidates(g, p, d, cap_points);
    while (g.R >= 3 && cand[d].size() > 12) {  // thin long lists so the search stays small
      std::vector<int64_t> t;
      for (std::size_t i = 0; i < cand[d].size(); i += 2) t.push_back(cand[d][i]);
      if (t.back() != cand[d].back()) t.push_back(cand[d].back());
      cand[d] = t;
    }
    combos *= static_cast<int64_t>(cand[d].size());
  }
  int64_t best[kMaxRank], cur[kMaxRank];
  double best_cost = -1, best_score = -1;  // score: cost with a penalty for few (unbalanced) jobs
  if (combos <= 200000) {
    std::vector<std::size_t> pos(g.R, 0);
    for (;;) {
      double pts = 1;
      for (int d = 0; d < g.R; ++d) cur[d] = cand[d][pos[d]], pts *= static_cast<double>(cur[d]);
      if (pts <= cap_points || best_cost < 0) {
        const double c = total_cost(g, p, cur) * (1 + 1 / static_cast<double>(job_count(g, p, cur)));
        if (best_cost < 0 || (pts <= cap_points && c < best_score)) {
          best_cost = total_cost(g, p, cur);
          best_score = c;
          std::copy(cur, cur + g.R, best);
        }
      }
      int d = g.R - 1;
      while (d >= 0 && ++pos[d] == cand[d].size()) pos[d--] = 0;
      if (d < 0) break;
    }
  } else {  // very high rank: the smallest lengths
    for (int d = 0; d < g.R; ++d) best[d] = cand[d][0];
    best_cost = total_cost(g, p, best);
  }
  g.n_tiles = 1;
  for (int d = 0; d < g.R; ++d) {
    g.L[d] = best[d];
    g.T[d] = best[d] - g.K[d] + 1;
    g.ntiles[d] = ceil_div(p.out_shape[g.fdim[d]], g.T[d]);
    g.n_tiles *= g.ntiles[d];
  }
  g.cost = best_cost;
  if (g.layout == Layout::lanes_tiles || g.layout == Layout::long_line) {
    g.items = g.n_outer * g.n_tiles;
    g.jobs = ceil_div(g.items, g.layout == Layout::long_line ? 2 : g.lanes);
  } else {
    g.jobs = g.n_outer * g.n_tiles * g.lane_groups;
  }
}

Tiling plan_tiling(const FilterProblem& p) {
  if (p.acc != Acc::f32 && p.acc != Acc::f64)
    throw UnsupportedError("fft_filter: the accumulator type must be float32 or float64 (an "
                           "integer accumulation has to use the direct engine)");
  if (p.rank < 1 || p.rank > kMaxRank)
    throw InvalidArgument("fft_filter: rank must be in [1, 32], got " + std::to_string(p.rank));
  Tiling g;
  g.lanes = p.acc == Acc::f32 ? fft::kFftLanes<float> : fft::kFftLanes<double>;
  g.varies = p.kernel_varies();
  const int last = p.rank - 1;
  for (int d = 0; d < p.rank; ++d) {
    if (p.k_shape[d] < 1 || p.out_shape[d] < 0 || p.in_shape[d] < 0)
      throw InvalidArgument("fft_filter: dimension " + std::to_string(d) + " has an empty kernel or a negative extent");
    if (p.in_shape[d] == 0 && p.boundary != Boundary::fill)
      throw InvalidArgument("fft_filter: an empty input can only be extended by a fill value");
    if (p.k_shape[d] > 1) {
      if (p.k_batch_stride[d] != 0)
        throw UnsupportedError("fft_filter: the kernel may only vary along dimensions it does not "
                               "filter (dimension " + std::to_string(d) + ")");
      g.K[g.R] = p.k_shape[d];
      g.fdim[g.R++] = d;
    }
  }
  const bool last_filtered = p.k_shape[last] > 1;
  if (g.R == 0)
    g.layout = Layout::scale;
  else if (!last_filtered)
    g.layout = Layout::lanes_trailing;
  else if (g.R == 1)
    g.layout = Layout::lanes_tiles;
  else
    g.layout = Layout::rows;
  for (int d = 0; d < p.rank; ++d)
    if (p.k_shape[d] == 1 && !((g.layout == Layout::lanes_trailing || g.layout == Layout::scale) && d == last)) {
      g.outer_dim[g.n_outer_dims++] = d;
      g.n_outer *= p.out_shape[d];
    }
  if (g.layout == Layout::lanes_trailing) g.lane_groups = ceil_div(p.out_shape[last], g.lanes);
  if (g.layout == Layout::scale) {
    g.jobs = g.n_outer;  // one output line per job (all dims but the last are outer)
    g.cost = static_cast<double>(g.n_outer) * (kLineCall + 2 * p.out_shape[last] * kIo);
    return g;
  }
  choose_lengths(g, p);
  if (g.layout == Layout::lanes_tiles) {  // long tiles may do better as one long transform
    // CONVKIT_FFT_1D=lanes|long forces the choice (tests and tuning exercise both).
    const char* force = std::getenv("CONVKIT_FFT_1D");
    const std::string f = force ? force : "";
    Tiling alt = g;
    alt.layout = Layout::long_line;
    choose_lengths(alt, p);
    // Lanes of huge tiles would take too much memory.
    const bool use_long = f == "long" || (f != "lanes" && (alt.cost < g.cost || g.L[0] > (1 << 16)));
    if (use_long) g = alt;
  }
  return g;
}

// ---- memory ---------------------------------------------------------------------------------

struct Sizes {
  std::int64_t shared = 0;     // T elements: the shared kernel spectrum
  std::int64_t worker = 0;     // T elements per thread
  std::int64_t prep = 0;       // T elements the calling thread needs to build the spectrum
};

template <typename T>
Sizes sizes_for(const FilterProblem& p, const Tiling& g) {
  Sizes s;
  constexpr int NL = fft::kFftLanes<T>;
  if (g.layout == Layout::scale) {
    s.worker = 2 * p.out_shape[p.rank - 1] + NL;
    return s;
  }
  if (g.layout == Layout::long_line) {
    const fft::FourStepPlan<T>& f = fft::four_step_plan<T>(g.L[0]);
    s.shared = g.varies ? 0 : 2 * f.n;
    s.prep = g.varies ? 0 : f.work_elems;
    s.worker = 2 * f.n + f.work_elems + (g.varies ? 2 * f.n : 0);
    return s;
  }
  const fft::NdShape<T> nd(g.R, g.L);
  int64_t kpts = 1;
  for (int d = 0; d < g.R; ++d) kpts *= g.K[d];
  const int64_t rows_spec = 2 * nd.rows * nd.hpad;
  const int64_t prep = rows_spec + nd.rows_work() + kpts + NL;  // packed kernel + transform
  if (g.layout == Layout::rows) {
    s.shared = g.varies ? 0 : rows_spec;
    s.worker = rows_spec + nd.rows_work() + nd.rows /* row ids (as int64 -> 2 floats) */ * 2 + NL;
    if (g.varies) s.worker += prep;
    s.prep = g.varies ? 0 : prep;
    return s;
  }
  const int64_t lane_real = nd.points() * NL;
  const int64_t lane_spec = 2 * nd.rows * nd.half * NL;
  const int64_t staging = g.layout == Layout::lanes_tiles ? NL * g.L[g.R - 1] : 0;
  s.shared = g.varies ? 0 : 2 * nd.rows * nd.half;
  s.worker = lane_real + lane_spec + staging + nd.transform_work() + NL;
  if (g.varies) s.worker += lane_spec + NL * kpts + NL;  // lane spectra + up to NL packed kernels
  s.prep = g.varies ? 0 : prep;
  return s;
}

std::size_t bytes_of(std::int64_t elems, std::size_t t) {
  return static_cast<std::size_t>(elems) * t + 64;
}

// ---- the kernel spectrum ----------------------------------------------------------------------

// Rows-layout spectrum of the kernel (packed row-major over K, R dims) placed at the origin of an
// L box, conjugated (correlation) and scaled by 1/prod(L) (the unnormalised inverse).
template <typename T>
void kernel_spectrum_rows(const fft::FftKernelsFor<T>& k, const fft::NdShape<T>& nd, const Tiling& g,
                          const T* packed, T* re, T* im, T* work) {
  const int R = g.R;
  const int64_t lx = g.L[R - 1], kx = g.K[R - 1];
  fft::rows_forward(
      k, nd,
      [&](int64_t r, T* dst) {
        int64_t off = 0, rem = r, mul = kx;
        bool inside = true;
        for (int d = R - 2; d >= 0; --d) {
          const int64_t c = rem % g.L[d];
          rem /= g.L[d];
          if (c >= g.K[d]) inside = false;
          off += c * mul;
          mul *= g.K[d];
        }
        std::memset(dst, 0, sizeof(T) * lx);
        if (inside) std::memcpy(dst, packed + off, sizeof(T) * kx);
      },
      re, im, work);
  fft::columns_transform(k, nd, nd.hpad, re, im, false, work);
  const T scale = static_cast<T>(1.0 / static_cast<double>(nd.points()));
  for (int64_t i = 0; i < nd.rows * nd.hpad; ++i) re[i] *= scale, im[i] *= -scale;
}

// Lanes-layout spectra of up to NL kernels (one per lane), conjugated and scaled.
template <typename T>
void kernel_spectrum_lanes(const fft::FftKernelsFor<T>& k, const fft::NdShape<T>& nd, const Tiling& g,
                           const T* const* packed, T* real, T* re, T* im, T* work) {
  constexpr int NL = fft::kFftLanes<T>;
  const int R = g.R;
  std::memset(real, 0, sizeof(T) * nd.points() * NL);
  int64_t kpts = 1;
  for (int d = 0; d < R; ++d) kpts *= g.K[d];
  for (int64_t i = 0; i < kpts; ++i) {
    int64_t rem = i, pos = 0, mul = 1;
    for (int d = R - 1; d >= 0; --d) {
      pos += (rem % g.K[d]) * mul;
      rem /= g.K[d];
      mul *= g.L[d];
    }
    for (int l = 0; l < NL; ++l) real[pos * NL + l] = packed[l] ? packed[l][i] : T(0);
  }
  fft::lanes_forward(k, nd, real, re, im, work);
  const T scale = static_cast<T>(1.0 / static_cast<double>(nd.points()));
  for (int64_t i = 0; i < nd.rows * nd.half * NL; ++i) re[i] *= scale, im[i] *= -scale;
}

// ---- job decoding ---------------------------------------------------------------------------

// Output coordinates of outer index o (other coordinates untouched).
void set_outer(const Tiling& g, const FilterProblem& p, int64_t o, int64_t* m) {
  for (int i = g.n_outer_dims - 1; i >= 0; --i) {
    const int d = g.outer_dim[i];
    m[d] = o % p.out_shape[d];
    o /= p.out_shape[d];
  }
}

// Tile origin (output coordinates) of flat tile index t.
void set_tile(const Tiling& g, int64_t t, int64_t* m0) {
  for (int d = g.R - 1; d >= 0; --d) {
    m0[g.fdim[d]] = (t % g.ntiles[d]) * g.T[d];
    t /= g.ntiles[d];
  }
}

int64_t kernel_offset(const FilterProblem& p, const int64_t* m) {
  int64_t kb = 0;
  for (int d = 0; d < p.rank; ++d) kb += m[d] * p.k_batch_stride[d];
  return kb;
}

// ---- engines per layout ---------------------------------------------------------------------

template <typename T>
void run_scale(const FilterProblem& p, const Tiling& g) {
  const int last = p.rank - 1;
  const int64_t n = p.out_shape[last];
  parallel_for(g.jobs, [&](int64_t begin, int64_t end, int) {
    T* line = static_cast<T*>(thread_scratch(bytes_of(n + 1, sizeof(T))));
    T* kv = line + n;
    int64_t m[kMaxRank] = {}, idx[kMaxRank] = {};
    for (int64_t o = begin; o < end; ++o) {
      set_outer(g, p, o, m);
      for (int d = 0; d < last; ++d) idx[d] = m[d] + p.base[d];
      gather_line<T>(p, idx, p.base[last], n, line);
      if (p.k_batch_stride[last] == 0) {
        m[last] = 0;
        pack_kernel<T>(p, m, kv);
        for (int64_t j = 0; j < n; ++j) line[j] *= kv[0];
      } else {
        for (int64_t j = 0; j < n; ++j) {
          m[last] = j;
          pack_kernel<T>(p, m, kv);
          line[j] *= kv[0];
        }
      }
      store_line<T>(p, m, 0, n, line);
    }
  });
}

template <typename T>
void run_rows(const FilterProblem& p, const Tiling& g, const fft::FftKernelsFor<T>& k) {
  const int R = g.R, last = p.rank - 1;
  const fft::NdShape<T> nd(R, g.L);
  const Sizes sz = sizes_for<T>(p, g);
  int64_t kpts = 1;
  for (int d = 0; d < R; ++d) kpts *= g.K[d];
  const int64_t plane = nd.rows * nd.hpad;
  const T* shared_re = nullptr;
  const T* shared_im = nullptr;
  if (!g.varies) {
    T* spec = static_cast<T*>(thread_scratch(bytes_of(sz.shared, sizeof(T)), ScratchSlot::shared));
    T* prep = static_cast<T*>(thread_scratch(bytes_of(sz.prep, sizeof(T))));
    T* packed = prep + nd.rows_work();
    pack_kernel<T>(p, nullptr, packed);
    kernel_spectrum_rows(k, nd, g, packed, spec, spec + plane, prep);
    shared_re = spec, shared_im = spec + plane;
  }
  const int64_t lx = g.L[R - 1];
  parallel_for(g.jobs, [&](int64_t begin, int64_t end, int) {
    T* re = static_cast<T*>(thread_scratch(bytes_of(sz.worker, sizeof(T))));
    T* im = re + plane;
    T* work = im + plane;
    int64_t* ids = reinterpret_cast<int64_t*>(work + (nd.rows_work() + 1) / 2 * 2);
    T* kre = reinterpret_cast<T*>(ids + nd.rows) + fft::kFftLanes<T>;  // varying kernels only
    T* kim = kre + plane;
    T* kwork = kim + plane;
    T* kpacked = kwork + nd.rows_work();
    int64_t cached_kb = -1;
    bool have_kernel = false;
    int64_t m[kMaxRank] = {}, m0[kMaxRank] = {}, idx[kMaxRank] = {};
    for (int64_t job = begin; job < end; ++job) {
      const int64_t o = job / g.n_tiles, t = job % g.n_tiles;
      set_outer(g, p, o, m0);
      set_tile(g, t, m0);
      const T* sre = shared_re;
      const T* sim = shared_im;
      if (g.varies) {
        const int64_t kb = kernel_offset(p, m0);
        if (!have_kernel || kb != cached_kb) {
          for (int d = 0; d < p.rank; ++d) m[d] = m0[d];
          pack_kernel<T>(p, m, kpacked);
          kernel_spectrum_rows(k, nd, g, kpacked, kre, kim, kwork);
          cached_kb = kb, have_kernel = true;
        }
        sre = kre, sim = kim;
      }
      for (int d = 0; d < p.rank; ++d) idx[d] = m0[d] + p.base[d];
      fft::rows_forward(
          k, nd,
          [&](int64_t r, T* dst) {
            int64_t rem = r;
            for (int d = R - 2; d >= 0; --d) {
              idx[g.fdim[d]] = m0[g.fdim[d]] + p.base[g.fdim[d]] + rem % g.L[d];
              rem /= g.L[d];
            }
            gather_line<T>(p, idx, m0[last] + p.base[last], lx, dst);
          },
          re, im, work);
      fft::columns_transform(k, nd, nd.hpad, re, im, false, work);
      k.multiply(re, im, sre, sim, plane);
      fft::columns_transform(k, nd, nd.hpad, re, im, true, work);
      // Rows holding outputs of this tile.
      int64_t valid[kMaxRank];
      int64_t n_ids = 1;
      for (int d = 0; d < R; ++d) {
        valid[d] = std::min(g.T[d], p.out_shape[g.fdim[d]] - m0[g.fdim[d]]);
        if (d + 1 < R) n_ids *= valid[d];
      }
      for (int64_t i = 0; i < n_ids; ++i) {
        int64_t rem = i, r = 0, mul = 1;
        for (int d = R - 2; d >= 0; --d) {
          r += (rem % valid[d]) * mul;
          rem /= valid[d];
          mul *= g.L[d];
        }
        ids[i] = r;
      }
      for (int d = 0; d < p.rank; ++d) m[d] = m0[d];
      fft::rows_inverse(
          k, nd, re, im, ids, n_ids,
          [&](int64_t r, const T* src) {
            int64_t rem = r;
            for (int d = R - 2; d >= 0; --d) {
              m[g.fdim[d]] = m0[g.fdim[d]] + rem % g.L[d];
              rem /= g.L[d];
            }
            store_line<T>(p, m, m0[last], valid[R - 1], src);
          },
          work);
    }
  });
}

template <typename T>
void run_lanes(const FilterProblem& p, const Tiling& g, const fft::FftKernelsFor<T>& k) {
  constexpr int NL = fft::kFftLanes<T>;
  const int R = g.R, last = p.rank - 1;
  const bool trailing = g.layout == Layout::lanes_trailing;
  const fft::NdShape<T> nd(R, g.L);
  const Sizes sz = sizes_for<T>(p, g);
  int64_t kpts = 1;
  for (int d = 0; d < R; ++d) kpts *= g.K[d];
  const int64_t nfreq = nd.rows * nd.half;
  const int64_t pts = nd.points();
  T* shared = nullptr;
  if (!g.varies) {
    shared = static_cast<T*>(thread_scratch(bytes_of(sz.shared, sizeof(T)), ScratchSlot::shared));
    T* prep = static_cast<T*>(thread_scratch(bytes_of(sz.prep, sizeof(T))));
    T* re = prep;
    T* im = re + nd.rows * nd.hpad;
    T* packed = im + nd.rows * nd.hpad + nd.rows_work();
    pack_kernel<T>(p, nullptr, packed);
    kernel_spectrum_rows(k, nd, g, packed, re, im, im + nd.rows * nd.hpad);
    for (int64_t r = 0; r < nd.rows; ++r)
      for (int64_t j = 0; j < nd.half; ++j) {
        shared[r * nd.half + j] = re[r * nd.hpad + j];
        shared[nfreq + r * nd.half + j] = im[r * nd.hpad + j];
      }
  }
  const int64_t lx = g.L[R - 1];
  parallel_for(g.jobs, [&](int64_t begin, int64_t end, int) {
    T* real = static_cast<T*>(thread_scratch(bytes_of(sz.worker, sizeof(T))));
    T* re = real + pts * NL;
    T* im = re + nfreq * NL;
    T* staging = im + nfreq * NL;
    T* work = staging + (trailing ? 0 : NL * lx);
    T* kre = work + nd.transform_work();
    T* kim = kre + nfreq * NL;
    T* kpacked = kim + nfreq * NL;  // up to NL packed kernels (varying kernels only)
    int64_t cached_kb[NL];
    bool have_kernel = false;
    int64_t m[kMaxRank] = {}, m0[kMaxRank] = {}, idx[kMaxRank] = {};
    int64_t lane_kb[NL];
    for (int64_t job = begin; job < end; ++job) {
      // Which (outer, tile) each lane holds, and how many lanes are real.
      int lanes_used;
      int64_t item0 = 0, o = 0, t = 0, g0 = 0;
      if (trailing) {
        g0 = job % g.lane_groups;
        const int64_t ot = job / g.lane_groups;
        o = ot / g.n_tiles, t = ot % g.n_tiles;
        lanes_used = static_cast<int>(std::min<int64_t>(NL, p.out_shape[last] - g0 * NL));
        set_outer(g, p, o, m0);
        set_tile(g, t, m0);
        for (int l = 0; l < NL; ++l) {
          m0[last] = g0 * NL + std::min(l, lanes_used - 1);
          lane_kb[l] = kernel_offset(p, m0);
        }
        m0[last] = g0 * NL;
      } else {
        item0 = job * NL;
        lanes_used = static_cast<int>(std::min<int64_t>(NL, g.items - item0));
        for (int l = 0; l < NL; ++l) {
          const int64_t it = item0 + std::min(l, lanes_used - 1);
          set_outer(g, p, it / g.n_tiles, m);
          lane_kb[l] = kernel_offset(p, m);
        }
      }
      const T* sre = shared;
      const T* sim = shared ? shared + nfreq : nullptr;
      if (g.varies) {
        bool same = have_kernel;
        for (int l = 0; l < NL && same; ++l) same = cached_kb[l] == lane_kb[l];
        if (!same) {
          // Pack each distinct kernel once, in lane order (consecutive lanes usually share).
          const T* packed[NL];
          int64_t n_packed = 0;
          for (int l = 0; l < NL; ++l) {
            if (l > 0 && lane_kb[l] == lane_kb[l - 1]) {
              packed[l] = packed[l - 1];
              continue;
            }
            // Any output position with this kernel offset: rebuild it from the lane's coordinates.
            if (trailing) {
              set_outer(g, p, o, m);
              m[last] = g0 * NL + std::min(l, lanes_used - 1);
            } else {
              set_outer(g, p, (item0 + std::min(l, lanes_used - 1)) / g.n_tiles, m);
            }
            for (int d = 0; d < R; ++d) m[g.fdim[d]] = 0;
            T* dst = kpacked + n_packed++ * kpts;
            pack_kernel<T>(p, m, dst);
            packed[l] = dst;
          }
          kernel_spectrum_lanes(k, nd, g, packed, real, kre, kim, work);
          std::copy(lane_kb, lane_kb + NL, cached_kb);
          have_kernel = true;
        }
        sre = kre, sim = kim;
      }
      // Gather the input boxes into [pts][NL].
      if (trailing) {
        for (int64_t i = 0; i < pts; ++i) {
          int64_t rem = i;
          for (int d = R - 1; d >= 0; --d) {
            idx[g.fdim[d]] = m0[g.fdim[d]] + p.base[g.fdim[d]] + rem % g.L[d];
            rem /= g.L[d];
          }
          for (int j = 0; j < g.n_outer_dims; ++j) idx[g.outer_dim[j]] = m0[g.outer_dim[j]] + p.base[g.outer_dim[j]];
          T* dst = real + i * NL;
          gather_line<T>(p, idx, m0[last] + p.base[last], lanes_used, dst);
          for (int l = lanes_used; l < NL; ++l) dst[l] = 0;
        }
      } else {
        const T* rows[NL];
        for (int l = 0; l < NL; ++l) {
          T* dst = staging + l * lx;
          rows[l] = dst;
          if (l >= lanes_used) {
            std::memset(dst, 0, sizeof(T) * lx);
            continue;
          }
          const int64_t it = item0 + l;
          set_outer(g, p, it / g.n_tiles, m);
          for (int d = 0; d < last; ++d) idx[d] = m[d] + p.base[d];
          gather_line<T>(p, idx, (it % g.n_tiles) * g.T[0] + p.base[last], lx, dst);
        }
        k.to_lanes(rows, lx, real);
      }
      fft::lanes_forward(k, nd, real, re, im, work);
      if (g.varies)
        k.multiply(re, im, sre, sim, nfreq * NL);
      else
        k.multiply_broadcast(re, im, sre, sim, nfreq);
      fft::lanes_inverse(k, nd, re, im, real, work);
      // Store the valid part.
      if (trailing) {
        int64_t valid[kMaxRank];
        int64_t n_valid = 1;
        for (int d = 0; d < R; ++d) {
          valid[d] = std::min(g.T[d], p.out_shape[g.fdim[d]] - m0[g.fdim[d]]);
          n_valid *= valid[d];
        }
        for (int d = 0; d < p.rank; ++d) m[d] = m0[d];
        for (int64_t i = 0; i < n_valid; ++i) {
          int64_t rem = i, pos = 0, mul = 1;
          for (int d = R - 1; d >= 0; --d) {
            const int64_t c = rem % valid[d];
            rem /= valid[d];
            m[g.fdim[d]] = m0[g.fdim[d]] + c;
            pos += c * mul;
            mul *= g.L[d];
          }
          store_line<T>(p, m, m0[last], lanes_used, real + pos * NL);
        }
      } else {
        T* rows[NL];
        for (int l = 0; l < NL; ++l) rows[l] = staging + l * lx;
        k.from_lanes(real, lx, rows);
        for (int l = 0; l < lanes_used; ++l) {
          const int64_t it = item0 + l;
          set_outer(g, p, it / g.n_tiles, m);
          const int64_t x0 = (it % g.n_tiles) * g.T[0];
          store_line<T>(p, m, x0, std::min(g.T[0], p.out_shape[last] - x0), rows[l]);
        }
      }
    }
  });
}

// Conjugated, scaled four-step spectrum of the kernel at out_idx (packed straight into re).
template <typename T>
void kernel_spectrum_long(const FilterProblem& p, const fft::FftKernelsFor<T>& k,
                          const fft::FourStepPlan<T>& f, const int64_t* out_idx, int64_t K, T* re,
                          T* im, T* work) {
  pack_kernel<T>(p, out_idx, re);
  std::memset(re + K, 0, sizeof(T) * (f.n - K));
  std::memset(im, 0, sizeof(T) * f.n);
  fft::four_step_forward(k, f, re, im, work);
  const T scale = static_cast<T>(1.0 / static_cast<double>(f.n));
  for (int64_t i = 0; i < f.n; ++i) re[i] *= scale, im[i] *= -scale;
}

// 1-d tiles too long for the lanes layout: two tiles per complex four-step transform (real
// and imaginary part; the kernel is real, so the two correlations do not mix).
template <typename T>
void run_long(const FilterProblem& p, const Tiling& g, const fft::FftKernelsFor<T>& k) {
  const int last = p.rank - 1;
  const fft::FourStepPlan<T>& f = fft::four_step_plan<T>(g.L[0]);
  const Sizes sz = sizes_for<T>(p, g);
  const int64_t n = f.n, K = g.K[0], T0 = g.T[0];
  const T* shared = nullptr;
  if (!g.varies) {
    T* spec = static_cast<T*>(thread_scratch(bytes_of(sz.shared, sizeof(T)), ScratchSlot::shared));
    T* prep = static_cast<T*>(thread_scratch(bytes_of(sz.prep, sizeof(T))));
    kernel_spectrum_long(p, k, f, nullptr, K, spec, spec + n, prep);
    shared = spec;
  }
  parallel_for(g.jobs, [&](int64_t begin, int64_t end, int) {
    T* re = static_cast<T*>(thread_scratch(bytes_of(sz.worker, sizeof(T))));
    T* im = re + n;
    T* work = im + n;
    T* kspec = work + f.work_elems;  // varying kernels only: 2n
    int64_t cached_kb = 0;
    bool have_kernel = false;
    int64_t m[kMaxRank] = {}, idx[kMaxRank] = {};
    for (int64_t job = begin; job < end; ++job) {
      // Items 2 job and 2 job + 1; with varying kernels that differ, one at a time.
      const int64_t first = 2 * job, count = std::min<int64_t>(2, g.items - first);
      int64_t kb[2] = {0, 0};
      for (int64_t i = 0; i < count; ++i) {
        set_outer(g, p, (first + i) / g.n_tiles, m);
        kb[i] = kernel_offset(p, m);
      }
      const bool together = count == 2 && kb[0] == kb[1];
      for (int64_t pass = 0; pass < (together ? 1 : count); ++pass) {
        const int64_t a = first + pass, in_pass = together ? 2 : 1;
        const T* spec = shared;
        if (g.varies) {
          if (!have_kernel || cached_kb != kb[pass]) {
            set_outer(g, p, a / g.n_tiles, m);
            m[last] = 0;
            kernel_spectrum_long(p, k, f, m, K, kspec, kspec + n, work);
            cached_kb = kb[pass], have_kernel = true;
          }
          spec = kspec;
        }
        for (int64_t i = 0; i < 2; ++i) {
          T* plane = i == 0 ? re : im;
          if (i >= in_pass) {
            std::memset(plane, 0, sizeof(T) * n);
            continue;
          }
          const int64_t it = a + i;
          set_outer(g, p, it / g.n_tiles, m);
          for (int d = 0; d < last; ++d) idx[d] = m[d] + p.base[d];
          gather_line<T>(p, idx, (it % g.n_tiles) * T0 + p.base[last], n, plane);
        }
        fft::four_step_forward(k, f, re, im, work);
        k.multiply(re, im, spec, spec + n, n);
        fft::four_step_inverse(k, f, re, im, work);
        for (int64_t i = 0; i < in_pass; ++i) {
          const int64_t it = a + i;
          set_outer(g, p, it / g.n_tiles, m);
          const int64_t x0 = (it % g.n_tiles) * T0;
          store_line<T>(p, m, x0, std::min(T0, p.out_shape[last] - x0), i == 0 ? re : im);
        }
      }
    }
  });
}

template <typename T>
void run(const FilterProblem& p, const Tiling& g) {
  if (g.layout == Layout::scale) return run_scale<T>(p, g);
  const fft::FftKernelsFor<T>& k = fft::kernels_for<T>(fft::active_kernels());
  if (g.layout == Layout::rows) return run_rows<T>(p, g, k);
  if (g.layout == Layout::long_line) return run_long<T>(p, g, k);
  return run_lanes<T>(p, g, k);
}

bool empty_output(const FilterProblem& p) {
  for (int d = 0; d < p.rank; ++d)
    if (p.out_shape[d] == 0) return true;
  return false;
}

}  // namespace

void fft_filter(const FilterProblem& p) {
  const Tiling g = plan_tiling(p);
  if (empty_output(p)) return;
  if (p.acc == Acc::f32)
    run<float>(p, g);
  else
    run<double>(p, g);
}

std::size_t fft_filter_workspace_bytes(const FilterProblem& p, int threads) {
  const Tiling g = plan_tiling(p);
  if (empty_output(p)) return 0;
  const std::size_t t = p.acc == Acc::f32 ? 4 : 8;
  const Sizes s = p.acc == Acc::f32 ? sizes_for<float>(p, g) : sizes_for<double>(p, g);
  const int used = static_cast<int>(std::min<int64_t>(std::max(threads, 1), std::max<int64_t>(g.jobs, 1)));
  return bytes_of(s.shared, t) + std::max(bytes_of(s.prep, t), bytes_of(s.worker, t)) +
         static_cast<std::size_t>(used - 1) * bytes_of(s.worker, t);
}

double fft_filter_cost_seconds(const FilterProblem& p) {
  const Tiling g = plan_tiling(p);
  if (empty_output(p)) return 0;
  double kernel = 0;
  if (g.R > 0) {
    double pts = 1, logs = 0;
    for (int d = 0; d < g.R; ++d) pts *= static_cast<double>(g.L[d]), logs += log2d(static_cast<double>(g.L[d]));
    kernel = pts * (logs + 2) * kFftPoint * (g.varies ? 1.0 : 4.0);
  }
  return g.cost + kernel;
}

double fft_filter_cost_lower_bound(const FilterProblem& p) {
  // job_cost charges every layout at least (points + valid) · kIo with a factor ≥ 0.75, and
  // the valid extents of all tiles cover the output.
  double outs = 1;
  for (int d = 0; d < p.rank; ++d) outs *= static_cast<double>(p.out_shape[d]);
  return 0.75 * 2 * kIo * outs;
}

std::string fft_filter_describe(const FilterProblem& p) {
  const Tiling g = plan_tiling(p);
  std::ostringstream s;
  auto dims = [&](const int64_t* v) {
    for (int d = 0; d < g.R; ++d) s << (d ? "x" : "") << v[d];
  };
  switch (g.layout) {
    case Layout::scale: s << "no filtered dimension (kernel extent 1): pointwise product"; break;
    case Layout::rows: s << "overlap-save rows"; break;
    case Layout::lanes_tiles: s << "overlap-save, " << g.lanes << " tiles per vector"; break;
    case Layout::lanes_trailing: s << "overlap-save, " << g.lanes << " trailing positions per vector"; break;
    case Layout::long_line: s << "overlap-save, two tiles per complex four-step FFT"; break;
  }
  if (g.R > 0) {
    s << ", tiles ";
    dims(g.T);
    s << " (FFT ";
    dims(g.L);
    s << ")";
  }
  const int threads = static_cast<int>(std::min<int64_t>(convkit::detail::current_num_threads(), std::max<int64_t>(g.jobs, 1)));
  s << ", " << g.jobs << " jobs, " << threads << (threads == 1 ? " thread" : " threads");
  if (g.varies) s << ", kernel varies along batch dimensions";
  return s.str();
}

}  // namespace convkit::signal::detail
