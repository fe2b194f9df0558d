// src/core/workspace_limit.cpp — process-wide workspace cap (set_workspace_limit or the
// CONVKIT_WORKSPACE_LIMIT environment variable, read once).
#include "core/workspace_limit.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "convkit/conv.hpp"
#include "convkit/error.hpp"

namespace convkit {
namespace {

std::int64_t limit_from_env() {
  const char* s = std::getenv("CONVKIT_WORKSPACE_LIMIT");
  if (!s || !*s) return -1;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < -1)
    throw InvalidArgument(std::string("CONVKIT_WORKSPACE_LIMIT: got '") + s +
                          "', expected a number of bytes >= 0 (or -1 for no limit)");
  return v;
}

std::atomic<std::int64_t>& limit_setting() {
  static std::atomic<std::int64_t> limit{limit_from_env()};
  return limit;
}

}  // namespace

void set_workspace_limit(std::int64_t bytes) {
  if (bytes < -1)
    throw InvalidArgument("set_workspace_limit: got " + std::to_string(bytes) +
                          ", expected a number of bytes >= 0, or -1 for no limit");
  limit_setting().store(bytes, std::memory_order_relaxed);
}

std::int64_t get_workspace_limit() { return limit_setting().load(std::memory_order_relaxed); }

namespace detail {

std::int64_t effective_workspace_limit(std::int64_t requested) {
  if (requested < -1)
    throw InvalidArgument("workspace_limit: got " + std::to_string(requested) +
                          ", expected a number of bytes >= 0, or -1 for the process default");
  return requested >= 0 ? requested : get_workspace_limit();
}

std::string workspace_exceeds(std::size_t needed, std::int64_t limit) {
  if (limit < 0 || needed <= static_cast<std::size_t>(limit)) return "";
  return "needs " + std::to_string(needed) + " bytes of workspace, the limit is " +
         std::to_string(limit) + " bytes";
}

}  // namespace detail
}  // namespace convkit
