// Replays from the operations page (POST /v1/replay): dispatch::replay(), the same code as
// `metersync replay --source X`, run on a thread of its own so the listener answers at once
// (202) and the page follows the run in /v1/operations. One run at a time for the whole
// process: a second request while one runs is answered 409.
//
// Threads: start() from the listener's, runs() from the listener's, the run on its own; a
// mutex between them. The destructor stops a run in progress (replay stops between batches)
// and joins it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "dispatch/replay.hpp"
#include "health/listener.hpp"

namespace metersync::app {

class ReplayRunner {
 public:
  struct Run {
    bool running = false;
    std::chrono::system_clock::time_point started_at;
    std::optional<std::chrono::system_clock::time_point> finished_at;
    dispatch::ReplayResult result;
  };

  ReplayRunner(const config::Config& config, const std::vector<const config::SourceConfig*>& sources);
  ~ReplayRunner();
  ReplayRunner(const ReplayRunner&) = delete;
  ReplayRunner& operator=(const ReplayRunner&) = delete;

  // 202 started; 404 not a source of this process, or one without an endpoint; 409 a replay runs.
  health::ReplayAnswer start(const std::string& source);
  // The latest run of each source that had one.
  std::map<std::string, Run> runs() const;
  bool replayable(const std::string& source) const;

 private:
  void work(const config::SourceConfig& source);

  const config::Config& config_;
  std::vector<const config::SourceConfig*> sources_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Run> runs_;
  std::thread thread_;
};

}  // namespace metersync::app
