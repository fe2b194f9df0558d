// src/core/view.hpp — logical 5-D views of user tensors, and their validation.
//
// Every engine sees activations as (n, c, d, h, w) and weights as (k, c, kd, kh, kw),
// whatever the user's layout and number of spatial dimensions: missing spatial dimensions
// have size 1, and a channels-last tensor is the same memory with permuted strides.
#pragma once

#include <initializer_list>
#include <utility>

#include <cstdint>
#include <vector>

#include "convkit/conv.hpp"
#include "convkit/tensor.hpp"

namespace convkit::detail {

struct View5 {
  char* base = nullptr;      // first element
  std::int64_t size[5] = {1, 1, 1, 1, 1};
  std::int64_t stride[5] = {0, 0, 0, 0, 0};  // in elements

  template <typename T>
  T* at(std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3, std::int64_t i4) const {
    return reinterpret_cast<T*>(base) + (i0 * stride[0] + i1 * stride[1] + i2 * stride[2] +
                                         i3 * stride[3] + i4 * stride[4]);
  }

  /// True when dimensions first..4 are packed densely in row-major order (size-1 dimensions
  /// may have any stride): e.g. dense_from(2) — each channel's spatial plane is one run;
  /// dense_from(1) — each weight row (channels × taps) is one run.
  bool dense_from(int first) const {
    std::int64_t expect = 1;
    for (int d = 4; d >= first; --d) {
      if (size[d] > 1 && stride[d] != expect) return false;
      expect *= size[d];
    }
    return true;
  }
};

/// The element offset of every spatial index of v (dims 2..4, in row-major order): for a
/// weight view, where each kernel tap (kd, kh, kw) lies within a row.
std::vector<std::int64_t> spatial_offsets(const View5& v);

/// A 1-D view (bias, bias gradient).
struct View1 {
  char* base = nullptr;
  std::int64_t size = 0;
  std::int64_t stride = 0;
  template <typename T>
  T* at(std::int64_t i) const {
    return reinterpret_cast<T*>(base) + i * stride;
  }
};

enum class Role { input, output };

/// Checks `t` against the expected physical shape and dtype; names `arg` in errors.
/// Outputs must not have zero strides on dimensions longer than 1 (they would overlap).
void check_tensor(const TensorView& t, const std::vector<std::int64_t>& expected, DType dtype,
                  const char* arg, Role role);

/// Throws InvalidArgument when the memory spanned by output `out` (named `out_name`)
/// intersects that of any input (address ranges, so interleaved views of one buffer count as
/// overlapping): algorithms read their inputs while writing, and an output on top of an input
/// would silently give wrong results. Empty tensors and null entries are skipped.
void check_no_overlap(const TensorView& out, const char* out_name,
                      std::initializer_list<std::pair<const TensorView*, const char*>> inputs);

/// An activation tensor (N, C, *spatial) or (N, *spatial, C) as (n, c, d, h, w).
View5 activation_view(const TensorView& t, Layout layout, int spatial_dims);
/// A weight tensor (A, B, *kernel) as (a, b, kd, kh, kw).
View5 weight_view(const TensorView& t, int spatial_dims);
View1 vector_view(const TensorView& t);

}  // namespace convkit::detail
