// src/algos/depthwise_conv.hpp — the depthwise forward algorithm, and its channel-plane path
// item by item for callers that run several forward problems per channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "algos/algorithm.hpp"

namespace convkit::detail {

const Algorithm& depthwise_conv_algorithm();

/// depthwise_conv's channel-plane path (NCHW planes, one (image, channel) item at a time) run
/// on the caller's threads: phased_bwd_data runs all stride phases of one channel back to
/// back, so the channel's dx plane is written while it is in cache (one pass over dx instead
/// of one per phase). Results are those of depthwise_conv_algorithm().execute.
class DepthwisePlanes {
 public:
  /// Whether execute() takes the channel-plane path for p and a (the others: channels-last
  /// views and small planes).
  static bool serves(const ConvProblem& p, const ConvArgs& a);
  /// state: depthwise_conv_algorithm().prepare(p, Direction::forward). p, state and a must
  /// outlive this object.
  DepthwisePlanes(const ConvProblem& p, const void* state, const ConvArgs& a);
  ~DepthwisePlanes();
  DepthwisePlanes(const DepthwisePlanes&) = delete;
  DepthwisePlanes& operator=(const DepthwisePlanes&) = delete;
  /// Scratch per thread (a multiple of 64 bytes).
  std::size_t scratch_bytes() const;
  /// Once per thread and call, before its first run() in that scratch.
  void begin(void* scratch) const;
  /// Item = image · in_channels + input channel: all its output channels.
  void run(std::int64_t item, void* scratch) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convkit::detail
