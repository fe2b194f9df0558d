// src/algos/outer_bwd_weights.hpp — accessor for the outer-product weight-gradient algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& outer_bwd_weights_algorithm();

/// Tests only: the size up to which the "whole" schedule runs (returns the previous value).
double set_outer_bwd_weights_whole_bytes(double bytes);

}  // namespace convkit::detail
