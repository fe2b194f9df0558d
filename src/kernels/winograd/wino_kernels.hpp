// src/kernels/winograd/wino_kernels.hpp — Winograd F(4×4, 3×3) float32 kernel tables, one per ISA.
//
// The algorithm (src/algos/winograd_conv.cpp) computes each 4×4 output tile as
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// for a 6×6 input patch d and a 3×3 filter g (Lavin & Gray's F(4×4, 3×3), points 0, ±1, ±2, ∞).
// The 36 element-wise products summed over input channels are 36 GEMMs. These kernels do the
// three transforms, each on one vector of `lanes` items at once, and the GEMM tiles:
//   input   lanes consecutive tiles of one tile row: rows[r] points at input row r of the
//           first tile's patch (a padded line), reading rows[r][0 .. 4·lanes + 2); writes the
//           36 transformed values as 36 vectors, element e = 6ξ+ν at v + e·plane
//   output  the reverse for lanes tiles of one output channel: reads m + e·plane for the 36
//           products summed, adds `bias`, applies ReLU, writes the first `rows` (≤ 4) rows of
//           the first `cols` (≤ 4·lanes) outputs at out + i·ldo + j; returns false when one of
//           the first n tiles' outputs is NaN or ±Inf (checked before ReLU: overflow in the
//           transforms must not pass silently)
//   filter  lanes filters (lanes/mr k-groups) at once: g[t·lanes + j] is tap t (row-major
//           3×3) of filter j; its transformed value e goes to u[q·group + e·plane + i] for
//           j = q·mr + i; returns false when a tap is NaN or ±Inf (transformed values cannot
//           overflow: the rows of G have absolute sums ≤ 1)
//   filter_block  the same for lanes channels at once of dense filters (channel c, tap t of
//           filter j at w[j·kstride + 9c + t], rows ≤ lanes filters, the rest zero); channel
//           c's values go mr floats further than channel c − 1's
//   filter_rows  lanes filters of one channel, each filter's 9 taps consecutive in memory
//           (taps[j] its lowest address, null for a zero filter; `reversed`: stored in
//           reverse, a flipped filter as backward-data reads it); stored as `filter` does
//   grad    weight gradients: A d Aᵀ of lanes 4×4 output-gradient tiles (A the 6×4
//           transpose of Aᵀ), stored like the input transform's elements
//   gemm    c[i][0 .. nv·lanes) = Σ_k a[k·mr + i] · b[k·ldb + 0 .. nv·lanes), i < mr: mr output
//           channels (a: transformed filters, packed) × nv vectors of tiles (b: transformed
//           input rows of one element e), c overwritten (one pass over all input channels);
//           gemm2 does two k-groups (2·mr rows, the second group's panel `next` floats on) by
//           one vector of tiles: the tile for blocks of at most one vector of tiles.
// Every lane runs the same operations in the same order whichever kernel variant computes it,
// so results do not depend on blocking or threads.
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

constexpr int kWinoMaxNv = 2;

using WinoGemm = void (*)(std::int64_t kc, const float* a, std::int64_t next, const float* b,
                          std::int64_t ldb, float* c, std::int64_t ldc);

struct WinoKernels {
  int lanes;  // tiles per transform call, floats per vector
  int mr;     // output channels per GEMM tile
  int nv;     // vectors of tiles per full GEMM tile
  const char* name;  // dtype-family-tile-isa, e.g. "f32_wino4x3_12x32__avx512"
  void (*input)(const float* const* rows, float* v, std::int64_t plane);
  bool (*output)(const float* m, std::int64_t plane, float bias, bool relu, int n, int rows,
                 int cols, float* out, std::int64_t ldo);
  bool (*filter)(const float* g, float* u, std::int64_t plane, std::int64_t group);
  bool (*filter_block)(const float* w, std::int64_t kstride, int rows, float* u,
                       std::int64_t plane, std::int64_t group);
  bool (*filter_rows)(const float* const* taps, bool reversed, float* u, std::int64_t plane,
                      std::int64_t group);
  WinoGemm gemm[kWinoMaxNv];  // [v − 1]: v vectors of tiles, one k-group
  WinoGemm gemm2;             // one vector of tiles, two k-groups
  // dst[m·dst_stride + j] = src[j][m] for j, m < lanes (src[j] null: zeros): moves lanes
  // channels of lanes columns between channels-last data and per-channel rows.
  void (*transpose)(const float* const* src, float* dst, std::int64_t dst_stride);
  // Weight gradients: A d Aᵀ of lanes 4×4 output-gradient tiles of one channel (rows[r] reads
  // rows[r][0 .. 4·lanes + 2), tile j's columns 4j .. 4j + 3), the 36 elements as 36 vectors
  // at u + e·plane, as `input` stores them.
  void (*grad)(const float* const* rows, float* u, std::int64_t plane);
  // dw[9c + t] (+)= (Gᵀ M_c G)[t] for the first n (≤ lanes) columns c of 36 rows of summed
  // products (element e at m + e·plane, lanes columns readable): the weight gradient's taps,
  // each column's 9 consecutive (dense dw rows). `first`: set, not add.
  void (*fold)(const float* m, std::int64_t plane, int n, float* dw, bool first);
};

extern const WinoKernels wino_kernels_generic;
extern const WinoKernels wino_kernels_avx2;
extern const WinoKernels wino_kernels_avx512;

const WinoKernels& wino_kernels(Isa isa);

}  // namespace convkit::detail
