// The circuit breaker of one endpoint: after `failures` failed posts in a row (of any
// partition) the endpoint is taken as unavailable: no post goes out but one probe at a
// time, after a back-off; the first answered post closes it again.
//
// A failure is what the RetryPolicy retries (no answer, timeout, 408, 429, 5xx); any other
// answer, a refusal included, shows the endpoint is there and counts as a success. While
// open, the dispatcher pauses its partitions (the backlog stays on Kafka) and does not
// count failed attempts against max_attempts: an outage does not dead-letter the backlog
// (docs/endpoints.md, "Circuit breaker").
//
// Pure state, the time passed in; lives on the dispatcher's thread. Pinned by
// tests/circuit_breaker_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "pipeline/backoff.hpp"

namespace metersync::dispatch {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  enum class State {
    Closed,   // posts go out
    Open,     // waiting for the next probe
    Probing,  // one probe in flight
  };
  enum class Permit {
    Post,   // a post may start
    Probe,  // this post is the probe: the breaker is Probing until its answer
    Wait,   // nothing may start now (see next_probe())
  };

  // `failures` 0: never opens. The probes' back-off is `probe_initial` doubling to
  // `probe_max`, with pipeline::Backoff's jitter.
  CircuitBreaker(int failures, std::chrono::milliseconds probe_initial,
                 std::chrono::milliseconds probe_max, uint64_t seed = std::random_device{}());

  // Asked before a post starts; Probe moves the breaker to Probing.
  Permit permit(Clock::time_point now);
  // A failed post. `at_least` (a Retry-After) may only lengthen the wait before a probe.
  // `probe`: it was the probe; only the probe's failure ends Probing (a post that started
  // before the circuit opened may fail while the probe is in flight).
  void failed(Clock::time_point now, std::optional<std::chrono::milliseconds> at_least = {},
              bool probe = false);
  void succeeded();
  // A probe that went out and came back without an answer to judge (the dispatcher stopping,
  // its partition revoked): the next probe may go at once.
  void probe_abandoned();

  State state() const { return state_; }
  bool open() const { return state_ != State::Closed; }
  int failures_in_a_row() const { return in_a_row_; }
  Clock::time_point next_probe() const { return next_probe_; }

 private:
  void open_until(Clock::time_point now, std::optional<std::chrono::milliseconds> at_least);

  int threshold_;
  std::chrono::milliseconds probe_max_;
  pipeline::Backoff backoff_;
  State state_ = State::Closed;
  int in_a_row_ = 0;
  Clock::time_point next_probe_{};
};

std::string_view state_name(CircuitBreaker::State state);

}  // namespace metersync::dispatch
