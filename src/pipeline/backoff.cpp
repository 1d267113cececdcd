#include "pipeline/backoff.hpp"

#include <algorithm>

namespace metersync::pipeline {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      random_(seed) {}

std::chrono::milliseconds Backoff::next() { return after(++attempt_); }

std::chrono::milliseconds Backoff::after(int failures) {
  // Doubling stops once the cap is reached, so the shift never overflows.
  int64_t ceiling = initial_.count();
  for (int i = 1; i < failures && ceiling < max_.count(); ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_.count());
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace metersync::pipeline
