// src/core/view.cpp — building and validating logical views.
#include "core/view.hpp"

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
