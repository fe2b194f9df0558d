// python/src/signal_bindings.cpp — the signal part of _convkit: NumPy arrays of any supported
// dtype in, convkit::signal calls (GIL released), arrays from the buffer pool out.
// Argument normalisation (np.asarray, fillvalue, 0-d inputs) is in convkit/signal.py.
#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <convkit/convkit.hpp>
#include <convkit/signal.hpp>

#include <optional>
#include <string>
#include <vector>

#include "array_util.hpp"

namespace py = pybind11;
namespace sig = convkit::signal;

namespace {

sig::ScalarType scalar_type_of(const py::array& a, const char* name) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'b') return sig::ScalarType::bool_;
  if (kind == 'i') {
    if (size == 1) return sig::ScalarType::int8;
    if (size == 2) return sig::ScalarType::int16;
    if (size == 4) return sig::ScalarType::int32;
    if (size == 8) return sig::ScalarType::int64;
  }
  if (kind == 'u') {
    if (size == 1) return sig::ScalarType::uint8;
    if (size == 2) return sig::ScalarType::uint16;
    if (size == 4) return sig::ScalarType::uint32;
    if (size == 8) return sig::ScalarType::uint64;
  }
  if (kind == 'f' && size == 4) return sig::ScalarType::float32;
  if (kind == 'f' && size == 8) return sig::ScalarType::float64;
  if (kind == 'c' && size == 8) return sig::ScalarType::complex64;
  if (kind == 'c' && size == 16) return sig::ScalarType::complex128;
  throw convkit::UnsupportedError(std::string(name) + ": dtype " + std::string(py::str(static_cast<const py::handle&>(dt))) +
                                  " is not supported; expected bool, an integer type, float32, "
                                  "float64, complex64 or complex128");
}

sig::ArrayView view_of(const py::array& a, const char* name) {
  sig::ArrayView v;
  v.type = scalar_type_of(a, name);
  v.data = const_cast<void*>(a.data());
  convkit_py::shape_and_strides(a, name, &v.shape, &v.strides);
  return v;
}

py::array new_array(sig::ScalarType t, const std::vector<std::int64_t>& shape) {
  return convkit_py::pooled_array(py::dtype(sig::scalar_type_name(t)), sig::scalar_type_size(t),
                                  shape);
}

sig::Function function_of(const std::string& f) {
  if (f == "convolve") return sig::Function::convolve;
  if (f == "correlate") return sig::Function::correlate;
  if (f == "convolve2d") return sig::Function::convolve2d;
  if (f == "correlate2d") return sig::Function::correlate2d;
  if (f == "fftconvolve") return sig::Function::fftconvolve;
  if (f == "oaconvolve") return sig::Function::oaconvolve;
  throw convkit::InvalidArgument("unknown signal function '" + f + "'");
}

// One entry point for every function: validates, allocates (or checks `out`), computes.
py::array signal_call(const std::string& fn, const py::array& a1, const py::array& a2,
                      const std::string& mode_s, const std::string& method_s,
                      const std::string& boundary_s, std::complex<double> fill,
                      const std::vector<int>& axes, std::optional<py::array> out) {
  const sig::Function f = function_of(fn);
  const sig::Mode mode = sig::parse_mode(mode_s);
  const sig::Method method = sig::parse_method(method_s);
  const sig::Boundary boundary = sig::parse_boundary(boundary_s);
  const sig::ArrayView in1 = view_of(a1, "in1"), in2 = view_of(a2, "in2");
  const auto shape = sig::output_shape(f, in1.shape, in2.shape, mode, axes);
  const sig::ScalarType rt = sig::result_type(f, in1.type, in2.type);
  py::array result;
  if (out) {
    if (!out->writeable()) throw convkit::InvalidArgument("out: array is read-only");
    result = *out;
  } else {
    result = new_array(rt, shape);
  }
  sig::ArrayView o = view_of(result, "out");
  o.data = result.mutable_data();
  {
    py::gil_scoped_release release;
    switch (f) {
      case sig::Function::convolve: sig::convolve(in1, in2, o, mode, method); break;
      case sig::Function::correlate: sig::correlate(in1, in2, o, mode, method); break;
      case sig::Function::convolve2d: sig::convolve2d(in1, in2, o, mode, boundary, fill); break;
      case sig::Function::correlate2d: sig::correlate2d(in1, in2, o, mode, boundary, fill); break;
      case sig::Function::fftconvolve: sig::fftconvolve(in1, in2, o, mode, axes); break;
      case sig::Function::oaconvolve: sig::oaconvolve(in1, in2, o, mode, axes); break;
    }
  }
  return result;
}

std::string signal_choose(const py::array& a1, const py::array& a2, const std::string& mode) {
  return sig::method_name(
      sig::choose_conv_method(view_of(a1, "in1"), view_of(a2, "in2"), sig::parse_mode(mode)));
}

std::string signal_explain(const std::string& fn, const py::array& a1, const py::array& a2,
                           const std::string& mode, const std::string& method,
                           const std::string& boundary) {
  return sig::explain(function_of(fn), view_of(a1, "in1"), view_of(a2, "in2"),
                      sig::parse_mode(mode), sig::parse_method(method),
                      sig::parse_boundary(boundary));
}

// Output shape and result dtype name of a call (validating everything that depends on shapes).
py::tuple signal_output(const std::string& fn, const std::vector<std::int64_t>& s1,
                        const std::vector<std::int64_t>& s2, const std::string& mode,
                        const std::vector<int>& axes) {
  (void)function_of(fn);
  const auto shape = sig::output_shape(function_of(fn), s1, s2, sig::parse_mode(mode), axes);
  return py::make_tuple(shape);
}

}  // namespace

void register_signal(py::module_& m) {
  m.def("signal_output", &signal_output);
  m.def("signal_call", &signal_call);
  m.def("signal_choose", &signal_choose);
  m.def("signal_explain", &signal_explain);
}
