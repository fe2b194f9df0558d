// src/signal/fft_filter.hpp — FFT-based filtering engine for a FilterProblem (fftconvolve,
// oaconvolve, convolve(method='fft')): overlap-save tiling over every dimension whose kernel
// extent is > 1, with convkit's own FFT (src/signal/fft/).
//
// Each output tile of T_d outputs per dimension reads the input box of T_d + K_d - 1 (FFT
// length L_d >= that, a 2^a 3^b 5^c length, even along the real axis), transforms it, multiplies
// by the conjugated kernel spectrum (correlation; 1/prod(L) folded in) and keeps the first T_d
// outputs of the circular result, which are exact. Dimensions with kernel extent 1 are looped
// over, never transformed. The lengths minimise a measured cost model (seconds on one core)
// over the candidate lengths. Layouts (src/signal/fft/fft_nd.hpp):
//  * rows: one N-d tile at a time (2+ filtered dimensions, the last problem dimension among them);
//  * lanes: 16 (float) / 8 (double) independent tiles side by side — consecutive tiles of 1-d
//    signals, or neighbouring positions along a trailing unfiltered dimension;
//  * long line: 1-d tiles too long for lanes: two tiles as the real and imaginary part of one
//    complex four-step transform (the kernel is real, so the two results do not mix).
// Every output is computed by exactly one tile with a fixed operation order, and the tiling
// does not depend on the thread count, so results are bitwise identical for any thread count.
//
// Memory bound (exactly what fft_filter_workspace_bytes reports), in values of the acc type:
//  * the kernel spectrum, once (calling thread's shared scratch): about prod(L) values
//    (rows: 2 * rows * hpad; lanes: 2 * rows * (L_last/2+1); long line: 2 * L);
//  * per thread, one tile: rows about 2 * prod(L) + 2 * 16 * L_last; lanes about
//    3 * 16 * prod(L) + transform work (<= 4 * 16 * max L_d); long line 2 * L + 3 * 16 * sqrt(L)
//    + transform work; plus a second spectrum and the packed kernel(s) when the kernel varies
//    along batch dimensions.
// Tiles are capped at 2^18 points (rows, float; 2^17 double), 2^14 points (lanes) and 2^22
// points (long line) unless the kernel alone needs longer transforms (then at most 4x its own
// fast size). Nothing depends on the image size: a 2160x3840 image with a 63x63 kernel uses
// 4 MB with 2 threads; a 4096x4096 kernel (tiles 8192x8192) about 0.9 GB.
// Plans are cached for the life of the process; the long-line plan holds 2 L twiddles.
#pragma once

#include <cstddef>
#include <string>

#include "signal/filter_problem.hpp"

namespace convkit::signal::detail {

/// Computes p (acc must be Acc::f32 or Acc::f64; throws convkit::UnsupportedError otherwise) by
/// FFT with overlap-save tiling over all dims with k_shape > 1. Multi-threaded with
/// convkit::detail::parallel_for over tiles; results bitwise identical for any thread count.
void fft_filter(const FilterProblem& p);

/// Bytes of extra memory fft_filter(p) will use with `threads` threads (for explain / limits).
std::size_t fft_filter_workspace_bytes(const FilterProblem& p, int threads);

/// Estimated run time in seconds on ONE core of this machine (calibrated cost model), used by
/// `auto` to pick between direct and FFT.
double fft_filter_cost_seconds(const FilterProblem& p);

/// A lower bound on fft_filter_cost_seconds(p) that costs nothing to compute (every tiling in
/// the model reads and writes each output position at least once), so that `auto` need not
/// plan an FFT tiling when direct summation is already cheaper than that.
double fft_filter_cost_lower_bound(const FilterProblem& p);

/// A short description of the tiling chosen, e.g.
/// "overlap-save rows, tiles 226x226 (FFT 256x256), 2 threads".
std::string fft_filter_describe(const FilterProblem& p);

}  // namespace convkit::signal::detail
