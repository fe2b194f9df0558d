// python/src/buffer_pool.hpp — recycled memory for the arrays the module returns.
//
// On the machines convkit targets, freshly mmap'ed memory costs more than a small convolution
// (page faults, and TLB shootdowns once two threads run), and glibc maps every large block
// anew. Result arrays are therefore carved from blocks that are kept when their array dies
// and handed out again for the next result of a similar size. The pool holds at most
// kMaxCachedBytes of idle blocks; larger or surplus blocks go back to the system.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

namespace convkit_py {

class BufferPool {
 public:
  static constexpr std::size_t kMaxCachedBytes = std::size_t(512) << 20;
  static constexpr std::size_t kMinPooledBytes = std::size_t(64) << 10;

  static BufferPool& instance() {
    static BufferPool* p = new BufferPool();  // never destroyed: arrays may outlive exit
    return *p;
  }

  /// A 64-byte-aligned block of at least `bytes` bytes; throws std::bad_alloc.
  void* acquire(std::size_t bytes, std::size_t* capacity) {
    const std::size_t cap = round_up(bytes);
    if (cap >= kMinPooledBytes) {
      std::lock_guard<std::mutex> lk(m_);
      // Smallest idle block that fits and wastes at most a quarter.
      auto it = idle_.lower_bound(cap);
      if (it != idle_.end() && it->first <= cap + cap / 4) {
        void* p = it->second;
        *capacity = it->first;
        idle_bytes_ -= it->first;
        idle_.erase(it);
        return p;
      }
    }
    void* p = std::aligned_alloc(64, cap);
    if (!p) throw std::bad_alloc();
    *capacity = cap;
    return p;
  }

  void release(void* p, std::size_t capacity) {
    if (capacity >= kMinPooledBytes) {
      std::lock_guard<std::mutex> lk(m_);
      if (idle_bytes_ + capacity <= kMaxCachedBytes) {
        idle_.emplace(capacity, p);
        idle_bytes_ += capacity;
        return;
      }
    }
    std::free(p);
  }

 private:
  static std::size_t round_up(std::size_t bytes) {
    const std::size_t b = bytes == 0 ? 64 : bytes;
    return (b + 63) / 64 * 64;
  }

  std::mutex m_;
  std::multimap<std::size_t, void*> idle_;
  std::size_t idle_bytes_ = 0;
};

}  // namespace convkit_py
