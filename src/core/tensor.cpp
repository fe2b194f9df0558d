// src/core/tensor.cpp — dtype helpers and TensorView utilities.
#include "convkit/tensor.hpp"

#include "convkit/error.hpp"
#include "core/checked.hpp"

namespace convkit {

std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }

const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : "float64"; }

TensorView TensorView::contiguous(void* data, DType dtype, std::vector<std::int64_t> shape) {
  std::vector<std::int64_t> strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s = detail::checked_mul(s, shape[i] > 0 ? shape[i] : 1, "tensor element count");
  }
  return TensorView(data, dtype, std::move(shape), std::move(strides));
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n = detail::checked_mul(n, d, "tensor element count");
  return n;
}

std::string shape_to_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace convkit
