// src/core/arena.hpp — per-thread scratch memory that is reused across calls.
//
// Freshly mapped memory is expensive on the machines convkit targets (page faults and TLB
// shootdowns cost more than a small convolution), so algorithms never allocate per call:
// each thread keeps one 64-byte-aligned buffer that only grows.
#pragma once

#include <cstddef>

namespace convkit::detail {

/// Independent buffers per thread: `shared` for data a caller prepares before a parallel loop
/// and hands to all workers (the caller also runs a chunk), `worker` for one chunk's own use,
/// `lowered` for an algorithm that runs other algorithms (data it keeps across their calls).
enum class ScratchSlot { worker = 0, shared = 1, lowered = 2 };

/// A 64-byte-aligned buffer of at least `bytes` bytes owned by the calling thread, valid until
/// the next call on the same thread and slot. Throws OutOfMemory if it cannot be grown.
void* thread_scratch(std::size_t bytes, ScratchSlot slot = ScratchSlot::worker);

}  // namespace convkit::detail
