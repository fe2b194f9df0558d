// src/core/view.cpp — building and validating logical views.
#include "core/view.hpp"

#include <cstdint>
#include <string>

#include "convkit/error.hpp"

namespace convkit::detail {

void check_tensor(const TensorView& t, const std::vector<std::int64_t>& expected, DType dtype,
                  const char* arg, Role role) {
  if (t.dtype != dtype)
    throw UnsupportedError(std::string(arg) + ": got dtype " + dtype_name(t.dtype) +
                           ", expected " + dtype_name(dtype) + " (the problem's dtype)");
  if (t.strides.size() != t.shape.size())
    throw InvalidArgument(std::string(arg) + ": has " + std::to_string(t.shape.size()) +
                          " dimensions but " + std::to_string(t.strides.size()) + " strides");
  if (t.shape != expected)
    throw ShapeError(std::string(arg) + ": got shape " + shape_to_string(t.shape) +
                     ", expected " + shape_to_string(expected));
  const std::int64_t n = t.numel();
  if (n > 0 && t.data == nullptr)
    throw InvalidArgument(std::string(arg) + ": data pointer is null for a non-empty tensor");
  if (role == Role::output && n > 0)
    for (std::size_t i = 0; i < t.shape.size(); ++i)
      if (t.shape[i] > 1 && t.strides[i] == 0)
        throw InvalidArgument(std::string(arg) + ": stride 0 in dimension " + std::to_string(i) +
                              " of an output; outputs must not overlap themselves");
}

namespace {

// [lo, hi): the bytes a strided view spans (lo == hi for an empty view).
void byte_span(const TensorView& t, std::uintptr_t* lo, std::uintptr_t* hi) {
  const std::int64_t es = static_cast<std::int64_t>(dtype_size(t.dtype));
  std::int64_t a = 0, b = 0;
  for (std::size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d] == 0) {
      *lo = *hi = 0;
      return;
    }
    const std::int64_t span = (t.shape[d] - 1) * t.strides[d] * es;
    (span < 0 ? a : b) += span;
  }
  *lo = reinterpret_cast<std::uintptr_t>(t.data) + static_cast<std::uintptr_t>(a);
  *hi = reinterpret_cast<std::uintptr_t>(t.data) + static_cast<std::uintptr_t>(b + es);
}

}  // namespace

void check_no_overlap(const TensorView& out, const char* out_name,
                      std::initializer_list<std::pair<const TensorView*, const char*>> inputs) {
  std::uintptr_t olo = 0, ohi = 0;
  byte_span(out, &olo, &ohi);
  if (olo == ohi) return;
  for (const auto& [in, name] : inputs) {
    if (!in) continue;
    std::uintptr_t lo = 0, hi = 0;
    byte_span(*in, &lo, &hi);
    if (lo < hi && olo < hi && lo < ohi)
      throw InvalidArgument(std::string(out_name) + ": its memory overlaps that of " + name +
                            " (address ranges intersect); convkit reads its inputs while "
                            "writing the output, so pass a separate output array");
  }
}

std::vector<std::int64_t> spatial_offsets(const View5& v) {
  std::vector<std::int64_t> off;
  off.reserve(static_cast<std::size_t>(v.size[2] * v.size[3] * v.size[4]));
  for (std::int64_t i = 0; i < v.size[2]; ++i)
    for (std::int64_t j = 0; j < v.size[3]; ++j)
      for (std::int64_t k = 0; k < v.size[4]; ++k)
        off.push_back(i * v.stride[2] + j * v.stride[3] + k * v.stride[4]);
  return off;
}

View5 activation_view(const TensorView& t, Layout layout, int nd) {
  View5 v;
  v.base = static_cast<char*>(t.data);
  const int c_axis = layout == Layout::channels_first ? 1 : nd + 1;
  const int first_sp = layout == Layout::channels_first ? 2 : 1;
  v.size[0] = t.shape[0];
  v.stride[0] = t.strides[0];
  v.size[1] = t.shape[c_axis];
  v.stride[1] = t.strides[c_axis];
  for (int i = 0; i < nd; ++i) {
    v.size[2 + 3 - nd + i] = t.shape[first_sp + i];
    v.stride[2 + 3 - nd + i] = t.strides[first_sp + i];
  }
  return v;
}

View5 weight_view(const TensorView& t, int nd) {
  View5 v;
  v.base = static_cast<char*>(t.data);
  v.size[0] = t.shape[0];
  v.stride[0] = t.strides[0];
  v.size[1] = t.shape[1];
  v.stride[1] = t.strides[1];
  for (int i = 0; i < nd; ++i) {
    v.size[2 + 3 - nd + i] = t.shape[2 + i];
    v.stride[2 + 3 - nd + i] = t.strides[2 + i];
  }
  return v;
}

View1 vector_view(const TensorView& t) {
  View1 v;
  v.base = static_cast<char*>(t.data);
  v.size = t.shape[0];
  v.stride = t.strides[0];
  return v;
}

}  // namespace convkit::detail
