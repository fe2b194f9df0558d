// src/core/workspace_limit.hpp — the cap on extra memory per convolution or filter call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace convkit::detail {

/// The limit in force for a request: `requested` if >= 0, else the process-wide one; -1 = none.
std::int64_t effective_workspace_limit(std::int64_t requested = -1);

/// "" when `needed` bytes fit under `limit` (-1 = no limit), else the reason, naming both sizes.
std::string workspace_exceeds(std::size_t needed, std::int64_t limit);

}  // namespace convkit::detail
