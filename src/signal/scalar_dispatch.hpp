// src/signal/scalar_dispatch.hpp — run-time Scalar → C++ type, and the value conversions the
// signal engines use (NumPy's casting: integers wrap modulo 2^bits, bool is "nonzero").
#pragma once

#include <cmath>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "signal/filter_problem.hpp"

namespace convkit::signal::detail {

/// Calls f(T{}) with the C++ type of s.
template <typename F>
decltype(auto) with_scalar(Scalar s, F&& f) {
  switch (s) {
    case Scalar::b8: return f(bool{});
    case Scalar::i8: return f(std::int8_t{});
    case Scalar::u8: return f(std::uint8_t{});
    case Scalar::i16: return f(std::int16_t{});
    case Scalar::u16: return f(std::uint16_t{});
    case Scalar::i32: return f(std::int32_t{});
    case Scalar::u32: return f(std::uint32_t{});
    case Scalar::i64: return f(std::int64_t{});
    case Scalar::u64: return f(std::uint64_t{});
    case Scalar::f32: return f(float{});
    case Scalar::f64: return f(double{});
  }
  return f(float{});
}

/// Value conversion: to bool means "nonzero"; floating values headed for an integer type are
/// exact integers here (the engines only pick a floating accumulator for integer data when
/// the magnitude bound proves it exact), converted through int64 so narrowing wraps like NumPy.
template <typename D, typename S>
inline D convert(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>) {
    // Out of int64 range (or NaN): x86's conversion result, as NumPy gives, without UB.
    if (!(v >= S(-9223372036854775808.0) && v < S(9223372036854775808.0)))
      return static_cast<D>(INT64_MIN);
    return static_cast<D>(static_cast<std::int64_t>(v));
  } else {
    return static_cast<D>(v);
  }
}

template <typename A>
inline A negate_value(A v) {
  if constexpr (std::is_same_v<A, std::int64_t>)
    return static_cast<std::int64_t>(0ull - static_cast<std::uint64_t>(v));
  else
    return -v;
}

template <typename A>
inline A add_value(A a, A b) {
  if constexpr (std::is_same_v<A, std::int64_t>)
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  else
    return a + b;
}

}  // namespace convkit::signal::detail
