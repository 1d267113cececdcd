#include "app/backoff.hpp"

#include <algorithm>

namespace metersync::app {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  // Doubling stops once the cap is reached, so the shift never overflows.
  int64_t ceiling = initial_.count();
  for (int i = 0; i < attempt_ && ceiling < max_.count(); ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_.count());
  ++attempt_;
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace metersync::app
