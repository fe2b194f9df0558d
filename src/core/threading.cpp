// src/core/threading.cpp — a small persistent thread pool with static partitioning.
#include "core/threading.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "convkit/conv.hpp"
#include "convkit/error.hpp"

namespace convkit {
namespace detail {
namespace {

int default_num_threads() {
  if (const char* env = std::getenv("CONVKIT_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
    // An unusable value falls back to the default rather than failing every call.
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 1024u));
}

std::atomic<int>& num_threads_setting() {
  static std::atomic<int> n{default_num_threads()};
  return n;
}

class Pool {
 public:
  static Pool& instance() {
    static Pool* pool = new Pool();  // never destroyed: workers may outlive static destructors
    return *pool;
  }

  void run(std::int64_t n, int threads, const ChunkFn& fn) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || threads <= 1 || n <= 1) {
      fn(0, n, 0);
      return;
    }
    const int chunks = static_cast<int>(std::min<std::int64_t>(threads, n));
    ensure_workers(chunks - 1);
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &fn;
      n_ = n;
      chunks_ = chunks;
      pending_ = chunks - 1;
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    std::exception_ptr mine;
    try {
      run_chunk(0);
    } catch (...) {
      mine = std::current_exception();
    }
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return pending_ == 0; });
    job_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_chunk(int c) {
    const std::int64_t base = n_ / chunks_, rem = n_ % chunks_;
    const std::int64_t begin = c * base + std::min<std::int64_t>(c, rem);
    const std::int64_t end = begin + base + (c < rem ? 1 : 0);
    if (begin < end) (*job_)(begin, end, c);
  }

  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int id = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, id] { worker_loop(id); });
      workers_.back().detach();
    }
  }

  void worker_loop(int id) {
    std::uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [&] { return generation_ != seen; });
      seen = generation_;
      if (id >= chunks_) continue;
      lk.unlock();
      std::exception_ptr err;
      try {
        run_chunk(id);
      } catch (...) {
        err = std::current_exception();
      }
      lk.lock();
      if (err && !error_) error_ = err;
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  std::mutex busy_;  // held by the one caller currently using the workers
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  const ChunkFn* job_ = nullptr;
  std::int64_t n_ = 0;
  int chunks_ = 0;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;
};

}  // namespace

int current_num_threads() { return num_threads_setting().load(std::memory_order_relaxed); }

void parallel_for(std::int64_t n, const ChunkFn& fn) {
  if (n <= 0) return;
  Pool::instance().run(n, current_num_threads(), fn);
}

}  // namespace detail

void set_num_threads(int n) {
  if (n < 1 || n > 1024)
    throw InvalidArgument("num_threads: got " + std::to_string(n) + ", expected 1..1024");
  detail::num_threads_setting().store(n, std::memory_order_relaxed);
}

int get_num_threads() { return detail::current_num_threads(); }

}  // namespace convkit
