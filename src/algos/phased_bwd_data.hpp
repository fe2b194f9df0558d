// src/algos/phased_bwd_data.hpp — accessor for backward-data as per-stride-phase forward
// convolutions (src/algos/phased_bwd_data.cpp).
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& phased_bwd_data_algorithm();

}  // namespace convkit::detail
