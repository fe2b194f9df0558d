// src/core/dtype_dispatch.hpp — one place that turns a run-time DType into a C++ element type.
#pragma once

#include "convkit/tensor.hpp"

namespace convkit::detail {

/// Calls f(T{}) with T = float for f32 and double for f64, returning what f returns.
/// Use: with_dtype(p.dtype, [&](auto tag) { run<decltype(tag)>(...); });
template <typename F>
decltype(auto) with_dtype(DType t, F&& f) {
  return t == DType::f32 ? f(float{}) : f(double{});
}

}  // namespace convkit::detail
