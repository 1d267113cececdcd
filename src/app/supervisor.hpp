// `metersync run`: prepares the sink tables, starts one Pipeline per selected source,
// writes the status file every second and an info summary every 10 s, and stops on
// SIGTERM/SIGINT.
//
// Thread: the main thread. SIGTERM/SIGINT are blocked in every thread (the mask is set
// before any thread starts, so librdkafka's and the pipelines' threads inherit it) and
// received here with sigtimedwait, which is also the one-second status tick.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/pipeline.hpp"
#include "config/config.hpp"

namespace metersync::dispatch {
class DispatcherThreads;
}
namespace metersync::health {
class Listener;
class ProgressHistory;
class Readiness;
}
namespace metersync::metrics {
class Metrics;
}

namespace metersync::app {

class ConnectorPoller;
class PeriodicVerify;

class Supervisor {
 public:
  // `only_sources`: names from --source (empty: every enabled source). Throws
  // ConfigError for an unknown or disabled name.
  Supervisor(const config::Config& config, const std::vector<std::string>& only_sources);

  // Blocks until a signal (exit code 0) or until a pipeline has stopped for good (1): a
  // configuration error; every other failure restarts the pipeline after a back-off.
  int run();

  // Must run before any thread is created.
  static void block_stop_signals();

 private:
  // false when a signal arrived while waiting for the sink; records its stage in `status`
  bool prepare_sink(class StatusFile& status);
  void log_summary();
  // The one-second tick: status file, readiness (with the connectors' latest state), the
  // ready and connector gauges, the listener's heartbeat.
  void tick(StatusFile& status, const dispatch::DispatcherThreads& dispatchers);
  // Waits up to `timeout` for SIGTERM/SIGINT, beating the listener's heartbeat every second;
  // returns the signal or 0.
  int wait(std::chrono::milliseconds timeout);

  const config::Config& config_;
  std::vector<const config::SourceConfig*> selected_;
  std::vector<std::unique_ptr<engine::Pipeline>> pipelines_;
  std::vector<engine::PipelineSnapshot> last_summary_;
  metrics::Metrics* metrics_ = nullptr;      // run()'s, while it runs
  health::Readiness* readiness_ = nullptr;
  health::ProgressHistory* history_ = nullptr;
  health::Listener* listener_ = nullptr;
  ConnectorPoller* connectors_ = nullptr;    // null without connect.url or a listener
  PeriodicVerify* verify_ = nullptr;         // null without verify.every_ms
  std::mutex status_mutex_;
  std::string status_json_;  // the latest status, for the listener's /status
};

}  // namespace metersync::app
