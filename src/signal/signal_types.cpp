// src/signal/signal_types.cpp — dtypes of the signal API: names, sizes, NumPy's promotion
// rules for the supported types, and scipy's result dtypes per function.
#include <algorithm>
#include <string>

#include "convkit/error.hpp"
#include "convkit/signal.hpp"

namespace convkit::signal {
namespace {

enum class Kind { b, i, u, f, c };

Kind kind_of(ScalarType t) {
  switch (t) {
    case ScalarType::bool_: return Kind::b;
    case ScalarType::int8: case ScalarType::int16: case ScalarType::int32: case ScalarType::int64:
      return Kind::i;
    case ScalarType::uint8: case ScalarType::uint16: case ScalarType::uint32: case ScalarType::uint64:
      return Kind::u;
    case ScalarType::float32: case ScalarType::float64: return Kind::f;
    case ScalarType::complex64: case ScalarType::complex128: return Kind::c;
  }
  return Kind::f;
}

int int_bits(ScalarType t) { return static_cast<int>(scalar_type_size(t)) * 8; }

ScalarType signed_of_bits(int bits) {
  return bits <= 8 ? ScalarType::int8 : bits <= 16 ? ScalarType::int16
       : bits <= 32 ? ScalarType::int32 : ScalarType::int64;
}

// Bits of float needed to hold an integer type (NumPy: ≤16-bit ints fit float32).
int float_bits_for(ScalarType t) {
  const Kind k = kind_of(t);
  if (k == Kind::b) return 16;
  if (k == Kind::i || k == Kind::u) return int_bits(t) <= 16 ? 32 : 64;
  if (t == ScalarType::float32 || t == ScalarType::complex64) return 32;
  return 64;
}

ScalarType numpy_promote(ScalarType a, ScalarType b) {
  if (a == b) return a;
  const Kind ka = kind_of(a), kb = kind_of(b);
  if (ka == Kind::b) return b;
  if (kb == Kind::b) return a;
  const bool a_int = ka == Kind::i || ka == Kind::u, b_int = kb == Kind::i || kb == Kind::u;
  if (a_int && b_int) {
    if (ka == kb) return int_bits(a) >= int_bits(b) ? a : b;
    const ScalarType u = ka == Kind::u ? a : b, s = ka == Kind::u ? b : a;
    if (int_bits(s) > int_bits(u)) return s;
    if (int_bits(u) >= 64) return ScalarType::float64;
    return signed_of_bits(2 * int_bits(u));
  }
  const int bits = std::max(float_bits_for(a) < 32 ? 32 : float_bits_for(a),
                            float_bits_for(b) < 32 ? 32 : float_bits_for(b));
  const bool complex = ka == Kind::c || kb == Kind::c;
  if (complex) return bits == 32 ? ScalarType::complex64 : ScalarType::complex128;
  return bits == 32 ? ScalarType::float32 : ScalarType::float64;
}

// scipy.fft's working type for an input: integers and bool become float64.
ScalarType fft_working_type(ScalarType t) {
  const Kind k = kind_of(t);
  if (k == Kind::b || k == Kind::i || k == Kind::u) return ScalarType::float64;
  return t;
}

}  // namespace

const char* scalar_type_name(ScalarType t) {
  switch (t) {
    case ScalarType::bool_: return "bool";
    case ScalarType::int8: return "int8";
    case ScalarType::uint8: return "uint8";
    case ScalarType::int16: return "int16";
    case ScalarType::uint16: return "uint16";
    case ScalarType::int32: return "int32";
    case ScalarType::uint32: return "uint32";
    case ScalarType::int64: return "int64";
    case ScalarType::uint64: return "uint64";
    case ScalarType::float32: return "float32";
    case ScalarType::float64: return "float64";
    case ScalarType::complex64: return "complex64";
    case ScalarType::complex128: return "complex128";
  }
  return "?";
}

std::size_t scalar_type_size(ScalarType t) {
  switch (t) {
    case ScalarType::bool_: case ScalarType::int8: case ScalarType::uint8: return 1;
    case ScalarType::int16: case ScalarType::uint16: return 2;
    case ScalarType::int32: case ScalarType::uint32: case ScalarType::float32: return 4;
    case ScalarType::int64: case ScalarType::uint64: case ScalarType::float64:
    case ScalarType::complex64: return 8;
    case ScalarType::complex128: return 16;
  }
  return 8;
}

ScalarType result_type(Function f, ScalarType a, ScalarType b) {
  if (f == Function::fftconvolve || f == Function::oaconvolve)
    return numpy_promote(fft_working_type(a), fft_working_type(b));
  return numpy_promote(a, b);
}

}  // namespace convkit::signal
