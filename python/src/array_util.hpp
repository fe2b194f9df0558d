// python/src/array_util.hpp — NumPy array plumbing shared by the conv and signal bindings:
// shapes and element strides of an array, and result arrays carved from the buffer pool.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <convkit/convkit.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "buffer_pool.hpp"

namespace convkit_py {

namespace py = pybind11;

/// Shape and strides (in elements) of `a`; strides that are not whole elements are an error.
inline void shape_and_strides(const py::array& a, const char* name,
                              std::vector<std::int64_t>* shape,
                              std::vector<std::int64_t>* strides) {
  const auto item = static_cast<std::int64_t>(a.itemsize());
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    shape->push_back(a.shape(i));
    const auto s = static_cast<std::int64_t>(a.strides(i));
    if (s % item != 0)
      throw convkit::InvalidArgument(std::string(name) + ": stride of " + std::to_string(s) +
                                     " bytes along axis " + std::to_string(i) +
                                     " is not a multiple of the item size");
    strides->push_back(s / item);
  }
}

/// A new C-contiguous array of `dtype` whose memory comes from the buffer pool (no fresh mmap
/// per call; see buffer_pool.hpp). Throws SizeOverflow / OutOfMemory with the shape.
inline py::array pooled_array(const py::dtype& dtype, std::size_t item,
                              const std::vector<std::int64_t>& shape) {
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  std::size_t bytes = item;
  for (auto d : shape)
    if (__builtin_mul_overflow(bytes, static_cast<std::size_t>(d), &bytes))
      throw convkit::SizeOverflow("result of shape " + convkit::shape_to_string(shape) +
                                  " does not fit in memory");
  struct Block {
    void* p;
    std::size_t capacity;
  };
  auto* block = new Block{nullptr, 0};
  try {
    block->p = BufferPool::instance().acquire(bytes ? bytes : 1, &block->capacity);
  } catch (const std::bad_alloc&) {
    delete block;
    throw convkit::OutOfMemory("cannot allocate " + std::to_string(bytes) +
                               " bytes for a result of shape " + convkit::shape_to_string(shape));
  }
  py::capsule owner(block, [](void* b) {
    auto* blk = static_cast<Block*>(b);
    BufferPool::instance().release(blk->p, blk->capacity);
    delete blk;
  });
  return py::array(dtype, s, block->p, owner);
}

}  // namespace convkit_py
