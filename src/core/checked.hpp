// src/core/checked.hpp — overflow-checked 64-bit size arithmetic.
//
// Every size, element count and byte count convkit derives from user input goes through
// these helpers, so a huge or hostile shape becomes a SizeOverflow naming what overflowed
// instead of a wrapped-around size and an out-of-bounds access.
#pragma once

#include <cstdint>
#include <string>

#include "convkit/error.hpp"

namespace convkit::detail {

inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw SizeOverflow(std::string(what) + ": " + std::to_string(a) + " * " + std::to_string(b) +
                       " overflows 64-bit size arithmetic");
  return r;
}

inline std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    throw SizeOverflow(std::string(what) + ": " + std::to_string(a) + " + " + std::to_string(b) +
                       " overflows 64-bit size arithmetic");
  return r;
}

}  // namespace convkit::detail
