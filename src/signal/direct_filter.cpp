// src/signal/direct_filter.cpp — direct summation engine for FilterProblem.
//
// Any rank is viewed as outer dims × a 2-D plane (rank 1 gets a leading extent-1 dim). Work
// items are (outer output position, block of R output rows, chunk of W output columns). For
// each item and each outer kernel position, the R + kh - 1 input rows it needs are gathered
// (boundary rule and dtype conversion applied: no padded copy of the whole input) into a
// small per-thread buffer, and the 2-D micro-kernel accumulates the item's R × W tile. Each
// output element is summed by exactly one item in a fixed order, so results do not depend on
// the number of threads.
#include "signal/direct_filter.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "convkit/error.hpp"
#include "core/arena.hpp"
#include "core/cpu_features.hpp"
#include "core/threading.hpp"
#include "kernels/filter/filter_kernels.hpp"
#include "signal/scalar_dispatch.hpp"

namespace convkit::signal::detail {
namespace {

using convkit::detail::parallel_for;
using convkit::detail::ScratchSlot;
using convkit::detail::thread_scratch;

// Rank ≥ 2 copy of p (a leading extent-1 dimension for rank 1).
FilterProblem as_planar(const FilterProblem& p) {
  if (p.rank >= 2) return p;
  FilterProblem q = p;
  q.rank = 2;
  auto shift = [](std::int64_t* a, std::int64_t first) {
    a[1] = a[0];
    a[0] = first;
  };
  shift(q.in_shape, 1);
  shift(q.k_shape, 1);
  shift(q.out_shape, 1);
  shift(q.base, 0);
  shift(q.in_stride, 0);
  shift(q.k_stride, 0);
  shift(q.k_batch_stride, 0);
  shift(q.out_stride, 0);
  return q;
}

template <typename A>
constexpr Scalar acc_scalar() {
  return std::is_same_v<A, float> ? Scalar::f32 : std::is_same_v<A, double> ? Scalar::f64 : Scalar::i64;
}

template <typename A>
const FilterKernel<A>& kernel_for(const FilterKernels& ks) {
  if constexpr (std::is_same_v<A, float>)
    return ks.f32;
  else if constexpr (std::is_same_v<A, double>)
    return ks.f64;
  else
    return ks.i64;
}

struct Tiling {
  std::int64_t rows;    // R: output rows per item
  std::int64_t width;   // W: output columns per item (multiple of the kernel block)
  std::int64_t ld_ext;  // elements per gathered row
};

Tiling choose_tiling(const FilterProblem& q, int block, int elem_bytes) {
  const int r = q.rank;
  const std::int64_t oh = q.out_shape[r - 2], ow = q.out_shape[r - 1];
  const std::int64_t kh = q.k_shape[r - 2], kw = q.k_shape[r - 1];
  Tiling t;
  t.rows = std::min<std::int64_t>(oh, kh > 8 ? 32 : 16);
  // Whole rows when they fit (≤ 16 KB): gathering and storing then run as one sequential
  // stream through memory, which the hardware prefetchers follow; narrower chunks would
  // interleave R + kh - 1 short streams. A single row (1-D signals) is cut into 32 KB chunks.
  const std::int64_t max_w = (oh == 1 ? 32768 : 16384) / elem_bytes;
  const std::int64_t chunks = std::max<std::int64_t>(1, (ow + max_w - 1) / max_w);
  const std::int64_t w = (ow + chunks - 1) / chunks;
  t.width = (w + block - 1) / block * block;
  t.ld_ext = (t.width + kw - 1 + 15) / 16 * 16;
  return t;
}

// A run of output columns of one work item. In-place segments cover columns whose input
// window lies inside the input along the last dimension and are a whole number of kernel
// blocks, so the micro-kernel reads existing rows straight from the caller's array; the other
// segments (the borders, or everything when the input's type or stride differs from the
// accumulator's) read gathered rows.
struct Segment {
  std::int64_t x0;     // first output column
  std::int64_t width;  // columns computed (multiple of the kernel block)
  std::int64_t n;      // columns stored (≤ width)
  bool in_place;
};

std::vector<Segment> column_segments(const FilterProblem& q, const Tiling& t, int block,
                                     Scalar acc_scalar);

template <typename F>
void with_acc(Acc a, F&& f) {
  switch (a) {
    case Acc::f32: f(float{}); return;
    case Acc::f64: f(double{}); return;
    case Acc::i64: f(std::int64_t{}); return;
  }
}
bool is_integral_scalar(Scalar s) { return s != Scalar::f32 && s != Scalar::f64; }

// A rank-1 kernel slice k = u · vᵀ / g, run as a horizontal pass with v and a vertical pass with
// u, then divided by g (g = 1 for floating data). For floating data the factors are accepted
// when they reproduce k to within a few ulps of max|k| (the result then matches direct
// summation to within rounding); for integer data only when k·g = u·vᵀ holds exactly and every
// partial sum of both passes provably stays an exact integer in the accumulator.
template <typename A>
struct Rank1 {
  bool ok = false;
  std::vector<A> u, v;
  A g = A(1);
};

template <typename A>
Rank1<A> factor_rank1(const FilterProblem& q, const A* k, std::int64_t kh, std::int64_t kw) {
  Rank1<A> f;
  if constexpr (std::is_same_v<A, std::int64_t>) {
    return f;  // wrapping integer accumulation: division by g would be wrong after a wrap
  } else {
    if (kh < 2 || kw < 2 || kh * kw < 2 * (kh + kw)) return f;  // not worth two passes
    std::int64_t i0 = 0, j0 = 0;
    A kmax = 0;
    for (std::int64_t i = 0; i < kh; ++i)
      for (std::int64_t j = 0; j < kw; ++j) {
        if (!std::isfinite(static_cast<double>(k[i * kw + j]))) return f;
        if (std::fabs(k[i * kw + j]) > kmax) kmax = std::fabs(k[i * kw + j]), i0 = i, j0 = j;
      }
    if (kmax == 0 || !std::isfinite(static_cast<double>(kmax))) return f;
    const bool integer = is_integral_scalar(q.in_type) && is_integral_scalar(q.k_type);
    f.u.resize(kh);
    f.v.resize(kw);
    const A piv = k[i0 * kw + j0];
    for (std::int64_t i = 0; i < kh; ++i) f.u[i] = k[i * kw + j0];
    if (integer) {
      for (std::int64_t j = 0; j < kw; ++j) f.v[j] = k[i0 * kw + j];
      f.g = piv;
      // The exact test below works on int64 values: larger taps (uint64 data) never qualify.
      if (!(kmax < A(4611686018427387904.0))) return f;
      double su = 0, sv = 0;
      for (std::int64_t i = 0; i < kh; ++i)
        for (std::int64_t j = 0; j < kw; ++j) {
          // Exact test in 128-bit integers: k_ij · g == u_i · v_j.
          const __int128 lhs = static_cast<__int128>(static_cast<std::int64_t>(k[i * kw + j])) *
                               static_cast<std::int64_t>(piv);
          const __int128 rhs = static_cast<__int128>(static_cast<std::int64_t>(f.u[i])) *
                               static_cast<std::int64_t>(f.v[j]);
          if (lhs != rhs) return f;
        }
      for (auto x : f.u) su += std::fabs(static_cast<double>(x));
      for (auto x : f.v) sv += std::fabs(static_cast<double>(x));
      const double xmax = std::max(q.in_max_abs, std::fabs(q.fill));
      const double limit = std::is_same_v<A, float> ? 16777216.0 : 9007199254740992.0;
      if (q.in_max_abs <= 0 || xmax * su * sv > limit) return f;
    } else {
      for (std::int64_t j = 0; j < kw; ++j) f.v[j] = k[i0 * kw + j] / piv;
      const A tol = 4 * std::numeric_limits<A>::epsilon() * kmax;
      for (std::int64_t i = 0; i < kh; ++i)
        for (std::int64_t j = 0; j < kw; ++j)
          if (std::fabs(k[i * kw + j] - f.u[i] * f.v[j]) > tol) return f;
    }
    f.ok = true;
    return f;
  }
}

template <typename A>
void run_reference(const FilterProblem& p);

// Separable kernels with few rows run both 1-D passes fused in the micro-kernel (no
// intermediate rows in memory; these filters are bound by memory traffic). The fused kernel
// forms each input row's horizontal result once per group of 4 output rows, (4 + kh - 1) / 4
// times per row, so taller kernels keep the two passes over a buffer of intermediate rows.
bool fused_separable(std::int64_t kh) { return kh <= 7; }

std::vector<Segment> column_segments(const FilterProblem& q, const Tiling& t, int block,
                                     Scalar acc_scalar) {
  const int r = q.rank;
  const std::int64_t ow = q.out_shape[r - 1], kw = q.k_shape[r - 1], n_in = q.in_shape[r - 1];
  const std::int64_t base = q.base[r - 1];
  std::vector<Segment> segs;
  auto add_chunks = [&](std::int64_t lo, std::int64_t hi, bool in_place) {
    const std::int64_t len = hi - lo;
    if (len <= 0) return;
    const std::int64_t pieces = (len + t.width - 1) / t.width;
    const std::int64_t per = (len + pieces - 1) / pieces;
    for (std::int64_t x = lo; x < hi; x += per) {
      const std::int64_t n = std::min(per, hi - x);
      segs.push_back({x, (n + block - 1) / block * block, n, in_place});
    }
  };
  const bool same_type = q.in_type == acc_scalar && q.in_stride[r - 1] == 1;
  // Columns x whose window [x + base, x + base + kw) lies inside [0, n_in).
  std::int64_t xa = std::clamp<std::int64_t>(-base, 0, ow);
  std::int64_t xb = std::clamp<std::int64_t>(n_in - kw + 1 - base, xa, ow);
  // In-place segments write straight into the output, with streaming stores when it is large;
  // those need 64-byte aligned vectors, else every store first reads its line (a third more
  // memory traffic: 'same' 3x3 on a 4K image starts the in-place columns at x = 1). So the
  // in-place columns start at an aligned output address when every output row is aligned alike,
  // and the few columns before it join the gathered left border.
  const std::size_t es = with_scalar(q.out_type, [](auto tag) { return sizeof(tag); });
  bool rows_aligned = q.out_type == acc_scalar && q.out_stride[r - 1] == 1 &&
                      reinterpret_cast<std::uintptr_t>(q.out) % es == 0;
  for (int d = 0; d < r - 1; ++d)
    rows_aligned = rows_aligned && (q.out_stride[d] * static_cast<std::int64_t>(es)) % 64 == 0;
  if (rows_aligned && same_type) {
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(q.out) + xa * es;
    xa = std::min(xb, xa + static_cast<std::int64_t>((64 - first % 64) % 64 / es));
  }
  const std::int64_t mid = same_type ? (xb - xa) / block * block : 0;
  if (mid < block) {
    add_chunks(0, ow, false);
    return segs;
  }
  add_chunks(0, xa, false);
  // In-place pieces must stay whole blocks: split the middle into multiples of the block.
  const std::int64_t pieces = (mid + t.width - 1) / t.width;
  const std::int64_t per = (mid / block + pieces - 1) / pieces * block;
  for (std::int64_t x = xa; x < xa + mid; x += per) {
    const std::int64_t w = std::min(per, xa + mid - x);
    segs.push_back({x, w, w, true});
  }
  add_chunks(xa + mid, ow, false);
  return segs;
}

// ---- volumes: slabs of padded planes, each gathered once ------------------------------------
// A kernel that extends along the dimension before the plane (3-D: depth) sums KD planes per
// output plane. The item path gathers every input row again for each of them (KD times) and
// splits narrow rows into border and in-place segments (a 128-wide plane with a 5-wide kernel
// computed 192 columns); here one work item is one output plane, and each thread keeps the
// last KD input planes it gathered, padded and converted (a ring of slabs indexed by the
// plane's coordinate modulo KD), so each input plane is gathered once per thread and the
// micro-kernel runs over whole padded planes.
struct SlabPlan {
  bool ok = false;
  std::int64_t kd = 0;        // kernel extent along dimension r - 3
  std::int64_t rows = 0;      // padded plane rows: oh + kh - 1
  std::int64_t width = 0;     // computed columns: ow rounded up to the kernel block
  std::int64_t ld = 0;        // padded row length: width + kw - 1, rounded up to 16
  std::int64_t elems = 0;     // per-thread scratch elements (slabs, tile)
};

// Slabs up to this many bytes per thread (the ring of KD padded planes stays in L2 for the
// shapes it is meant for: 128^3 volumes with 5^3 kernels use 380 KB).
constexpr double kMaxSlabBytes = 4.0 * 1024 * 1024;

SlabPlan plan_slabs(const FilterProblem& q, int block, int elem_bytes) {
  SlabPlan s;
  const int r = q.rank;
  if (r < 3 || q.k_shape[r - 3] < 2) return s;
  for (int d = 0; d < r - 3; ++d)
    if (q.k_shape[d] != 1) return s;
  const std::int64_t kh = q.k_shape[r - 2], kw = q.k_shape[r - 1];
  const std::int64_t oh = q.out_shape[r - 2], ow = q.out_shape[r - 1];
  s.kd = q.k_shape[r - 3];
  s.rows = oh + kh - 1;
  s.width = (ow + block - 1) / block * block;
  s.ld = (s.width + kw - 1 + 15) / 16 * 16;
  const double elems = static_cast<double>(s.kd) * static_cast<double>(s.rows) * static_cast<double>(s.ld) +
                       static_cast<double>(oh) * static_cast<double>(s.width);
  if (elems * elem_bytes > kMaxSlabBytes) return s;
  s.elems = static_cast<std::int64_t>(elems);
  s.ok = true;
  return s;
}

template <typename A>
void run_slabs(const FilterProblem& q, const SlabPlan& s, const FilterKernel<A>& kern, const A* g) {
  const int r = q.rank;
  const std::int64_t kh = q.k_shape[r - 2], kw = q.k_shape[r - 1];
  const std::int64_t oh = q.out_shape[r - 2], ow = q.out_shape[r - 1];
  std::int64_t planes = 1;
  for (int d = 0; d < r - 2; ++d) planes *= q.out_shape[d];
  parallel_for(planes, [&](std::int64_t begin, std::int64_t end, int) {
    // Slabs, the tile of sums, the slab of each ring slot (its plane's flat input index, -1:
    // none) and the row pointers.
    A* slabs = static_cast<A*>(thread_scratch(sizeof(A) * s.elems + sizeof(std::int64_t) * s.kd +
                                              sizeof(const A*) * s.rows));
    A* tile = slabs + s.kd * s.rows * s.ld;
    std::int64_t* held = reinterpret_cast<std::int64_t*>(slabs + s.elems);
    const A** rows = reinterpret_cast<const A**>(held + s.kd);
    for (std::int64_t i = 0; i < s.kd; ++i) held[i] = -1;
    std::int64_t oidx[kMaxRank], idx[kMaxRank];
    for (std::int64_t plane = begin; plane < end; ++plane) {
      std::int64_t rem = plane;
      for (int d = r - 3; d >= 0; --d) {
        oidx[d] = rem % q.out_shape[d];
        rem /= q.out_shape[d];
      }
      // The flat index of input plane (oidx[0..r-4] + base, slice c) within a grid that
      // admits every coordinate the item can ask for (outside ones included).
      std::int64_t prefix = 0;
      for (int d = 0; d < r - 3; ++d) prefix = prefix * q.out_shape[d] + oidx[d];
      const std::int64_t slice_span = q.out_shape[r - 3] + s.kd - 1;
      for (std::int64_t k = 0; k < s.kd; ++k) {
        const std::int64_t c = oidx[r - 3] + k;  // slice, relative to base[r - 3]
        const std::int64_t key = prefix * slice_span + c;
        A* slab = slabs + (c % s.kd) * s.rows * s.ld;
        if (held[c % s.kd] != key) {
          for (int d = 0; d < r - 3; ++d) idx[d] = oidx[d] + q.base[d];
          idx[r - 3] = c + q.base[r - 3];
          for (std::int64_t j = 0; j < s.rows; ++j) {
            idx[r - 2] = q.base[r - 2] + j;
            gather_line<A>(q, idx, q.base[r - 1], s.width + kw - 1, slab + j * s.ld);
          }
          held[c % s.kd] = key;
        }
      }
      // Each slab's pass over the whole plane, accumulating into the tile.
      for (std::int64_t k = 0; k < s.kd; ++k) {
        const A* slab = slabs + ((oidx[r - 3] + k) % s.kd) * s.rows * s.ld;
        for (std::int64_t j = 0; j < s.rows; ++j) rows[j] = slab + j * s.ld;
        kern.run(rows, g + k * kh * kw, static_cast<int>(kh), static_cast<int>(kw), tile, s.width,
                 static_cast<int>(oh), s.width, k > 0, false);
      }
      for (std::int64_t i = 0; i < oh; ++i) {
        oidx[r - 2] = i;
        store_line<A>(q, oidx, 0, ow, tile + i * s.width);
      }
    }
  });
}

template <typename A>
void run_direct(const FilterProblem& p0) {
  FilterProblem q = as_planar(p0);
  const int r = q.rank;
  double out_bytes = with_scalar(q.out_type, [](auto tag) { return double(sizeof(tag)); });
  double in_bytes = with_scalar(q.in_type, [](auto tag) { return double(sizeof(tag)); });
  for (int d = 0; d < r; ++d) {
    if (q.out_shape[d] == 0) return;
    out_bytes *= static_cast<double>(q.out_shape[d]);
    in_bytes *= static_cast<double>(q.in_shape[d]);
  }
  // When input and output together exceed the last-level cache (32 MB here), the output
  // cannot stay cached for the caller anyway: it is streamed past the caches, which saves the
  // read-for-ownership of every line (4K float32 image, 3x3: 2.3 -> 1.8 ms at 2 threads; the
  // earlier rule, output alone > 32 MB, just missed that image).
  q.nontemporal = in_bytes + out_bytes > 32.0 * 1024 * 1024;
  const auto isa = q.isa;
  const FilterKernel<A>& kern = kernel_for<A>(filter_kernels(isa));
  convkit::detail::note_isa_run(isa);

  const std::int64_t kh = q.k_shape[r - 2], kw = q.k_shape[r - 1];
  const std::int64_t oh = q.out_shape[r - 2];
  std::int64_t k_total = 1, outer_out = 1, outer_k = 1;
  for (int d = 0; d < r; ++d) k_total *= q.k_shape[d];
  for (int d = 0; d < r - 2; ++d) {
    outer_out *= q.out_shape[d];
    outer_k *= q.k_shape[d];
  }
  A* g = static_cast<A*>(thread_scratch(sizeof(A) * k_total, ScratchSlot::shared));
  pack_kernel<A>(q, nullptr, g);
  if constexpr (!std::is_same_v<A, std::int64_t>) {
    // An Inf/NaN tap would turn zero padding into NaN (Inf·0); padding is no term at all in
    // direct summation, so such kernels go to the reference loop, which skips those terms.
    if (q.boundary == Boundary::fill && q.fill == 0 && !q.padding_is_term)
      for (std::int64_t i = 0; i < k_total; ++i)
        if (!std::isfinite(g[i])) {
          run_reference<A>(p0);
          return;
        }
  }
  const Rank1<A> sep = outer_k == 1 ? factor_rank1<A>(q, g, kh, kw) : Rank1<A>{};
  if (const SlabPlan slab = plan_slabs(q, kern.block, sizeof(A)); slab.ok) {
    run_slabs<A>(q, slab, kern, g);
    return;
  }

  const Tiling t = choose_tiling(q, kern.block, sizeof(A));
  const std::vector<Segment> segs = column_segments(q, t, kern.block, acc_scalar<A>());
  const std::int64_t row_blocks = (oh + t.rows - 1) / t.rows;
  const std::int64_t nseg = static_cast<std::int64_t>(segs.size());
  const std::int64_t items = outer_out * row_blocks * nseg;
  const std::int64_t ext_rows = t.rows + kh - 1;
  const std::size_t scratch_elems =
      ext_rows * t.ld_ext + t.rows * t.width +
      (sep.ok && !fused_separable(kh) ? ext_rows * t.width : 0);
  const A* in_base = static_cast<const A*>(q.in);
  A* out_base = static_cast<A*>(q.out);
  // Results can go straight into the output when they need no conversion or combination.
  const bool direct_out = q.out_type == acc_scalar<A>() && q.out_stride[r - 1] == 1 &&
                          q.alpha == 1 && !q.accumulate && !q.round && outer_k == 1 &&
                          (!sep.ok || sep.g == A(1));

  parallel_for(items, [&](std::int64_t begin, std::int64_t end, int) {
    A* ext = static_cast<A*>(thread_scratch(sizeof(A) * scratch_elems +
                                            2 * sizeof(const A*) * ext_rows));
    A* acc = ext + ext_rows * t.ld_ext;
    A* h = acc + t.rows * t.width;
    const A** in_rows = reinterpret_cast<const A**>(ext + scratch_elems);
    const A** h_rows = in_rows + ext_rows;
    std::int64_t idx[kMaxRank], oidx[kMaxRank], kpos[kMaxRank];
    for (std::int64_t item = begin; item < end; ++item) {
      const Segment& seg = segs[item % nseg];
      const std::int64_t rb = (item / nseg) % row_blocks;
      std::int64_t outer = item / nseg / row_blocks;
      for (int d = r - 3; d >= 0; --d) {
        oidx[d] = outer % q.out_shape[d];
        outer /= q.out_shape[d];
      }
      const std::int64_t y0 = rb * t.rows, x0 = seg.x0;
      const int rows = static_cast<int>(std::min(t.rows, oh - y0));
      for (int d = 0; d < r - 2; ++d) kpos[d] = 0;
      for (std::int64_t ko = 0; ko < outer_k; ++ko) {
        for (int d = 0; d < r - 2; ++d) idx[d] = oidx[d] + q.base[d] + kpos[d];
        for (std::int64_t j = 0; j < rows + kh - 1; ++j) {
          idx[r - 2] = y0 + q.base[r - 2] + j;
          // Inside segment: rows that exist (possibly by wrap/symm) are read in place.
          std::int64_t off = 0;
          bool in_place = seg.in_place;
          for (int d = 0; d < r - 1 && in_place; ++d) {
            const std::int64_t c = map_coordinate(idx[d], q.in_shape[d], q.boundary);
            if (c < 0) in_place = false;
            off += c * q.in_stride[d];
          }
          if (in_place) {
            in_rows[j] = in_base + off + (x0 + q.base[r - 1]);
          } else {
            gather_line<A>(q, idx, x0 + q.base[r - 1], seg.width + kw - 1, ext + j * t.ld_ext);
            in_rows[j] = ext + j * t.ld_ext;
          }
        }
        // The tile: the output array itself for in-place segments whose results need no
        // conversion (written with streaming stores when the output is large), else acc.
        A* tile = acc;
        std::int64_t ld_tile = seg.width;
        if (seg.in_place && direct_out) {
          std::int64_t off = 0;
          for (int d = 0; d < r - 2; ++d) off += oidx[d] * q.out_stride[d];
          tile = out_base + off + y0 * q.out_stride[r - 2] + x0;
          ld_tile = q.out_stride[r - 2];
        }
        if (sep.ok && fused_separable(kh)) {
          kern.run_separable(in_rows, sep.u.data(), static_cast<int>(kh), sep.v.data(),
                             static_cast<int>(kw), tile, ld_tile, rows, seg.width,
                             tile != acc && q.nontemporal);
          if (sep.g != A(1))
            for (std::int64_t i = 0; i < rows * seg.width; ++i) acc[i] /= sep.g;
        } else if (sep.ok) {
          // Horizontal pass over all input rows, then the vertical pass into the tile.
          kern.run(in_rows, sep.v.data(), 1, static_cast<int>(kw), h, seg.width,
                   static_cast<int>(rows + kh - 1), seg.width, false, false);
          for (std::int64_t j = 0; j < rows + kh - 1; ++j) h_rows[j] = h + j * seg.width;
          kern.run(h_rows, sep.u.data(), static_cast<int>(kh), 1, tile, ld_tile, rows, seg.width,
                   false, tile != acc && q.nontemporal);
          if (sep.g != A(1))
            for (std::int64_t i = 0; i < rows * seg.width; ++i) acc[i] /= sep.g;
        } else {
          kern.run(in_rows, g + ko * kh * kw, static_cast<int>(kh), static_cast<int>(kw), tile,
                   ld_tile, rows, seg.width, ko > 0, tile != acc && q.nontemporal);
        }
        if (tile != acc) continue;  // outer_k == 1 here: the item is done
        for (int d = r - 3; d >= 0; --d) {
          if (++kpos[d] < q.k_shape[d]) break;
          kpos[d] = 0;
        }
      }
      if (seg.in_place && direct_out) continue;
      for (int i = 0; i < rows; ++i) {
        oidx[r - 2] = y0 + i;
        store_line<A>(q, oidx, x0, seg.n, acc + i * seg.width);
      }
    }
  });
}

template <typename A>
void run_reference(const FilterProblem& p) {
  const int r = p.rank;
  std::int64_t out_total = 1, k_total = 1;
  for (int d = 0; d < r; ++d) {
    out_total *= p.out_shape[d];
    k_total *= p.k_shape[d];
  }
  std::vector<A> line(1);
  std::int64_t m[kMaxRank] = {}, t[kMaxRank], idx[kMaxRank];
  std::vector<A> g(static_cast<std::size_t>(k_total));
  const bool zero_fill =
      p.boundary == Boundary::fill && p.fill == 0 && p.fill_int == 0 && !p.padding_is_term;
  for (std::int64_t o = 0; o < out_total; ++o) {
    std::int64_t rem = o;
    for (int d = r - 1; d >= 0; --d) {
      m[d] = rem % p.out_shape[d];
      rem /= p.out_shape[d];
    }
    pack_kernel<A>(p, m, g.data());
    A sum = A(0);
    for (std::int64_t k = 0; k < k_total; ++k) {
      std::int64_t kr = k;
      for (int d = r - 1; d >= 0; --d) {
        t[d] = kr % p.k_shape[d];
        kr /= p.k_shape[d];
      }
      bool outside = false;
      for (int d = 0; d < r; ++d) {
        idx[d] = m[d] + p.base[d] + t[d];
        outside = outside || map_coordinate(idx[d], p.in_shape[d], p.boundary) < 0;
      }
      // Zero padding is no term at all (as in np.convolve): Inf·0 must not make a NaN.
      if (outside && zero_fill) continue;
      gather_line<A>(p, idx, idx[r - 1], 1, line.data());
      if constexpr (std::is_same_v<A, std::int64_t>)
        sum = add_value<A>(sum, static_cast<A>(static_cast<std::uint64_t>(line[0]) *
                                               static_cast<std::uint64_t>(g[k])));
      else
        sum += line[0] * g[k];
    }
    store_line<A>(p, m, m[r - 1], 1, &sum);
  }
}


}  // namespace

void direct_filter(const FilterProblem& p) {
  if (p.kernel_varies())
    throw UnsupportedError("direct filtering: a kernel that varies along batch axes is not supported");
  with_acc(p.acc, [&](auto tag) { run_direct<decltype(tag)>(p); });
}

void reference_filter(const FilterProblem& p) {
  with_acc(p.acc, [&](auto tag) { run_reference<decltype(tag)>(p); });
}

namespace {

int acc_bytes(const FilterProblem& p) { return p.acc == Acc::f32 ? 4 : 8; }

// Columns per step of the active ISA's micro-kernel for p's accumulator.
int active_block(const FilterProblem& p) {
  const auto& ks = filter_kernels(convkit::detail::active_isa());
  return p.acc == Acc::f32 ? ks.f32.block : p.acc == Acc::f64 ? ks.f64.block : ks.i64.block;
}

// Whether the direct engine will run p's kernel as two 1-D passes (fused or not).
bool runs_separable(const FilterProblem& p0) {
  const FilterProblem q = as_planar(p0);
  const int r = q.rank;
  for (int d = 0; d < r - 2; ++d)
    if (q.k_shape[d] != 1) return false;
  const std::int64_t kh = q.k_shape[r - 2], kw = q.k_shape[r - 1];
  if (kh < 2 || kw < 2 || kh * kw < 2 * (kh + kw) || kh * kw > (1 << 20)) return false;
  bool ok = false;
  with_acc(q.acc, [&](auto tag) {
    using A = decltype(tag);
    std::vector<A> g(static_cast<std::size_t>(kh * kw));
    pack_kernel<A>(q, nullptr, g.data());
    ok = factor_rank1<A>(q, g.data(), kh, kw).ok;
  });
  return ok;
}

}  // namespace

double direct_filter_cost_seconds(const FilterProblem& p) {
  double ksize = 1, outs = 1;
  for (int d = 0; d < p.rank; ++d) {
    ksize *= static_cast<double>(p.k_shape[d]);
    outs *= static_cast<double>(p.out_shape[d]);
  }
  if (runs_separable(p)) {
    const int r = p.rank;
    const double kh = static_cast<double>(p.k_shape[r - 2]), kw = static_cast<double>(p.k_shape[r - 1]);
    // Fused: the horizontal sums are formed (3 + kh) / 4 times per output row.
    ksize = fused_separable(p.k_shape[r - 2]) ? kh + kw * (3 + kh) / 4 : (kh + kw) * 1.2;
  }
  // Calibrated on the reference machine (bench/signal_bench.py and bench/signal_cost.py: 4K
  // images with 3x3..31x31 kernels, 1-D signals, volumes), as one-core seconds: multiply-adds
  // per second in the micro-kernel plus a per-output cost for reading and writing memory.
  // Volumes re-read their rows once per outer kernel position, which costs more per tap:
  // half the plane rate through slabs (a padded plane gathered once, 128^3 with 5^3 float at
  // one thread: 5.5-8.5 ms), a fifth row by row (the item path gathers every row again for
  // each outer position).
  double outer_k = 1;
  for (int d = 0; d + 2 < p.rank; ++d) outer_k *= static_cast<double>(p.k_shape[d]);
  const double volume_slowdown =
      outer_k == 1 ? 1.0 : plan_slabs(as_planar(p), active_block(p), acc_bytes(p)).ok ? 2.0 : 5.0;
  const double rate = (p.acc == Acc::f32 ? 100e9 : p.acc == Acc::f64 ? 50e9 : 4e9) / volume_slowdown;
  return outs * ksize / rate + outs * 0.5e-9;
}

std::string direct_filter_describe(const FilterProblem& p0) {
  const FilterProblem q = as_planar(p0);
  const auto& ks = filter_kernels(convkit::detail::active_isa());
  const char* name = p0.acc == Acc::f32 ? ks.f32.name : p0.acc == Acc::f64 ? ks.f64.name : ks.i64.name;
  const int block = active_block(p0);
  if (const SlabPlan slab = plan_slabs(q, block, acc_bytes(p0)); slab.ok)
    return std::string(name) + ", whole planes: a ring of " + std::to_string(slab.kd) +
           " padded input planes per thread, each gathered once";
  const Tiling t = choose_tiling(q, block, acc_bytes(p0));
  return std::string(name) + ", tiles " + std::to_string(t.rows) + "x" + std::to_string(t.width) +
         (!runs_separable(p0) ? ""
          : fused_separable(q.k_shape[q.rank - 2]) ? ", separable (rank-1 kernel as two fused 1-D passes)"
                                                   : ", separable (rank-1 kernel as two 1-D passes)");
}

std::size_t direct_filter_workspace_bytes(const FilterProblem& p0, int threads) {
  const FilterProblem q = as_planar(p0);
  const std::size_t es = static_cast<std::size_t>(acc_bytes(p0));
  const int block = active_block(p0);
  const Tiling t = choose_tiling(q, block, static_cast<int>(es));
  std::size_t k_total = 1;
  for (int d = 0; d < q.rank; ++d) k_total *= static_cast<std::size_t>(q.k_shape[d]);
  const std::int64_t ext_rows = t.rows + q.k_shape[q.rank - 2] - 1;
  const std::int64_t kh = q.k_shape[q.rank - 2];
  if (const SlabPlan slab = plan_slabs(q, block, static_cast<int>(es)); slab.ok)
    return (es * static_cast<std::size_t>(slab.elems) +
            (sizeof(std::int64_t) * slab.kd + sizeof(void*) * slab.rows)) *
               static_cast<std::size_t>(threads) +
           es * k_total;
  const bool two_pass = !fused_separable(kh) && runs_separable(p0);
  const std::size_t per_thread =
      es * (ext_rows * t.ld_ext + t.rows * t.width + (two_pass ? ext_rows * t.width : 0));
  return per_thread * static_cast<std::size_t>(threads) + es * k_total;
}

}  // namespace convkit::signal::detail
