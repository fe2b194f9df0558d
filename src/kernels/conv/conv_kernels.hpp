// src/kernels/conv/conv_kernels.hpp — direct-convolution micro-kernel tables, one per ISA.
//
// A micro-kernel computes an MR (output channels) × NR (consecutive output positions) tile:
//   out[i][q] (+)= Σ_c Σ_t wrows[i][c·ntaps + t] · x[c·cstride + taps[t] + q]
// over a "shifted" input layout in which every tap of the filter is a constant offset
// (src/algos/shifted_layout.hpp), so each tap is NR/lanes plain vector loads. Weights are read
// in their own memory order, one broadcast per (row, channel, tap): no packing per call (the
// run_view variant reads them through any strided view: a transposed, reversed one). With
// `accumulate` it continues the sums already in `out` (channel blocking), which gives exactly
// the values of one pass over all channels; on the last pass the caller may ask for the bias
// and ReLU epilogue and point `out` at the result itself. The reduction order (channels,
// then taps) is fixed: results do not depend on threads. outer_bwd_weights runs the same
// kernels with positions as the reduced "channels" (dy rows as weights).
#pragma once

#include <cstdint>

#include "core/cpu_features.hpp"

namespace convkit::detail {

/// Where a tile goes: row i (output channel) at out + i·ldo, NR consecutive elements.
/// `accumulate`: continue the sums already there (channel blocking). `bias` (one per row,
/// may be null) and `relu`: the epilogue, applied by the caller only on the last pass.
template <typename T>
struct ConvTileOut {
  T* out;
  std::int64_t ldo;
  bool accumulate;
  const T* bias = nullptr;
  bool relu = false;
};

template <typename T>
using ConvUkernel = void (*)(std::int64_t channels, std::int64_t ntaps, const std::int64_t* taps,
                             const T* x, std::int64_t cstride, const T* const* wrows,
                             const ConvTileOut<T>& out);
/// The same tile reading weights through a view: channel c of row i at wrows[i] + c·wcstride,
/// its tap t wtaps[t] further (a transposed or reversed weight view, read without packing).
template <typename T>
using ConvViewUkernel = void (*)(std::int64_t channels, std::int64_t ntaps,
                                 const std::int64_t* taps, const std::int64_t* wtaps, const T* x,
                                 std::int64_t cstride, const T* const* wrows,
                                 std::int64_t wcstride, const ConvTileOut<T>& out);

/// The columns of a 1×1 tile past its last whole vector (1 to lanes − 1 of them), as dot
/// products over channels with the weight rows read contiguously: for i < MR, j < ncols,
///   part[i][j] (+)= lane-wise Σ_c wrows[i][c] · xt[j·ldxt + c]
/// where `part` holds MR·ncols vectors (64-byte aligned) carried between channel blocks
/// (`accumulate`: continue them). With `out`, the lanes of each are then summed in a fixed
/// order into out[i·ncols + j]. Costs about as much per column as a full vector tile does,
/// where a vector tile would compute a whole vector of columns for the few left over
/// (resnet50.res5_expand: 49 positions ran as 64).
template <typename T>
using ConvDotTail = void (*)(std::int64_t channels, std::int64_t ncols, const T* xt,
                             std::int64_t ldxt, const T* const* wrows, T* part, bool accumulate,
                             T* out);

/// Narrow versions of a tile for the last, partial tile of a row of work: 1..kConvNarrow
/// vectors of columns (null where that is not narrower than the tile), same MR, so a 49-position image costs 48 + 16 columns, not 96.
constexpr int kConvNarrow = 3;

template <typename T>
struct ConvKernel {
  ConvUkernel<T> run;            // contiguous weight rows (the fast, common case)
  ConvViewUkernel<T> run_view;   // weights through strides
  ConvDotTail<T> dot_tail;       // the columns past the last whole vector, 1×1 kernels
  int mr, nr;
  const char* name;  // dtype-family-tile-isa, e.g. "f32_dconv_8x48__avx512"
  int nv;            // vectors per row (nr / nv lanes each)
  ConvUkernel<T> narrow[kConvNarrow];           // [v − 1]: v vectors of columns
  ConvViewUkernel<T> narrow_view[kConvNarrow];

  /// Columns computed for `cols` (≥ 1) columns of a partial tile, and the kernels doing it.
  int narrow_vectors(std::int64_t cols) const {
    const std::int64_t lanes = nr / nv;
    const std::int64_t v = (cols + lanes - 1) / lanes;
    return v < nv && v <= kConvNarrow && narrow[v - 1] ? static_cast<int>(v) : nv;
  }
};

/// Tile shapes, chosen per problem by the waste they leave in both dimensions:
/// [0] the main tile, [1] fewer rows and more columns, [2] one row (depthwise), [3] more rows
/// and fewer columns (small images), [4] four vectors of columns (7×7 and 8×8 images: 49–64
/// positions in one tile, where [0] needs a slow one-vector narrow tile).
constexpr int kConvVariants = 5;
/// Relative cost per useful multiply-add of each variant (measured shape of the loop).
constexpr double kConvVariantPenalty[kConvVariants] = {1.0, 1.1, 2.0, 1.8, 1.05};
/// Relative cost per column of a narrow last tile of 1 and 2 vectors (resnet50.res5_expand:
/// the 1-vector tail of 8×48 cost 1.55× per column what the full tile does).
constexpr double kConvNarrowPenalty[2] = {1.5, 1.15};
/// Upper bound on MR over all variants.
constexpr int kConvMaxMr = 12;

struct ConvKernels {
  ConvKernel<float> f32[kConvVariants];
  ConvKernel<double> f64[kConvVariants];
};

extern const ConvKernels conv_kernels_generic;
extern const ConvKernels conv_kernels_avx2;
extern const ConvKernels conv_kernels_avx512;

const ConvKernels& conv_kernels(Isa isa);

}  // namespace convkit::detail
