// src/api/oneshot.cpp — one-shot functions on top of a small thread-safe plan cache.
#include <list>
#include <mutex>
#include <unordered_map>

#include "convkit/conv.hpp"
#include "core/threading.hpp"
#include "core/workspace_limit.hpp"
#include "convkit/error.hpp"
#include "core/view.hpp"

namespace convkit {
namespace {

constexpr std::size_t kCacheCapacity = 64;

class PlanCache {
 public:
  std::shared_ptr<const ConvPlan> get(const ConvProblem& p, Direction d, const PlanOptions& o) {
    const std::string key = std::string(direction_name(d)) + '|' + o.algorithm + '|' +
                            (o.direct_summation_only ? "direct|" : "any|") +
                            std::to_string(detail::effective_workspace_limit(o.workspace_limit)) +
                            '|' + std::to_string(detail::current_num_threads()) + '|' + p.key();
    {
      std::lock_guard<std::mutex> lk(m_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
        return it->second->second;
      }
    }
    // Plan outside the lock: planning may be slow; two threads may both plan, one wins.
    auto plan = std::make_shared<const ConvPlan>(p, d, o);
    std::lock_guard<std::mutex> lk(m_);
    auto it = index_.find(key);
    if (it != index_.end()) return it->second->second;
    lru_.emplace_front(key, plan);
    index_[key] = lru_.begin();
    if (lru_.size() > kCacheCapacity) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return plan;
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const ConvPlan>>;
  std::mutex m_;
  std::list<Entry> lru_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

PlanCache& cache() {
  static PlanCache* c = new PlanCache();  // never destroyed: usable from static destructors
  return *c;
}

}  // namespace

std::shared_ptr<const ConvPlan> cached_plan(const ConvProblem& problem, Direction direction,
                                            const PlanOptions& options) {
  return cache().get(problem, direction, options);
}

void conv_forward(const ConvDesc& desc, const TensorView& x, const TensorView& w,
                  const TensorView* bias, const TensorView& y, const PlanOptions& options, Activation act) {
  cached_plan(ConvProblem(desc), Direction::forward, options)->forward(x, w, bias, y, act);
}

void conv_backward_data(const ConvDesc& desc, const TensorView& dy, const TensorView& w,
                        const TensorView& dx, const PlanOptions& options) {
  cached_plan(ConvProblem(desc), Direction::backward_data, options)->backward_data(dy, w, dx);
}

void conv_backward_weights(const ConvDesc& desc, const TensorView& dy, const TensorView& x,
                           const TensorView& dw, const PlanOptions& options) {
  cached_plan(ConvProblem(desc), Direction::backward_weights, options)
      ->backward_weights(dy, x, dw);
}

void conv_backward_bias(const ConvDesc& desc, const TensorView& dy, const TensorView& db) {
  cached_plan(ConvProblem(desc), Direction::backward_bias)->backward_bias(dy, db);
}

std::vector<std::int64_t> conv_transpose_output_shape(const ConvTransposeDesc& desc) {
  return transposed_to_forward(desc).input_shape();
}

void conv_transpose(const ConvTransposeDesc& desc, const TensorView& x, const TensorView& w,
                    const TensorView* bias, const TensorView& y, const PlanOptions& options) {
  const ConvProblem fwd = transposed_to_forward(desc);
  // The transposed convolution is the forward problem's backward-data pass: x plays dy and
  // the weight (C_in, C_out/g, *k) is exactly the forward weight (K, C/g, *k).
  // Name the transposed convolution's own arguments in errors, not the backward pass's.
  detail::check_tensor(x, fwd.output_shape(), fwd.dtype, "x", detail::Role::input);
  detail::check_tensor(w, fwd.weight_shape(), fwd.dtype, "weight", detail::Role::input);
  detail::check_tensor(y, fwd.input_shape(), fwd.dtype, "output", detail::Role::output);
  cached_plan(fwd, Direction::backward_data, options)->backward_data(x, w, y, bias);
}

}  // namespace convkit
