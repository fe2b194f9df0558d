// src/core/arena.cpp — the per-thread scratch buffer.
#include "core/arena.hpp"

#include <cstdlib>
#include <memory>
#include <string>

#include "convkit/error.hpp"

namespace convkit::detail {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

struct Arena {
  std::unique_ptr<void, FreeDeleter> data;
  std::size_t size = 0;
};

}  // namespace

void* thread_scratch(std::size_t bytes, ScratchSlot slot) {
  thread_local Arena arenas[3];
  Arena& arena = arenas[static_cast<int>(slot)];
  if (bytes <= arena.size) return arena.data.get();
  // Grow geometrically so a sequence of slightly larger problems does not remap each time.
  std::size_t want = arena.size + arena.size / 2;
  if (want < bytes) want = bytes;
  want = (want + 63) / 64 * 64;
  if (want < bytes) throw OutOfMemory("scratch: cannot allocate " + std::to_string(bytes) + " bytes");
  void* p = std::aligned_alloc(64, want);
  if (!p) {
    want = (bytes + 63) / 64 * 64;
    p = want >= bytes ? std::aligned_alloc(64, want) : nullptr;
    if (!p)
      throw OutOfMemory("scratch: cannot allocate " + std::to_string(bytes) +
                        " bytes of per-thread workspace");
  }
  arena.data.reset(p);
  arena.size = want;
  return p;
}

}  // namespace convkit::detail
