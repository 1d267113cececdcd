// Exponential backoff with jitter, for retrying a batch against a sink or Kafka.
//
// The n-th delay is drawn uniformly from [d/2, d] with d = min(max, initial * 2^n), so
// pipelines that failed together do not retry in lock-step.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace metersync::app {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          uint64_t seed = std::random_device{}());

  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace metersync::app
