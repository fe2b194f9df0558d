// python/src/bindings.cpp — the _convkit extension: NumPy arrays in, convkit calls, arrays out.
//
// A thin layer: it turns arrays into TensorViews (any strides, read-only allowed), builds
// descriptors from the arrays' shapes, allocates results, releases the GIL while convkit
// computes, and maps convkit's exceptions to Python's. Argument normalisation (ints vs
// tuples, dtype promotion) is in convkit/__init__.py; every check is in the C++ library.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <convkit/convkit.hpp>

#include "array_util.hpp"

#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;
void register_signal(py::module_& m);  // signal_bindings.cpp
using convkit::ConvDesc;
using convkit::DType;
using convkit::TensorView;

namespace {

using Pairs = std::vector<std::pair<std::int64_t, std::int64_t>>;

DType dtype_of_array(const py::array& a, const char* name) {
  if (a.dtype().is(py::dtype::of<float>())) return DType::f32;
  if (a.dtype().is(py::dtype::of<double>())) return DType::f64;
  throw convkit::UnsupportedError(std::string(name) + ": got dtype " +
                                  std::string(py::str(a.dtype())) +
                                  ", expected float32 or float64");
}

TensorView view_of(const py::array& a, const char* name) {
  TensorView v;
  v.dtype = dtype_of_array(a, name);
  v.data = const_cast<void*>(a.data());
  convkit_py::shape_and_strides(a, name, &v.shape, &v.strides);
  return v;
}

TensorView writable_view_of(py::array& a, const char* name) {
  if (!a.writeable()) throw convkit::InvalidArgument(std::string(name) + ": array is read-only");
  TensorView v = view_of(a, name);
  v.data = a.mutable_data();
  return v;
}

void check_ndim(const py::array& a, int nd, const char* name, const std::string& what) {
  if (a.ndim() != nd + 2)
    throw convkit::ShapeError(std::string(name) + ": got " + std::to_string(a.ndim()) +
                              " dimensions, expected " + std::to_string(nd + 2) + " (" + what +
                              ")");
}

// A new C-contiguous result array from the buffer pool.
py::array new_array(DType t, const std::vector<std::int64_t>& shape) {
  return convkit_py::pooled_array(t == DType::f32 ? py::dtype::of<float>() : py::dtype::of<double>(),
                                  convkit::dtype_size(t), shape);
}

// Result array: `out` checked by convkit (shape, dtype, writability), or a new one.
py::array result_array(std::optional<py::array>& out, DType t,
                       const std::vector<std::int64_t>& shape) {
  if (out) return *out;
  return new_array(t, shape);
}

convkit::Padding make_padding(const std::string& kind, const Pairs& pairs) {
  if (kind == "same") return convkit::Padding::same();
  if (kind == "valid") return convkit::Padding::valid();
  if (kind == "explicit") return convkit::Padding::explicit_pairs(pairs);
  throw convkit::InvalidArgument("padding: got '" + kind + "', expected 'same', 'valid' or sizes");
}

std::vector<std::int64_t> shape_of(const py::array& a) {
  return std::vector<std::int64_t>(a.shape(), a.shape() + a.ndim());
}

// Descriptor of the forward problem whose input has shape `xshape` (named `xname` in errors)
// and whose weight is shaped like `w`.
ConvDesc forward_desc(int nd, const std::vector<std::int64_t>& xshape, const char* xname,
                      const py::array& w, DType t, const std::vector<std::int64_t>& stride,
                      const std::string& pad_kind, const Pairs& pads,
                      const std::vector<std::int64_t>& dilation, std::int64_t groups,
                      const std::string& padding_mode, const std::string& layout) {
  ConvDesc d;
  d.spatial_dims = nd;
  d.layout = convkit::parse_layout(layout, nd);
  const std::string lname = convkit::layout_name(d.layout, nd);
  if (static_cast<int>(xshape.size()) != nd + 2)
    throw convkit::ShapeError(std::string(xname) + ": got " + std::to_string(xshape.size()) +
                              " dimensions, expected " + std::to_string(nd + 2) + " (" + lname + ")");
  check_ndim(w, nd, "weight", std::string("out_channels, in_channels/groups") +
                                  (nd == 1 ? ", kW" : nd == 2 ? ", kH, kW" : ", kD, kH, kW"));
  const bool last = d.layout == convkit::Layout::channels_last;
  d.batch = xshape[0];
  d.in_channels = last ? xshape[static_cast<std::size_t>(nd + 1)] : xshape[1];
  for (int i = 0; i < nd; ++i) {
    d.input_size.push_back(xshape[static_cast<std::size_t>(last ? 1 + i : 2 + i)]);
    d.kernel_size.push_back(w.shape(2 + i));
  }
  d.out_channels = w.shape(0);
  d.groups = groups;
  d.stride = stride;
  d.dilation = dilation;
  d.padding = make_padding(pad_kind, pads);
  d.padding_mode = convkit::parse_padding_mode(padding_mode);
  d.dtype = t;
  return d;
}

ConvDesc forward_desc(int nd, const py::array& x, const py::array& w, DType t,
                      const std::vector<std::int64_t>& stride, const std::string& pad_kind,
                      const Pairs& pads, const std::vector<std::int64_t>& dilation,
                      std::int64_t groups, const std::string& padding_mode,
                      const std::string& layout) {
  return forward_desc(nd, shape_of(x), "x", w, t, stride, pad_kind, pads, dilation, groups,
                      padding_mode, layout);
}

py::array conv_forward(int nd, const py::array& x, const py::array& w,
                       const std::optional<py::array>& bias, const std::vector<std::int64_t>& stride,
                       const std::string& pad_kind, const Pairs& pads,
                       const std::vector<std::int64_t>& dilation, std::int64_t groups,
                       const std::string& padding_mode, const std::string& layout,
                       const std::string& algorithm, std::optional<py::array> out,
                       const std::string& activation, bool direct_summation_only) {
  const convkit::Activation act = convkit::parse_activation(activation);
  const DType t = dtype_of_array(x, "x");
  const ConvDesc d = forward_desc(nd, x, w, t, stride, pad_kind, pads, dilation, groups,
                                  padding_mode, layout);
  const convkit::ConvProblem p(d);
  convkit::PlanOptions opts{algorithm};
  opts.direct_summation_only = direct_summation_only;
  auto plan = convkit::cached_plan(p, convkit::Direction::forward, opts);
  py::array y = result_array(out, t, p.output_shape());
  const TensorView xv = view_of(x, "x"), wv = view_of(w, "weight");
  const TensorView yv = writable_view_of(y, "out");
  std::optional<TensorView> bv;
  if (bias) bv = view_of(*bias, "bias");
  {
    py::gil_scoped_release release;
    plan->forward(xv, wv, bv ? &*bv : nullptr, yv, act);
  }
  return y;
}

py::tuple conv_backward(int nd, const py::array& dy, const py::array& x, const py::array& w,
                        const std::vector<std::int64_t>& stride, const std::string& pad_kind,
                        const Pairs& pads, const std::vector<std::int64_t>& dilation,
                        std::int64_t groups, const std::string& padding_mode,
                        const std::string& layout, bool want_x, bool want_w, bool want_b,
                        const std::string& algorithm, bool direct_summation_only) {
  const DType t = dtype_of_array(x, "x");
  const ConvDesc d = forward_desc(nd, x, w, t, stride, pad_kind, pads, dilation, groups,
                                  padding_mode, layout);
  const convkit::ConvProblem p(d);
  convkit::PlanOptions opts{algorithm};
  opts.direct_summation_only = direct_summation_only;
  const TensorView dyv = view_of(dy, "grad_output"), xv = view_of(x, "x"),
                   wv = view_of(w, "weight");
  py::object gx = py::none(), gw = py::none(), gb = py::none();
  std::shared_ptr<const convkit::ConvPlan> pd, pw, pb;
  if (want_x) pd = convkit::cached_plan(p, convkit::Direction::backward_data, opts);
  if (want_w) pw = convkit::cached_plan(p, convkit::Direction::backward_weights, opts);
  if (want_b) pb = convkit::cached_plan(p, convkit::Direction::backward_bias);
  py::array ax, aw, ab;
  if (want_x) ax = new_array(t, p.input_shape());
  if (want_w) aw = new_array(t, p.weight_shape());
  if (want_b) ab = new_array(t, {p.out_channels});
  {
    TensorView axv, awv, abv;
    if (want_x) axv = writable_view_of(ax, "grad_x");
    if (want_w) awv = writable_view_of(aw, "grad_weight");
    if (want_b) abv = writable_view_of(ab, "grad_bias");
    py::gil_scoped_release release;
    if (want_x) pd->backward_data(dyv, wv, axv);
    if (want_w) pw->backward_weights(dyv, xv, awv);
    if (want_b) pb->backward_bias(dyv, abv);
  }
  if (want_x) gx = ax;
  if (want_w) gw = aw;
  if (want_b) gb = ab;
  return py::make_tuple(gx, gw, gb);
}

py::array conv_transpose(int nd, const py::array& x, const py::array& w,
                         const std::optional<py::array>& bias,
                         const std::vector<std::int64_t>& stride, const Pairs& pads,
                         const std::vector<std::int64_t>& output_padding, std::int64_t groups,
                         const std::vector<std::int64_t>& dilation, const std::string& layout,
                         const std::string& algorithm, std::optional<py::array> out,
                         bool direct_summation_only) {
  const DType t = dtype_of_array(x, "x");
  convkit::ConvTransposeDesc d;
  d.spatial_dims = nd;
  d.layout = convkit::parse_layout(layout, nd);
  check_ndim(x, nd, "x", convkit::layout_name(d.layout, nd));
  check_ndim(w, nd, "weight", "in_channels, out_channels/groups, *kernel");
  const bool last = d.layout == convkit::Layout::channels_last;
  d.batch = x.shape(0);
  d.in_channels = last ? x.shape(nd + 1) : x.shape(1);
  for (int i = 0; i < nd; ++i) {
    d.input_size.push_back(x.shape(last ? 1 + i : 2 + i));
    d.kernel_size.push_back(w.shape(2 + i));
  }
  if (groups < 1)
    throw convkit::InvalidArgument("groups: got " + std::to_string(groups) + ", expected >= 1");
  if (__builtin_mul_overflow(static_cast<std::int64_t>(w.shape(1)), groups, &d.out_channels))
    throw convkit::SizeOverflow("out_channels: weight.shape[1] * groups overflows");
  d.groups = groups;
  d.stride = stride;
  d.dilation = dilation;
  d.padding = convkit::Padding::explicit_pairs(pads);
  d.output_padding = output_padding;
  d.dtype = t;
  const auto shape = convkit::conv_transpose_output_shape(d);
  py::array y = result_array(out, t, shape);
  const TensorView xv = view_of(x, "x"), wv = view_of(w, "weight");
  const TensorView yv = writable_view_of(y, "out");
  std::optional<TensorView> bv;
  if (bias) bv = view_of(*bias, "bias");
  {
    py::gil_scoped_release release;
    convkit::PlanOptions opts{algorithm};
    opts.direct_summation_only = direct_summation_only;
    convkit::conv_transpose(d, xv, wv, bv ? &*bv : nullptr, yv, opts);
  }
  return y;
}

// A forward plan with its weights packed once (ConvPlan::pack_weights): Python's
// convkit.pack_weights returns it, and calling it runs the forward convolution.
struct PackedConv {
  std::shared_ptr<const convkit::ConvPlan> plan;
  convkit::PackedWeights packed;
  DType dtype;
};

PackedConv pack_weights(int nd, const py::array& w, const std::vector<std::int64_t>& input_shape,
                        const std::vector<std::int64_t>& stride, const std::string& pad_kind,
                        const Pairs& pads, const std::vector<std::int64_t>& dilation,
                        std::int64_t groups, const std::string& padding_mode,
                        const std::string& layout, const std::string& algorithm,
                        bool direct_summation_only) {
  const DType t = dtype_of_array(w, "weight");
  const ConvDesc d = forward_desc(nd, input_shape, "input_shape", w, t, stride, pad_kind, pads,
                                  dilation, groups, padding_mode, layout);
  convkit::PlanOptions opts{algorithm};
  opts.direct_summation_only = direct_summation_only;
  PackedConv pc;
  pc.plan = convkit::cached_plan(convkit::ConvProblem(d), convkit::Direction::forward, opts);
  pc.dtype = t;
  const TensorView wv = view_of(w, "weight");
  {
    py::gil_scoped_release release;
    pc.packed = pc.plan->pack_weights(wv);
  }
  return pc;
}

py::array packed_forward(const PackedConv& pc, const py::array& x,
                         const std::optional<py::array>& bias, std::optional<py::array> out,
                         const std::string& activation) {
  const convkit::Activation act = convkit::parse_activation(activation);
  const DType t = dtype_of_array(x, "x");
  if (t != pc.dtype)
    throw convkit::UnsupportedError(std::string("x: got dtype ") + convkit::dtype_name(t) +
                                    ", expected " + convkit::dtype_name(pc.dtype) +
                                    " (the dtype the weights were packed in)");
  py::array y = result_array(out, t, pc.plan->problem().output_shape());
  const TensorView xv = view_of(x, "x");
  const TensorView yv = writable_view_of(y, "out");
  std::optional<TensorView> bv;
  if (bias) bv = view_of(*bias, "bias");
  {
    py::gil_scoped_release release;
    pc.plan->forward(xv, pc.packed, bv ? &*bv : nullptr, yv, act);
  }
  return y;
}

std::string explain(int nd, const std::string& direction, const py::array& x, const py::array& w,
                    const std::vector<std::int64_t>& stride, const std::string& pad_kind,
                    const Pairs& pads, const std::vector<std::int64_t>& dilation,
                    std::int64_t groups, const std::string& padding_mode,
                    const std::string& layout, const std::string& algorithm,
                    bool direct_summation_only) {
  const DType t = dtype_of_array(x, "x");
  const ConvDesc d = forward_desc(nd, x, w, t, stride, pad_kind, pads, dilation, groups,
                                  padding_mode, layout);
  convkit::Direction dir;
  if (direction == "forward") dir = convkit::Direction::forward;
  else if (direction == "backward_data") dir = convkit::Direction::backward_data;
  else if (direction == "backward_weights") dir = convkit::Direction::backward_weights;
  else if (direction == "backward_bias") dir = convkit::Direction::backward_bias;
  else
    throw convkit::InvalidArgument("direction: got '" + direction +
                                   "', expected 'forward', 'backward_data', 'backward_weights' "
                                   "or 'backward_bias'");
  convkit::PlanOptions opts{algorithm};
  opts.direct_summation_only = direct_summation_only;
  return convkit::cached_plan(convkit::ConvProblem(d), dir, opts)->explain();
}

}  // namespace

PYBIND11_MODULE(_convkit, m) {
  m.doc() = "convkit's compiled core; use the convkit package, not this module.";

  static py::exception<convkit::Error> base_error(m, "Error", PyExc_Exception);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const convkit::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const convkit::UnsupportedError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const convkit::InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const convkit::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "convkit: out of memory");
    }
  });

  py::class_<PackedConv>(m, "PackedConv")
      .def("forward", &packed_forward)
      .def_property_readonly("algorithm", [](const PackedConv& pc) { return pc.plan->algorithm_name(); })
      .def_property_readonly("nbytes", [](const PackedConv& pc) { return pc.packed.bytes(); })
      .def_property_readonly("input_shape", [](const PackedConv& pc) { return pc.plan->problem().input_shape(); })
      .def_property_readonly("output_shape", [](const PackedConv& pc) { return pc.plan->problem().output_shape(); })
      .def_property_readonly("dtype", [](const PackedConv& pc) { return std::string(convkit::dtype_name(pc.dtype)); })
      .def("explain", [](const PackedConv& pc) { return pc.plan->explain(); });
  m.def("pack_weights", &pack_weights);
  m.def("conv_forward", &conv_forward);
  m.def("conv_backward", &conv_backward);
  m.def("conv_transpose", &conv_transpose);
  m.def("explain", &explain);
  m.def("algorithm_is_approximate", &convkit::algorithm_is_approximate);
  m.def("conv_output_size", &convkit::conv_output_size);
  m.def("set_num_threads", &convkit::set_num_threads);
  m.def("get_num_threads", &convkit::get_num_threads);
  m.def("set_workspace_limit", &convkit::set_workspace_limit);
  m.def("set_flush_denormal", &convkit::set_flush_denormal);
  m.def("get_flush_denormal", &convkit::get_flush_denormal);
  m.def("get_workspace_limit", &convkit::get_workspace_limit);
  m.def("algorithm_names", &convkit::algorithm_names);
  register_signal(m);
}
