// src/api/plan.cpp — ConvPlan: validate tensors once per call, then run the chosen algorithm.
#include <string>

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

void ConvPlan::forward(const TensorView& x, const TensorView& w, const TensorView* bias,
                       const TensorView& y, Activation act) const {
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
