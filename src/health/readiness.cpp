#include "health/readiness.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

namespace metersync::health {

std::string iso_utc(Clock::time_point at) {
  const std::time_t t = Clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string_view condition_name(ConnectorCondition condition) {
  switch (condition) {
    case ConnectorCondition::Running: return "running";
    case ConnectorCondition::Failed: return "failed";
    case ConnectorCondition::Missing: return "missing";
    case ConnectorCondition::Transitioning: return "transitioning";
    case ConnectorCondition::Paused: return "paused";
    case ConnectorCondition::Unknown: return "unknown";
  }
  return "unknown";
}

std::string_view state_name(State state) {
  switch (state) {
    case State::Starting: return "starting";
    case State::Running: return "running";
    case State::Failing: return "failing";
    case State::Stalled: return "stalled";
    case State::Failed: return "failed";
    case State::Unavailable: return "unavailable";
    case State::Stopped: return "stopped";
    case State::ConnectorDown: return "connector_down";
  }
  return "running";
}

namespace {

// A destination judged ready is doing what its phase says.
State ready_state(Phase phase) {
  switch (phase) {
    case Phase::Starting: return State::Starting;
    case Phase::Failing: return State::Failing;
    default: return State::Running;
  }
}

}  // namespace

Readiness::Readiness(std::chrono::milliseconds stall_after) : stall_after_(stall_after) {}

std::optional<Verdict> Readiness::judge_connector(const ConnectorView& view, Clock::time_point now) const {
  const ConnectorObservation& c = view.observed;
  switch (c.condition) {
    case ConnectorCondition::Failed:
    case ConnectorCondition::Missing:
      break;
    case ConnectorCondition::Transitioning:
      // Rebalances and restarts pass; one that lasts is a stall like any other.
      if (now - view.since < stall_after_) return std::nullopt;
      break;
    case ConnectorCondition::Running:
    case ConnectorCondition::Paused:
    case ConnectorCondition::Unknown:
      return std::nullopt;
  }
  return Verdict{c.source, "", State::ConnectorDown, false, "connector " + c.connector + " " + c.detail,
                 view.since};
}

Verdict Readiness::judge(const Observation& o, Memory& memory, Clock::time_point now) const {
  Verdict verdict{o.source, o.destination, ready_state(o.phase), true, "", std::nullopt};

  if (o.phase == Phase::Failed) {
    if (!memory.failed_since) memory.failed_since = now;
    verdict.state = State::Failed;
    verdict.ready = false;
    verdict.since = memory.failed_since;
    verdict.reason = "stopped after an error, restarting after a back-off: " +
                     (o.last_error.empty() ? std::string("(no message)") : o.last_error);
    return verdict;
  }
  memory.failed_since.reset();
  if (o.phase == Phase::Stopped) {
    verdict.state = State::Stopped;
    verdict.ready = false;
    verdict.reason = "stopped";
    return verdict;
  }
  if (o.unavailable_since) {
    memory.committed = o.committed;
    memory.stuck_since.reset();
    verdict.state = State::Unavailable;
    verdict.ready = false;
    verdict.since = o.unavailable_since;
    verdict.reason = "endpoint unavailable: circuit breaker open after " +
                     std::to_string(o.failures_in_a_row) + " failed posts in a row";
    if (o.last_http_status) verdict.reason += " (last status " + std::to_string(*o.last_http_status) + ")";
    verdict.reason += "; probing with back-off, backlog kept on Kafka";
    return verdict;
  }

  // The first observation is a baseline, not progress.
  const bool progressed = memory.committed >= 0 && o.committed != memory.committed;
  memory.committed = o.committed;
  const bool work_waiting = o.phase == Phase::Starting || o.phase == Phase::Failing || (o.lag && *o.lag > 0);
  if (progressed || !work_waiting) {
    memory.stuck_since.reset();
    return verdict;
  }
  if (!memory.stuck_since) memory.stuck_since = now;
  if (now - *memory.stuck_since < stall_after_) return verdict;

  verdict.state = State::Stalled;
  verdict.ready = false;
  verdict.since = memory.stuck_since;
  const std::string what = o.destination == "endpoint" ? "endpoint" : "sink";
  switch (o.phase) {
    case Phase::Failing:
      verdict.reason = what + " failing";
      if (o.last_http_status) verdict.reason += " (last status " + std::to_string(*o.last_http_status) + ")";
      if (!o.last_error.empty()) verdict.reason += ": " + o.last_error;
      break;
    case Phase::Starting:
      verdict.reason = "not started: no partitions assigned yet";
      if (!o.last_error.empty()) verdict.reason += " (last error: " + o.last_error + ")";
      break;
    default:
      verdict.reason = "no progress";
      if (o.lag) verdict.reason += " with " + std::to_string(*o.lag) + " records of lag";
      if (!o.last_error.empty()) verdict.reason += " (last error: " + o.last_error + ")";
      break;
  }
  return verdict;
}

void Readiness::observe(const std::vector<Observation>& observations, Clock::time_point now,
                        const std::vector<ConnectorObservation>& connectors) {
  std::vector<Verdict> verdicts;
  verdicts.reserve(observations.size());
  std::vector<ConnectorView> views;
  views.reserve(connectors.size());
  std::lock_guard lock(mutex_);
  for (const ConnectorObservation& c : connectors) {
    ConnectorMemory& memory = connector_memory_[c.source];
    if (memory.since == Clock::time_point{} || memory.condition != c.condition) memory = {c.condition, now};
    views.push_back({c, memory.since});
  }
  for (const Observation& o : observations) {
    Verdict verdict = judge(o, memory_[{o.source, o.destination}], now);
    const auto view = std::find_if(views.begin(), views.end(),
                                   [&](const ConnectorView& v) { return v.observed.source == o.source; });
    if (view != views.end()) {
      // The destination's own verdict goes on being judged (its memory kept), the
      // connector's comes first in the reason.
      if (auto held = judge_connector(*view, now)) {
        held->destination = o.destination;
        if (!verdict.ready) {
          held->reason += "; " + verdict.reason;
          if (verdict.since && held->since && *verdict.since < *held->since) held->since = verdict.since;
        }
        verdict = std::move(*held);
      }
    }
    verdicts.push_back(std::move(verdict));
  }
  verdicts_ = std::move(verdicts);
  connectors_ = std::move(views);
  observed_ = true;
}

std::vector<Verdict> Readiness::verdicts() const {
  std::lock_guard lock(mutex_);
  return verdicts_;
}

bool Readiness::ready() const {
  std::lock_guard lock(mutex_);
  return observed_ && std::all_of(verdicts_.begin(), verdicts_.end(), [](const Verdict& v) { return v.ready; });
}

std::string Readiness::body() const {
  std::lock_guard lock(mutex_);
  nlohmann::ordered_json destinations = nlohmann::ordered_json::array();
  bool all = observed_;
  for (const Verdict& v : verdicts_) {
    all = all && v.ready;
    nlohmann::ordered_json d{{"source", v.source}, {"destination", v.destination},
                             {"state", state_name(v.state)}, {"ready", v.ready}};
    if (!v.ready) {
      d["reason"] = v.reason;
      d["since"] = v.since ? nlohmann::ordered_json(iso_utc(*v.since)) : nlohmann::ordered_json();
    }
    destinations.push_back(std::move(d));
  }
  nlohmann::ordered_json body{{"ready", all}, {"destinations", std::move(destinations)}};
  if (!connectors_.empty()) {
    nlohmann::ordered_json connectors = nlohmann::ordered_json::array();
    for (const ConnectorView& view : connectors_) {
      const ConnectorObservation& c = view.observed;
      nlohmann::ordered_json entry{{"source", c.source}, {"connector", c.connector},
                                   {"state", condition_name(c.condition)}};
      if (c.condition != ConnectorCondition::Running) {
        entry["detail"] = c.detail;
        entry["since"] = iso_utc(view.since);
      }
      connectors.push_back(std::move(entry));
    }
    body["connectors"] = std::move(connectors);
  }
  if (!observed_) body["reason"] = "starting: no pipeline observed yet";
  return body.dump();
}

}  // namespace metersync::health
