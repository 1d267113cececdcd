// What Kafka Connect says about each selected source's connector, read every
// connect.poll_ms on a thread of its own, for /readyz and metersync_connector_up. The HTTP
// calls (each bounded by a timeout) never hold up the supervisor's one-second tick or the
// listener: those only copy the latest answers.
//
// Threads: the poller's own thread reads Connect; latest() from any thread (a mutex).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connect/client.hpp"
#include "health/readiness.hpp"

namespace metersync::app {

// What one answer of Connect about `connector` means for readiness: running, failed (the
// connector or a task FAILED), missing (not registered), paused (PAUSED or STOPPED),
// transitioning (UNASSIGNED, RESTARTING, no task yet) or unknown (no answer), with Connect's
// own words for what is not running.
health::ConnectorObservation observe_connector(const std::string& source, const std::string& connector,
                                               const Result<std::optional<connect::ConnectorStatus>>& answer);

class ConnectorPoller {
 public:
  struct Watched {
    std::string source;
    std::string connector;  // sources.<name>.connector_name
  };

  ConnectorPoller(std::string url, std::vector<Watched> watched, std::chrono::milliseconds period);
  ~ConnectorPoller();  // stops and joins
  ConnectorPoller(const ConnectorPoller&) = delete;
  ConnectorPoller& operator=(const ConnectorPoller&) = delete;

  void start();
  // The latest answer about each watched connector; empty until the first round is done.
  std::vector<health::ConnectorObservation> latest() const;

 private:
  void run();

  connect::Client client_;
  std::vector<Watched> watched_;
  std::chrono::milliseconds period_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<health::ConnectorObservation> latest_;
  std::thread thread_;
};

}  // namespace metersync::app
