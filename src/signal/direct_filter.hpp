// src/signal/direct_filter.hpp — direct summation for a FilterProblem: exact for integers,
// every boundary rule, SIMD micro-kernels register-blocked over output rows.
#pragma once

#include <string>

#include "signal/filter_problem.hpp"

namespace convkit::signal::detail {

/// Computes p by direct summation (p must not have a kernel that varies with the batch
/// position). Multi-threaded over output tiles; bitwise identical for any thread count.
void direct_filter(const FilterProblem& p);

/// Estimated run time in seconds on one core of the reference machine (see the cost model).
double direct_filter_cost_seconds(const FilterProblem& p);

/// Names the micro-kernel and tiling, e.g. "f32_filter_4x64__avx512, tiles 16x1024".
std::string direct_filter_describe(const FilterProblem& p);

/// Extra bytes per thread (tile buffers) plus the packed kernel.
std::size_t direct_filter_workspace_bytes(const FilterProblem& p, int threads);

/// Plain reference twin: one output at a time, straight from the FilterProblem formula.
void reference_filter(const FilterProblem& p);

}  // namespace convkit::signal::detail
