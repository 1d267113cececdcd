#include "dispatch/circuit_breaker.hpp"

#include <algorithm>

namespace metersync::dispatch {

CircuitBreaker::CircuitBreaker(int failures, std::chrono::milliseconds probe_initial,
                               std::chrono::milliseconds probe_max, uint64_t seed)
    : threshold_(failures), probe_max_(probe_max), backoff_(probe_initial, probe_max, seed) {}

CircuitBreaker::Permit CircuitBreaker::permit(Clock::time_point now) {
  switch (state_) {
    case State::Closed:
      return Permit::Post;
    case State::Probing:
      return Permit::Wait;
    case State::Open:
      if (now < next_probe_) return Permit::Wait;
      state_ = State::Probing;
      return Permit::Probe;
  }
  return Permit::Wait;
}

void CircuitBreaker::open_until(Clock::time_point now, std::optional<std::chrono::milliseconds> at_least) {
  auto wait = backoff_.next();
  // Retry-After may lengthen the pause, within the same cap as a retry's.
  if (at_least) wait = std::max(wait, std::min(*at_least, probe_max_));
  state_ = State::Open;
  next_probe_ = now + wait;
}

void CircuitBreaker::failed(Clock::time_point now, std::optional<std::chrono::milliseconds> at_least,
                            bool probe) {
  ++in_a_row_;
  switch (state_) {
    case State::Closed:
      if (threshold_ > 0 && in_a_row_ >= threshold_) open_until(now, at_least);
      break;
    case State::Probing:
      if (probe) open_until(now, at_least);  // else the probe is still in flight: one at a time
      break;
    case State::Open:
      // A post that started before the breaker opened: the next probe's time stands.
      break;
  }
}

void CircuitBreaker::succeeded() {
  in_a_row_ = 0;
  state_ = State::Closed;
  backoff_.reset();
}

void CircuitBreaker::probe_abandoned() {
  if (state_ == State::Probing) state_ = State::Open;  // next_probe_ is past already
}

std::string_view state_name(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::Closed:
      return "closed";
    case CircuitBreaker::State::Open:
      return "open";
    case CircuitBreaker::State::Probing:
      return "probing";
  }
  return "";
}

}  // namespace metersync::dispatch
