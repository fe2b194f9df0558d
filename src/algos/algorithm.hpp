// src/algos/algorithm.hpp — the interface every convolution algorithm implements.
//
// An algorithm says whether it takes a (problem, direction) and, if not, why; builds its
// precomputed state once (packed weights, blocking) for a plan; and executes on validated
// logical views. The dispatcher (src/dispatch) walks an ordered list of these.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "convkit/conv.hpp"
#include "core/cpu_features.hpp"
#include "core/view.hpp"

namespace convkit::detail {

/// Validated views for one execution; which members are set depends on the direction.
struct ConvArgs {
  View5 x, w, y;         // forward: x, w → y; backward_weights: y holds dy, x → w holds dw
  View5 dx;              // backward_data: y holds dy, w → dx
  const View1* bias = nullptr;  // forward / backward_data bias, or backward_bias's result
  bool relu = false;            // forward: relu fused into the write-back (after the bias)
  const void* packed = nullptr;  // forward: what pack_weights made from w (w still given), or null
};

/// The fused forward activation: v < 0 ? 0 : v (NaN stays NaN).
template <typename T>
inline T relu(T v) {
  return v < T(0) ? T(0) : v;
}

/// "micro-kernel NAME (isa X, CPU supports Y)": what describe() says for a SIMD algorithm.
std::string describe_kernel(const char* kernel_name, Isa isa);

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  /// Printable name, also the name users force it by ("reference", ...).
  virtual const char* name() const = 0;
  /// Empty when the algorithm takes the problem, else why it declines.
  virtual std::string declines(const ConvProblem& p, Direction d) const = 0;
  /// Empty when "auto" may pick it for the problem, else why another algorithm should run
  /// instead (it still runs the problem correctly when forced).
  virtual std::string not_preferred(const ConvProblem& p, Direction d) const {
    (void)p;
    (void)d;
    return {};
  }
  /// True when results may differ from direct summation by more than its rounding (Winograd):
  /// "auto" skips it when the plan options ask for direct summation only.
  virtual bool approximate() const { return false; }
  /// Precomputed state kept by the plan (may be null).
  virtual std::shared_ptr<void> prepare(const ConvProblem& p, Direction d) const {
    (void)p;
    (void)d;
    return nullptr;
  }
  /// Details for explain(), e.g. the micro-kernel and ISA it will run (may be empty).
  virtual std::string describe(const ConvProblem& p, Direction d, const void* state) const {
    (void)p;
    (void)d;
    (void)state;
    return {};
  }
  /// Weights prepared once for many forward calls (ConvPlan::pack_weights), or null when the
  /// algorithm reads them as given. execute() then finds them in ConvArgs::packed.
  virtual std::shared_ptr<const void> pack_weights(const ConvProblem& p, Direction d,
                                                   const void* state, const View5& w) const {
    (void)p;
    (void)d;
    (void)state;
    (void)w;
    return nullptr;
  }
  /// Bytes of what pack_weights returns for p.
  virtual std::size_t packed_bytes(const ConvProblem& p, Direction d) const {
    (void)p;
    (void)d;
    return 0;
  }
  virtual std::size_t workspace_bytes_per_thread(const ConvProblem& p, Direction d) const = 0;
  virtual void execute(const ConvProblem& p, Direction d, const void* state,
                       const ConvArgs& args) const = 0;
};

}  // namespace convkit::detail
