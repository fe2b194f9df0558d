// src/api/plan.cpp — ConvPlan: validate tensors once per call, then run the chosen algorithm.
#include <cstring>
#include <string>
#include <vector>

#include "algos/algorithm.hpp"
#include "convkit/conv.hpp"
#include "convkit/error.hpp"
#include "core/view.hpp"
#include "dispatch/algorithm_list.hpp"

namespace convkit {

using detail::check_tensor;
using detail::Role;

ConvPlan::ConvPlan(const ConvProblem& problem, Direction direction, const PlanOptions& options)
    : problem_(problem), direction_(direction) {
  auto choice =
      detail::choose_algorithm(problem_, direction_, options.algorithm, options.workspace_limit,
                               options.direct_summation_only);
  algorithm_ = choice.algorithm;
  explanation_ = std::move(choice.explanation);
  state_ = algorithm_->prepare(problem_, direction_);
  const std::string details = algorithm_->describe(problem_, direction_, state_.get());
  if (!details.empty()) explanation_ += "; " + details;
  explanation_ += "; workspace " +
                  std::to_string(algorithm_->workspace_bytes_per_thread(problem_, direction_)) +
                  " bytes per thread";
}

ConvPlan::~ConvPlan() = default;

std::string ConvPlan::algorithm_name() const { return algorithm_->name(); }

std::string ConvPlan::explain() const { return explanation_; }

std::size_t ConvPlan::workspace_bytes_per_thread() const {
  return algorithm_->workspace_bytes_per_thread(problem_, direction_);
}

void ConvPlan::require(Direction d, const char* fn) const {
  if (direction_ != d)
    throw InvalidArgument(std::string(fn) + ": this plan was made for direction '" +
                          direction_name(direction_) + "', not '" + direction_name(d) + "'");
}

const char* activation_name(Activation a) { return a == Activation::relu ? "relu" : "none"; }

Activation parse_activation(const std::string& s) {
  if (s == "none") return Activation::none;
  if (s == "relu") return Activation::relu;
  throw InvalidArgument("activation: got '" + s + "', expected 'none' or 'relu'");
}

struct PackedWeights::Impl {
  std::string fingerprint;          // problem, direction, algorithm and its details
  std::vector<unsigned char> copy;  // the weights, dense in (K, C/groups, *kernel) order
  std::vector<std::int64_t> shape;
  DType dtype;
  std::shared_ptr<const void> packed;  // the algorithm's form (may be null)
  std::size_t packed_bytes = 0;
};

std::size_t PackedWeights::bytes() const {
  return impl_ ? impl_->copy.size() + impl_->packed_bytes : 0;
}

namespace {
std::string plan_fingerprint(const ConvProblem& p, Direction d, const std::string& algorithm,
                             const std::string& details) {
  return std::string(direction_name(d)) + "|" + p.key() + "|" + algorithm + "|" + details;
}
}  // namespace

PackedWeights ConvPlan::pack_weights(const TensorView& w) const {
  require(Direction::forward, "ConvPlan::pack_weights");
  const ConvProblem& p = problem_;
  check_tensor(w, p.weight_shape(), p.dtype, "weight", Role::input);
  auto impl = std::make_shared<PackedWeights::Impl>();
  impl->fingerprint = plan_fingerprint(p, direction_, algorithm_->name(),
                                       algorithm_->describe(p, direction_, state_.get()));
  impl->shape = p.weight_shape();
  impl->dtype = p.dtype;
  std::int64_t n = 1;
  for (std::int64_t e : impl->shape) n *= e;
  const std::size_t es = dtype_size(p.dtype);
  impl->copy.resize(static_cast<std::size_t>(n) * es);
  // Element by element through the view's strides, in row-major order of the logical shape.
  const detail::View5 v = detail::weight_view(w, p.spatial_dims);
  std::size_t at = 0;
  for (std::int64_t i0 = 0; i0 < v.size[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < v.size[1]; ++i1)
      for (std::int64_t i2 = 0; i2 < v.size[2]; ++i2)
        for (std::int64_t i3 = 0; i3 < v.size[3]; ++i3)
          for (std::int64_t i4 = 0; i4 < v.size[4]; ++i4, at += es)
            std::memcpy(impl->copy.data() + at, v.at<const unsigned char>(0, 0, 0, 0, 0) +
                                                    (i0 * v.stride[0] + i1 * v.stride[1] +
                                                     i2 * v.stride[2] + i3 * v.stride[3] +
                                                     i4 * v.stride[4]) *
                                                        static_cast<std::int64_t>(es),
                        es);
  const TensorView dense =
      TensorView::contiguous(static_cast<void*>(impl->copy.data()), p.dtype, impl->shape);
  impl->packed = algorithm_->pack_weights(p, direction_, state_.get(),
                                          detail::weight_view(dense, p.spatial_dims));
  if (impl->packed) impl->packed_bytes = algorithm_->packed_bytes(p, direction_);
  PackedWeights out;
  out.impl_ = std::move(impl);
  return out;
}

void ConvPlan::forward(const TensorView& x, const PackedWeights& w, const TensorView* bias,
                       const TensorView& y, Activation act) const {
  require(Direction::forward, "ConvPlan::forward");
  if (!w.impl_) throw InvalidArgument("weight: an empty PackedWeights (made by pack_weights?)");
  const std::string fp = plan_fingerprint(problem_, direction_, algorithm_->name(),
                                          algorithm_->describe(problem_, direction_, state_.get()));
  if (w.impl_->fingerprint != fp)
    throw InvalidArgument("weight: packed for another plan (" + w.impl_->fingerprint +
                          "), expected weights packed for " + fp);
  const TensorView dense = TensorView::contiguous(
      static_cast<void*>(const_cast<unsigned char*>(w.impl_->copy.data())),
                                      w.impl_->dtype, w.impl_->shape);
  forward_impl(x, dense, bias, y, act, w.impl_->packed.get());
}

void ConvPlan::forward(const TensorView& x, const TensorView& w, const TensorView* bias,
                       const TensorView& y, Activation act) const {
  forward_impl(x, w, bias, y, act, nullptr);
}

void ConvPlan::forward_impl(const TensorView& x, const TensorView& w, const TensorView* bias,
                            const TensorView& y, Activation act, const void* packed) const {
  require(Direction::forward, "ConvPlan::forward");
  const ConvProblem& p = problem_;
  check_tensor(x, p.input_shape(), p.dtype, "x", Role::input);
  check_tensor(w, p.weight_shape(), p.dtype, "weight", Role::input);
  check_tensor(y, p.output_shape(), p.dtype, "output", Role::output);
  detail::check_no_overlap(y, "output", {{&x, "x"}, {&w, "weight"}, {bias, "bias"}});
  detail::View1 b;
  detail::ConvArgs a;
  if (bias) {
    check_tensor(*bias, {p.out_channels}, p.dtype, "bias", Role::input);
    b = detail::vector_view(*bias);
    a.bias = &b;
  }
  a.x = detail::activation_view(x, p.layout, p.spatial_dims);
  a.w = detail::weight_view(w, p.spatial_dims);
  a.y = detail::activation_view(y, p.layout, p.spatial_dims);
  if (act != Activation::none && act != Activation::relu)
    throw InvalidArgument("activation: got value " + std::to_string(static_cast<int>(act)) +
                          ", expected Activation::none or Activation::relu");
  a.relu = act == Activation::relu;
  a.packed = packed;
  algorithm_->execute(p, direction_, state_.get(), a);
}

void ConvPlan::backward_data(const TensorView& dy, const TensorView& w, const TensorView& dx,
                             const TensorView* bias) const {
  require(Direction::backward_data, "ConvPlan::backward_data");
  const ConvProblem& p = problem_;
  check_tensor(dy, p.output_shape(), p.dtype, "grad_output", Role::input);
  check_tensor(w, p.weight_shape(), p.dtype, "weight", Role::input);
  check_tensor(dx, p.input_shape(), p.dtype, "grad_input", Role::output);
  detail::check_no_overlap(dx, "grad_input", {{&dy, "grad_output"}, {&w, "weight"}, {bias, "bias"}});
  detail::View1 b;
  detail::ConvArgs a;
  if (bias) {
    check_tensor(*bias, {p.in_channels}, p.dtype, "bias", Role::input);
    b = detail::vector_view(*bias);
    a.bias = &b;
  }
  a.y = detail::activation_view(dy, p.layout, p.spatial_dims);
  a.w = detail::weight_view(w, p.spatial_dims);
  a.dx = detail::activation_view(dx, p.layout, p.spatial_dims);
  algorithm_->execute(p, direction_, state_.get(), a);
}

void ConvPlan::backward_weights(const TensorView& dy, const TensorView& x,
                                const TensorView& dw) const {
  require(Direction::backward_weights, "ConvPlan::backward_weights");
  const ConvProblem& p = problem_;
  check_tensor(dy, p.output_shape(), p.dtype, "grad_output", Role::input);
  check_tensor(x, p.input_shape(), p.dtype, "x", Role::input);
  check_tensor(dw, p.weight_shape(), p.dtype, "grad_weight", Role::output);
  detail::check_no_overlap(dw, "grad_weight", {{&dy, "grad_output"}, {&x, "x"}});
  detail::ConvArgs a;
  a.y = detail::activation_view(dy, p.layout, p.spatial_dims);
  a.x = detail::activation_view(x, p.layout, p.spatial_dims);
  a.w = detail::weight_view(dw, p.spatial_dims);
  algorithm_->execute(p, direction_, state_.get(), a);
}

void ConvPlan::backward_bias(const TensorView& dy, const TensorView& db) const {
  require(Direction::backward_bias, "ConvPlan::backward_bias");
  const ConvProblem& p = problem_;
  check_tensor(dy, p.output_shape(), p.dtype, "grad_output", Role::input);
  check_tensor(db, {p.out_channels}, p.dtype, "grad_bias", Role::output);
  detail::check_no_overlap(db, "grad_bias", {{&dy, "grad_output"}});
  detail::ConvArgs a;
  a.y = detail::activation_view(dy, p.layout, p.spatial_dims);
  const detail::View1 b = detail::vector_view(db);
  a.bias = &b;
  algorithm_->execute(p, direction_, state_.get(), a);
}

bool algorithm_is_approximate(const std::string& name) {
  std::string known;
  for (const auto* a : detail::algorithm_list()) {
    if (name == a->name()) return a->approximate();
    known += std::string(known.empty() ? "'" : ", '") + a->name() + "'";
  }
  throw InvalidArgument("algorithm: got '" + name + "', expected one of " + known);
}

std::vector<std::string> algorithm_names() {
  std::vector<std::string> names;
  for (const auto* a : detail::algorithm_list()) names.emplace_back(a->name());
  return names;
}

}  // namespace convkit
