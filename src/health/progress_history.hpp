// The last 15 minutes of each destination's progress, for the operations page's charts: every
// kStep, the rate at which it committed records over that step and its lag at the end of it.
//
// Fed with the same Observations readiness judges, on the same one-second tick; kept in memory
// only, a bounded ring of kPoints per destination (a restart starts it empty).
//
// Threads: record() from the supervisor's thread, series() from the listener's; a mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "health/readiness.hpp"

namespace metersync::health {

class ProgressHistory {
 public:
  static constexpr std::chrono::seconds kStep{5};
  static constexpr std::size_t kPoints = 180;  // 15 minutes of kStep

  struct Point {
    Clock::time_point at;         // the end of the step
    double rate = 0;              // records committed per second over the step
    std::optional<int64_t> lag;   // records waiting at its end; nullopt while unknown
  };
  struct Series {
    std::string source;
    std::string destination;
    std::vector<Point> points;    // oldest first
    std::string last_error;       // the latest observation's ("" = none)
    std::optional<int64_t> lag;   // the latest observation's
  };

  void record(const std::vector<Observation>& observations, Clock::time_point now);
  std::vector<Series> series() const;  // in the order destinations were first observed

 private:
  struct Memory {
    std::size_t order = 0;
    Clock::time_point step_began;
    int64_t committed_then = 0;
    std::deque<Point> points;
    std::string last_error;
    std::optional<int64_t> lag;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Memory> memory_;
};

}  // namespace metersync::health
