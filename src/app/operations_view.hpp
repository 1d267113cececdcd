// /v1/operations: what the operations page shows (src/health/pages/operations.js), put together
// from the parts that already hold it: each destination's verdict as /readyz judges it
// (health::Readiness), its last 15 minutes (health::ProgressHistory), the dead letters as the
// metrics counted them (metrics::DeadLetterLog) and the page's replays (ReplayRunner).
//
// Thread: the listener's; every part locks itself.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "app/replay_runner.hpp"
#include "health/progress_history.hpp"
#include "health/readiness.hpp"
#include "metrics/dead_letter_log.hpp"

namespace metersync::app {

struct OperationsParts {
  std::vector<std::string> sources;  // in the configuration's order
  const health::Readiness& readiness;
  const health::ProgressHistory& history;
  const metrics::DeadLetterLog& dead_letters;
  const ReplayRunner& replays;
  bool replay_enabled = false;  // http.replay_token set
};

std::string operations_json(const OperationsParts& parts, std::chrono::system_clock::time_point now);

}  // namespace metersync::app
