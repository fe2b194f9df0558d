// convkit/tensor.hpp — data types and the strided tensor view every entry point takes.
//
// A TensorView does not own memory: it is a pointer, a shape and strides counted in
// elements (negative and zero strides are allowed, as in NumPy). Shapes are given in the
// tensor's physical order, e.g. (N, H, W, C) for a channels-last activation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace convkit {

enum class DType { f32, f64 };

/// Bytes per element of `t`.
std::size_t dtype_size(DType t);
/// "float32" or "float64".
const char* dtype_name(DType t);

template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::f64;
};

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;  // in elements

  TensorView() = default;
  TensorView(void* data_, DType dtype_, std::vector<std::int64_t> shape_,
             std::vector<std::int64_t> strides_)
      : data(data_), dtype(dtype_), shape(std::move(shape_)), strides(std::move(strides_)) {}

  /// A densely packed row-major (C-order) view of `shape`.
  static TensorView contiguous(void* data, DType dtype, std::vector<std::int64_t> shape);
  template <typename T>
  static TensorView contiguous(T* data, std::vector<std::int64_t> shape) {
    return contiguous(static_cast<void*>(data), dtype_of<T>::value, std::move(shape));
  }
  template <typename T>
  static TensorView contiguous(const T* data, std::vector<std::int64_t> shape) {
    return contiguous(const_cast<T*>(data), std::move(shape));
  }

  int ndim() const { return static_cast<int>(shape.size()); }
  /// Number of elements; throws SizeOverflow if it does not fit in int64.
  std::int64_t numel() const;
};

/// "(2, 3, 4, 4)" — used in error messages.
std::string shape_to_string(const std::vector<std::int64_t>& shape);

}  // namespace convkit
