// src/algos/reference_algorithm.cpp — the reference engine as a selectable algorithm.
//
// Last in the dispatch list: it takes every problem, so planning never fails for want of
// an algorithm. Users can force it with algorithm="reference".
#include "algos/reference_algorithm.hpp"

#include "ref/conv_ref.hpp"

namespace convkit::detail {
namespace {

class ReferenceAlgorithm final : public Algorithm {
 public:
  const char* name() const override { return "reference"; }
  std::string declines(const ConvProblem&, Direction) const override { return {}; }
  std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction d) const override {
    return d == Direction::backward_data ? ref::backward_data_scratch_bytes(p) : 0;
  }
  void execute(const ConvProblem& p, Direction d, const void*, const ConvArgs& a) const override {
    switch (d) {
      case Direction::forward: ref::conv_forward(p, a.x, a.w, a.bias, a.y, a.relu); break;
      case Direction::backward_data: ref::conv_backward_data(p, a.y, a.w, a.bias, a.dx); break;
      case Direction::backward_weights: ref::conv_backward_weights(p, a.y, a.x, a.w); break;
      case Direction::backward_bias: ref::conv_backward_bias(p, a.y, *a.bias); break;
    }
  }
};

}  // namespace

const Algorithm& reference_algorithm() {
  static const ReferenceAlgorithm algo;
  return algo;
}

}  // namespace convkit::detail
