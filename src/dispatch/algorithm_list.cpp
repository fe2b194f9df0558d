// src/dispatch/algorithm_list.cpp — ordered algorithm list and automatic choice.
#include "dispatch/algorithm_list.hpp"

#include "algos/depthwise_bwd_weights.hpp"
#include "algos/depthwise_conv.hpp"
#include "algos/direct_conv.hpp"
#include "algos/direct_conv_backward_data.hpp"
#include "algos/direct_conv_backward_weights.hpp"
#include "algos/gemm_conv_backward_weights.hpp"
#include "algos/im2col_gemm.hpp"
#include "algos/outer_bwd_weights.hpp"
#include "algos/phased_bwd_data.hpp"
#include "algos/pointwise_bwd_data.hpp"
#include "algos/pointwise_channels_last.hpp"
#include "algos/reference_algorithm.hpp"
#include "algos/winograd_conv.hpp"
#include "convkit/error.hpp"
#include "core/threading.hpp"
#include "core/workspace_limit.hpp"

namespace convkit::detail {

std::string describe_kernel(const char* kernel_name, Isa isa) {
  return std::string("micro-kernel ") + kernel_name + " (isa " + isa_name(isa) + ", CPU supports " +
         isa_name(cpu_isa()) + ")";
}

const std::vector<const Algorithm*>& algorithm_list() {
  static const std::vector<const Algorithm*> list = {
      &depthwise_conv_algorithm(),           &winograd_conv_algorithm(),
      &pointwise_channels_last_algorithm(),  &direct_conv_algorithm(),
      &pointwise_bwd_data_algorithm(),
      &phased_bwd_data_algorithm(),          &direct_conv_backward_data_algorithm(),
      &depthwise_bwd_weights_algorithm(),
      &outer_bwd_weights_algorithm(),       &gemm_conv_backward_weights_algorithm(),
      &direct_conv_backward_weights_algorithm(),
      &im2col_gemm_algorithm(),              &reference_algorithm()};
  return list;
}

// Extra memory an algorithm needs for p with the current thread count.
std::size_t workspace_needed(const Algorithm* a, const ConvProblem& p, Direction d) {
  return a->workspace_bytes_per_thread(p, d) * static_cast<std::size_t>(current_num_threads());
}

Choice choose_algorithm(const ConvProblem& p, Direction d, const std::string& requested,
                        std::int64_t workspace_limit, bool direct_summation_only) {
  const std::string head = std::string(direction_name(d)) + " " + p.to_string() + ": ";
  const std::int64_t limit = effective_workspace_limit(workspace_limit);
  if (requested == "auto") {
    std::string declined;
    for (const Algorithm* a : algorithm_list()) {
      std::string why = a->declines(p, d);
      if (why.empty() && direct_summation_only && a->approximate())
        why = "not direct summation, and the options ask for direct summation only";
      if (why.empty()) why = workspace_exceeds(workspace_needed(a, p, d), limit);
      if (why.empty()) why = a->not_preferred(p, d);
      if (why.empty())
        return {a, head + "chose '" + a->name() + "'" +
                       (declined.empty() ? std::string(" (first in the list)")
                                         : "; declined before it: " + declined)};
      if (!declined.empty()) declined += "; ";
      declined += std::string("'") + a->name() + "' (" + why + ")";
    }
    throw UnsupportedError(head + "no algorithm takes this problem: " + declined);
  }
  std::string known;
  for (const Algorithm* a : algorithm_list()) {
    if (requested == a->name()) {
      const std::string why = a->declines(p, d);
      if (!why.empty())
        throw UnsupportedError("algorithm: '" + requested + "' declines " + head + why);
      const std::string over = workspace_exceeds(workspace_needed(a, p, d), limit);
      if (!over.empty())
        throw OutOfMemory("algorithm: '" + requested + "' " + over + " (" + head +
                          "raise the limit with set_workspace_limit / workspace_limit)");
      return {a, head + "'" + requested + "' (requested)"};
    }
    known += std::string(", '") + a->name() + "'";
  }
  throw InvalidArgument("algorithm: got '" + requested + "', expected 'auto'" + known);
}

}  // namespace convkit::detail
