// convkit/error.hpp — the exception hierarchy of the public API.
//
// Every error convkit raises derives from convkit::Error. Messages name the argument, the
// value that was given and what was expected, so a user can fix the call without reading
// the source. The Python module maps InvalidArgument/ShapeError/SizeOverflow to ValueError,
// UnsupportedError to TypeError and OutOfMemory to MemoryError.
#pragma once

#include <stdexcept>
#include <string>

namespace convkit {

/// Base of every exception thrown by convkit.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A parameter has a value outside its domain (negative padding, zero stride, unknown name...).
class InvalidArgument : public Error {
 public:
  explicit InvalidArgument(const std::string& what) : Error(what) {}
};

/// Tensor shapes do not agree with each other or with the problem.
class ShapeError : public InvalidArgument {
 public:
  explicit ShapeError(const std::string& what) : InvalidArgument(what) {}
};

/// A size, element count or byte count does not fit in 64-bit arithmetic.
class SizeOverflow : public InvalidArgument {
 public:
  explicit SizeOverflow(const std::string& what) : InvalidArgument(what) {}
};

/// A request convkit does not support (data type, an algorithm declining a forced problem).
class UnsupportedError : public Error {
 public:
  explicit UnsupportedError(const std::string& what) : Error(what) {}
};

/// A buffer could not be allocated.
class OutOfMemory : public Error {
 public:
  explicit OutOfMemory(const std::string& what) : Error(what) {}
};

}  // namespace convkit
