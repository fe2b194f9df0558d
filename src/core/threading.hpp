// src/core/threading.hpp — the thread pool behind every parallel loop.
//
// parallel_for splits [0, n) into one contiguous chunk per thread (static partitioning);
// parallel_for_dynamic hands out chunks of a given grain as threads become free.
// Algorithms make each work item's result independent of which thread computes it and of
// the chunking, which is what makes results bitwise identical for any thread count.
// When another caller is already using the pool (user threads calling convkit concurrently)
// the loop runs on the calling thread alone; the result is the same either way.
#pragma once

#include <cstdint>
#include <functional>

namespace convkit::detail {

/// fn(begin, end, thread_index) is called for disjoint chunks covering [0, n).
/// thread_index < the returned number of chunks <= max_threads.
using ChunkFn = std::function<void(std::int64_t begin, std::int64_t end, int thread_index)>;

/// Number of threads a parallel_for started now would use at most.
int current_num_threads();

/// Whether set_flush_denormal(true) is in effect (parallel_for then runs every chunk with
/// FTZ/DAZ set in MXCSR).
bool flush_denormal_enabled();

/// Runs fn over [0, n) with up to current_num_threads() threads; returns after every chunk ran.
/// Exceptions thrown by fn are rethrown on the calling thread (the first one).
void parallel_for(std::int64_t n, const ChunkFn& fn);

/// The same, but each thread first takes a contiguous three quarters of its share, then
/// chunks of `grain` items (or a sixteenth of its share, when that is more) from a shared
/// counter as it finishes, so uneven items (partial tiles, cache misses, one core slowed by
/// the machine) even out.
/// Only for loops whose items are independent of the thread computing them.
void parallel_for_dynamic(std::int64_t n, std::int64_t grain, const ChunkFn& fn);

}  // namespace convkit::detail
