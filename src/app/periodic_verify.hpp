// `run`'s periodic verify (verify.every_ms): every period, on a thread of its own, the
// selected sources with a connection are verified one after the other as `metersync verify`
// verifies them (without --repair), and the result goes to the metrics and, through
// latest(), to the status file. The pipelines never wait for it: verify reads the source
// and Meter Master over connections of its own, and only reads.
//
// Threads: the verify thread; latest() from any thread (a mutex). The destructor stops and
// joins; a verify under way ends at its next wait for the pipeline or its next source.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"

namespace metersync::metrics {
class Metrics;
}

namespace metersync::app {

// The last verify of one source, as the status file shows it.
struct VerifySummary {
  std::string source;
  bool verified = false;
  bool equal = false;
  int64_t differences = 0;  // differing keys and unmappable rows
  std::string error;        // not verified: why
  std::chrono::system_clock::time_point ended;
  double seconds = 0;
};

class PeriodicVerify {
 public:
  PeriodicVerify(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                 metrics::Metrics* metrics);
  ~PeriodicVerify();
  PeriodicVerify(const PeriodicVerify&) = delete;
  PeriodicVerify& operator=(const PeriodicVerify&) = delete;

  void start();
  std::vector<VerifySummary> latest() const;

 private:
  void run();

  const config::Config& config_;
  std::vector<const config::SourceConfig*> sources_;
  metrics::Metrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::vector<VerifySummary> latest_;
  std::thread thread_;
};

}  // namespace metersync::app
