// src/algos/direct_conv_backward_data.hpp — accessor for the direct backward-data algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& direct_conv_backward_data_algorithm();

}  // namespace convkit::detail
