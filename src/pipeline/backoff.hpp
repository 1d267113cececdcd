// The one exponential backoff of metersync: a sink or Kafka retry, a pipeline or a
// dispatcher started again, an endpoint post retried (dispatch::RetryPolicy).
//
// The delay after the n-th failure is drawn uniformly from [d/2, d] with
// d = min(max, initial * 2^(n-1)) ("equal jitter"): never less than half the step, so a
// struggling server gets its pause, and spread, so pipelines that failed together do not
// retry in lock-step.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace metersync::pipeline {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          uint64_t seed = std::random_device{}());

  // The delay before the next attempt; counts a failure.
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

  // The delay after `failures` failed attempts (1 = the first), without counting it: for a
  // caller that counts attempts itself.
  std::chrono::milliseconds after(int failures);

  std::chrono::milliseconds max() const { return max_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace metersync::pipeline
