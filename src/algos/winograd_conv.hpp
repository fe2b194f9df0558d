// src/algos/winograd_conv.hpp — accessor for the Winograd F(4×4, 3×3) forward algorithm.
#pragma once

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& winograd_conv_algorithm();

}  // namespace convkit::detail
