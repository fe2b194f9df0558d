// src/core/padding.hpp — where a padded position reads from, for each padding mode.
//
// Meanings follow numpy.pad ('constant' with 0, 'reflect', 'edge', 'wrap'), including pads
// longer than the input: reflection and wrapping repeat periodically.
#pragma once

#include <cstdint>

#include "convkit/conv.hpp"

namespace convkit::detail {

/// The input index that position `i` (in input coordinates, possibly < 0 or >= n) reads,
/// or -1 when it is a zero of zero padding.
inline std::int64_t pad_source(std::int64_t i, std::int64_t n, PaddingMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PaddingMode::zeros:
      return -1;
    case PaddingMode::replicate:
      return i < 0 ? 0 : n - 1;
    case PaddingMode::circular: {
      const std::int64_t m = i % n;
      return m < 0 ? m + n : m;
    }
    case PaddingMode::reflect: {
      if (n == 1) return 0;
      const std::int64_t period = 2 * (n - 1);
      std::int64_t m = i % period;
      if (m < 0) m += period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

}  // namespace convkit::detail
