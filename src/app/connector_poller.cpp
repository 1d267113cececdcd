#include "app/connector_poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace metersync::app {
namespace {

using namespace std::chrono_literals;

// Long enough for a busy Connect, short enough that a silent one is noticed within a round.
std::chrono::milliseconds timeout_for(std::chrono::milliseconds period) {
  return std::clamp<std::chrono::milliseconds>(period, 2s, 10s);
}

}  // namespace

health::ConnectorObservation observe_connector(const std::string& source, const std::string& connector,
                                               const Result<std::optional<connect::ConnectorStatus>>& answer) {
  using health::ConnectorCondition;
  health::ConnectorObservation observed{source, connector, ConnectorCondition::Running, ""};
  if (!answer) {
    observed.condition = ConnectorCondition::Unknown;
    observed.detail = answer.error().describe();
    return observed;
  }
  const std::optional<connect::ConnectorStatus>& found = *answer;
  if (!found) {
    observed.condition = ConnectorCondition::Missing;
    observed.detail = "not registered in Kafka Connect";
    return observed;
  }
  const connect::ConnectorStatus& status = *found;
  const std::vector<connect::Problem> problems = connect::problems(status);
  if (problems.empty()) return observed;
  for (const connect::Problem& problem : problems) {
    observed.detail += (observed.detail.empty() ? "" : "; ") + problem.describe();
  }
  const bool failed = std::any_of(problems.begin(), problems.end(),
                                  [](const connect::Problem& p) { return p.state == "FAILED"; });
  if (failed) {
    observed.condition = ConnectorCondition::Failed;
  } else if (status.state == "PAUSED" || status.state == "STOPPED") {
    observed.condition = ConnectorCondition::Paused;
  } else {
    observed.condition = ConnectorCondition::Transitioning;
  }
  return observed;
}

ConnectorPoller::ConnectorPoller(std::string url, std::vector<Watched> watched, std::chrono::milliseconds period)
    : client_(std::move(url), timeout_for(period)), watched_(std::move(watched)), period_(period) {}

ConnectorPoller::~ConnectorPoller() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConnectorPoller::start() { thread_ = std::thread([this] { run(); }); }

std::vector<health::ConnectorObservation> ConnectorPoller::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void ConnectorPoller::run() {
  std::vector<health::ConnectorCondition> logged(watched_.size(), health::ConnectorCondition::Running);
  for (;;) {
    std::vector<health::ConnectorObservation> round;
    round.reserve(watched_.size());
    for (std::size_t i = 0; i < watched_.size(); ++i) {
      const Watched& w = watched_[i];
      round.push_back(observe_connector(w.source, w.connector, client_.status(w.connector)));
      // One log line per change, not one per round.
      if (round.back().condition != logged[i]) {
        logged[i] = round.back().condition;
        if (logged[i] == health::ConnectorCondition::Running) {
          spdlog::info("connector {} of {}: running", w.connector, w.source);
        } else {
          spdlog::warn("connector {} of {}: {}: {}", w.connector, w.source, health::condition_name(logged[i]),
                       round.back().detail);
        }
      }
    }
    std::unique_lock lock(mutex_);
    latest_ = std::move(round);
    if (wake_.wait_for(lock, period_, [this] { return stopping_; })) return;
  }
}

}  // namespace metersync::app
