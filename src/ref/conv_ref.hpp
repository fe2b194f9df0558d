// src/ref/conv_ref.hpp — the reference engine: the oracle for every other algorithm.
//
// Plain loops that read like the notebook's, accumulating in double (also for float32).
// Each output element is one sum in a fixed order, computed by exactly one thread, so the
// results do not depend on the thread count. Zero padding is summed as explicit zeros, as a
// plain sum over the padded input would (an Inf weight on a padded tap gives NaN).
#pragma once

#include "convkit/conv.hpp"
#include "core/view.hpp"

namespace convkit::ref {

/// y[n,k,o] = bias[k] + Σ_{c,t} w[k,c,t] · xpad[n, g·Cg + c, o·stride + t·dilation]
/// (then y < 0 ? 0 : y when `relu`)
void conv_forward(const ConvProblem& p, const detail::View5& x, const detail::View5& w,
                  const detail::View1* bias, const detail::View5& y, bool relu = false);
/// dx = ∂(Σ y·dy)/∂x, padding modes folded back onto the input positions they read;
/// plus bias[c] when `bias` is given (transposed convolution).
void conv_backward_data(const ConvProblem& p, const detail::View5& dy, const detail::View5& w,
                        const detail::View1* bias, const detail::View5& dx);
/// dw[k,c,t] = Σ_{n,o} dy[n,k,o] · xpad[n, g·Cg + c, o·stride + t·dilation]
void conv_backward_weights(const ConvProblem& p, const detail::View5& dy,
                           const detail::View5& x, const detail::View5& dw);
/// db[k] = Σ_{n,o} dy[n,k,o]
void conv_backward_bias(const ConvProblem& p, const detail::View5& dy, const detail::View1& db);

/// Scratch bytes per thread that conv_backward_data needs.
std::size_t backward_data_scratch_bytes(const ConvProblem& p);

}  // namespace convkit::ref
