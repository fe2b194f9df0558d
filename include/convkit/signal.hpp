// convkit/signal.hpp — scipy.signal-compatible filtering: convolve / correlate (N-d),
// convolve2d / correlate2d (with boundaries), fftconvolve / oaconvolve (with axes) and
// choose_conv_method, on strided N-d views of any supported dtype.
//
// Results equal scipy.signal 1.10's for the same inputs: the same output shapes, result
// dtypes (NumPy promotion; FFT functions give floating results), 'same'-mode centring and
// valid-mode swapping. Integer results are exact (wide accumulation, wrapping to the result
// type like NumPy); `automatic` never sends integer data through an FFT unless a bound proves
// that rounding recovers the exact result, and never sends NaN/Inf through an FFT.
//
// 'same' centring (the output has in1's shape; along each axis with kernel length K it is the
// slice of the 'full' output starting at):
//     convolve, correlate, convolve2d, fftconvolve, oaconvolve:  (K - 1) / 2   (floor)
//     correlate2d:                                               K / 2        (floor)
//   so for even K, correlate2d's 'same' output is shifted by one relative to correlate's:
//     K = 4, full outputs f0 f1 f2 f3 f4 ...: correlate 'same' starts at f1, correlate2d at f2.
//
// Usage: compute the output shape and dtype, allocate, then call:
//   auto shape = convkit::signal::output_shape(Function::convolve, in1.shape, in2.shape, Mode::same);
//   auto type  = convkit::signal::result_type(Function::convolve, in1.type, in2.type);
//   convkit::signal::convolve(in1, in2, out, Mode::same);
#pragma once

#include <complex>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::signal {

enum class ScalarType : std::uint8_t {
  bool_, int8, uint8, int16, uint16, int32, uint32, int64, uint64,
  float32, float64, complex64, complex128
};
/// NumPy's name: "bool", "int8", ..., "complex128".
const char* scalar_type_name(ScalarType t);
std::size_t scalar_type_size(ScalarType t);

/// A non-owning strided N-d array; strides count elements (negative and zero allowed).
struct ArrayView {
  void* data = nullptr;
  ScalarType type = ScalarType::float64;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;
  /// C-order view of `shape`.
  static ArrayView contiguous(void* data, ScalarType type, std::vector<std::int64_t> shape);
};

enum class Mode { full, same, valid };
enum class Boundary { fill, wrap, symm };
enum class Method { automatic, direct, fft };
enum class Function { convolve, correlate, convolve2d, correlate2d, fftconvolve, oaconvolve };

/// Parse scipy's spellings ("full"/"same"/"valid"; "fill"/"wrap"/"circular"/"symm"/"symmetric";
/// "auto"/"direct"/"fft"); throw InvalidArgument naming the accepted values otherwise.
Mode parse_mode(std::string_view s);
Boundary parse_boundary(std::string_view s);
Method parse_method(std::string_view s);
const char* method_name(Method m);

/// The result dtype of `f` for inputs of these types (NumPy promotion; FFT functions give
/// float32/float64/complex64/complex128). Throws UnsupportedError for unsupported pairs.
ScalarType result_type(Function f, ScalarType a, ScalarType b);

/// The output shape of `f`; validates dimensionality, emptiness, valid-mode sizes and axes
/// (fftconvolve/oaconvolve; empty = all axes, as scipy's axes=None).
std::vector<std::int64_t> output_shape(Function f, const std::vector<std::int64_t>& in1,
                                       const std::vector<std::int64_t>& in2, Mode mode,
                                       const std::vector<int>& axes = {});

/// scipy.signal.convolve / correlate: N-d, any mode; method automatic, direct or fft.
void convolve(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
              Mode mode = Mode::full, Method method = Method::automatic);
void correlate(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
               Mode mode = Mode::full, Method method = Method::automatic);

/// scipy.signal.convolve2d / correlate2d: 2-D, with a boundary rule and fill value.
void convolve2d(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
                Mode mode = Mode::full, Boundary boundary = Boundary::fill,
                std::complex<double> fillvalue = 0.0);
void correlate2d(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
                 Mode mode = Mode::full, Boundary boundary = Boundary::fill,
                 std::complex<double> fillvalue = 0.0);

/// scipy.signal.fftconvolve / oaconvolve: FFT convolution over `axes` (empty = all); the
/// other axes must be equal or 1 (broadcast). Both use convkit's tiled FFT engine.
void fftconvolve(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
                 Mode mode = Mode::full, const std::vector<int>& axes = {});
void oaconvolve(const ArrayView& in1, const ArrayView& in2, const ArrayView& out,
                Mode mode = Mode::full, const std::vector<int>& axes = {});

/// The method `automatic` would use for convolve(in1, in2, mode) (and correlate).
Method choose_conv_method(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::full);

/// One paragraph: the method automatic picks for convolve/correlate, the engine, micro-kernel
/// or FFT tiling, the cost estimates and the accuracy rule that decided.
std::string explain(Function f, const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::full,
                    Method method = Method::automatic, Boundary boundary = Boundary::fill);

}  // namespace convkit::signal
