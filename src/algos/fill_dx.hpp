// src/algos/fill_dx.hpp — backward-data's starting point where some dx positions receive no
// gradient: every element of dx set to its channel's bias (or 0).
#pragma once

#include <algorithm>
#include <cstdint>

#include "algos/algorithm.hpp"
#include "core/threading.hpp"

namespace convkit::detail {

/// Every element of a.dx set to its channel's bias (a.bias, or 0), in memory order; the
/// positions that do receive gradients are then overwritten.
template <typename T>
void fill_dx(const ConvProblem& p, const ConvArgs& a) {
  const View5& dx = a.dx;
  parallel_for(p.batch * p.in_channels, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t nc = begin; nc < end; ++nc) {
      const std::int64_t n = nc / p.in_channels, c = nc % p.in_channels;
      const T v = a.bias ? *a.bias->at<const T>(c) : T(0);
      for (std::int64_t i0 = 0; i0 < p.in[0]; ++i0)
        for (std::int64_t i1 = 0; i1 < p.in[1]; ++i1) {
          T* row = dx.at<T>(n, c, i0, i1, 0);
          if (dx.stride[4] == 1)
            std::fill(row, row + p.in[2], v);
          else
            for (std::int64_t i2 = 0; i2 < p.in[2]; ++i2) row[i2 * dx.stride[4]] = v;
        }
    }
  });
}

}  // namespace convkit::detail
