// How often one kind of warning may be written: at most `lines` per `window`, the rest only
// counted, and that count handed back with the first occurrence of a later window so that
// the log still says how many there were. A flood of bad records (fuzzed input, a wrong
// topic) must not flood the log: the Meter Master pipeline (engine::RecordIntake) and the
// endpoint dispatcher log their dead letters through it, with the same limit.
//
// Pure state, the time passed in; one per logging loop (not thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace metersync::pipeline {

class LogRateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  // What to write for one occurrence.
  struct Turn {
    bool write = false;     // write this occurrence's own line
    int64_t held_back = 0;  // occurrences not written in the window that just closed (say so first)
  };

  explicit LogRateLimit(int lines = 10, Clock::duration window = std::chrono::seconds(10));

  Turn next(Clock::time_point now);

 private:
  int lines_;
  Clock::duration window_;
  std::optional<Clock::time_point> window_start_;
  int written_ = 0;
  int64_t held_back_ = 0;
};

}  // namespace metersync::pipeline
