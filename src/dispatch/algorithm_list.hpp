// src/dispatch/algorithm_list.hpp — the ordered list of algorithms and the choice among them.
#pragma once

#include <cstdint>

#include <string>
#include <vector>

#include "algos/algorithm.hpp"

namespace convkit::detail {

/// Most specialised first; the last entry is the reference, which takes every problem.
const std::vector<const Algorithm*>& algorithm_list();

struct Choice {
  const Algorithm* algorithm;
  std::string explanation;  // why it was chosen and why earlier entries declined
};

/// Walks the list ("auto") or finds the named algorithm; throws UnsupportedError when a forced
/// algorithm declines, InvalidArgument for an unknown name. Algorithms needing more extra
/// memory than the workspace limit (-1: the process-wide one) are skipped by "auto"; a forced
/// one throws OutOfMemory naming the needed and the allowed size. With
/// `direct_summation_only`, "auto" skips approximate algorithms (Winograd); a forced one runs.
Choice choose_algorithm(const ConvProblem& p, Direction d, const std::string& requested,
                        std::int64_t workspace_limit = -1, bool direct_summation_only = false);

}  // namespace convkit::detail
