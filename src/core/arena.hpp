// src/core/arena.hpp — per-thread scratch memory that is reused across calls.
//
// Freshly mapped memory is expensive on the machines convkit targets (page faults and TLB
// shootdowns cost more than a small convolution), so algorithms never allocate per call:
// each thread keeps one 64-byte-aligned buffer that only grows.
#pragma once

#include <cstddef>

namespace convkit::detail {

/// A 64-byte-aligned buffer of at least `bytes` bytes owned by the calling thread, valid until
/// the next call on the same thread. Throws OutOfMemory if it cannot be grown.
void* thread_scratch(std::size_t bytes);

}  // namespace convkit::detail
