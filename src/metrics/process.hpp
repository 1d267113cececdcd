// The process's own figures from /proc (Linux): CPU time, resident memory, start time.
#pragma once

#include <cstdint>

namespace metersync::metrics {

class ProcessFigures {
 public:
  ProcessFigures();

  struct Sample {
    double cpu_seconds = 0;  // user + system
    int64_t resident_bytes = 0;
    double uptime_seconds = 0;
  };
  Sample sample() const;
  double start_time_seconds() const { return start_time_seconds_; }  // Unix time

 private:
  double start_time_seconds_ = 0;
  long ticks_per_second_ = 100;
  long page_size_ = 4096;
};

}  // namespace metersync::metrics
