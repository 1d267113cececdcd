// Whether each destination of each source is progressing: what /readyz answers.
//
// The supervisor hands over one Observation per destination every second; Readiness
// remembers since when each has had work (records on the broker after its committed
// position, a failing sink or endpoint, partitions not yet assigned) without making
// progress (its committed count not moving), and judges a destination not ready once that
// has lasted `stall_after` (http.stall_after_ms). A pipeline stopped after an error is not
// ready at once. One stalled destination marks itself only, never the others.
//
// With Kafka Connect known (connect.url), the supervisor also hands over what Connect last
// said about each source's connector (ConnectorObservation): a connector or task FAILED, or
// a connector Connect does not know, makes both destinations of that source not ready at
// once (no change of that source reaches the topic, and Connect never restarts a failed
// task by itself); one UNASSIGNED or RESTARTING for longer than the stall time too. A
// PAUSED or STOPPED connector (an operator's decision) and a Connect that does not answer
// are shown in the body and judge nothing: docs/operating.md says why.
//
// Threads: observe() from the supervisor's thread, verdicts()/ready()/body() from the
// listener's; a mutex between them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace metersync::health {

using Clock = std::chrono::system_clock;

enum class Phase {
  Starting,  // connecting, or waiting for partitions
  Running,
  Failing,   // the last attempt failed; retrying after a back-off
  Failed,    // ended by an error; a new attempt starts after a back-off
  Stopped,   // shut down on request
};

struct Observation {
  std::string source;
  std::string destination;  // meter_master | endpoint
  Phase phase = Phase::Starting;
  int64_t committed = 0;        // records settled so far (written, dead-lettered, skipped)
  // Records on the broker after the committed position (so also those read and not yet
  // committed); nullopt while unknown.
  std::optional<int64_t> lag;
  std::string last_error;       // "" = none
  std::optional<long> last_http_status;  // endpoints: the last answer's status
  // Endpoints: set while the circuit breaker holds the endpoint unavailable (since when),
  // after `failures_in_a_row` failed posts. Not ready at once: the run of failures was the wait.
  std::optional<Clock::time_point> unavailable_since{};
  int failures_in_a_row = 0;
};

enum class ConnectorCondition {
  Running,        // the connector and every task RUNNING
  Failed,         // the connector or a task FAILED
  Missing,        // Connect does not know the connector
  Transitioning,  // UNASSIGNED, RESTARTING, or no task yet
  Paused,         // PAUSED or STOPPED by an operator
  Unknown,        // Connect did not answer (or answered something unreadable)
};

struct ConnectorObservation {
  std::string source;
  std::string connector;  // its name in Connect (sources.<name>.connector_name)
  ConnectorCondition condition = ConnectorCondition::Unknown;
  // What is wrong, in Connect's words: "task 0 is FAILED (<first trace line>)", "is PAUSED",
  // "not registered", "no answer from ...". "" when running.
  std::string detail;
};

// What a destination is doing, in the words /readyz and the operations page both use: the
// verdict's state. Starting, running and failing are ready; the others are not.
enum class State {
  Starting,       // connecting, or waiting for partitions, for less than the stall time
  Running,
  Failing,        // the last attempt failed, retrying after a back-off, for less than the stall time
  Stalled,        // work waiting and no progress for the stall time (http.stall_after_ms)
  Failed,         // the pipeline stopped after an error; it restarts after a back-off
  Unavailable,    // the endpoint's circuit breaker is open
  Stopped,        // shut down on request
  ConnectorDown,  // the source's connector or a task failed, is not registered, or is stuck
};

std::string_view state_name(State state);  // starting, running, failing, stalled, ...

struct Verdict {
  std::string source;
  std::string destination;
  State state = State::Running;
  bool ready = true;                    // the state is starting, running or failing
  std::string reason;                   // why not ready ("" when ready)
  std::optional<Clock::time_point> since;  // since when the reason holds
};

class Readiness {
 public:
  explicit Readiness(std::chrono::milliseconds stall_after);

  // `connectors`: the latest of each source's connector (none without connect.url).
  void observe(const std::vector<Observation>& observations, Clock::time_point now,
               const std::vector<ConnectorObservation>& connectors = {});

  std::vector<Verdict> verdicts() const;
  bool ready() const;  // every destination ready, and at least one observation made
  // /readyz's JSON body: {"ready": bool, "destinations": [{source, destination, state, ready,
  // reason, since}, ...], "connectors": [{source, connector, state, detail, since}, ...]}
  // ("connectors" only with connectors observed).
  std::string body() const;

 private:
  struct Memory {
    int64_t committed = -1;
    std::optional<Clock::time_point> stuck_since;  // work waiting and no progress since
    std::optional<Clock::time_point> failed_since;
  };
  struct ConnectorMemory {
    ConnectorCondition condition = ConnectorCondition::Running;
    Clock::time_point since{};  // since when it has been in this condition
  };
  struct ConnectorView {
    ConnectorObservation observed;
    Clock::time_point since;
  };
  Verdict judge(const Observation& o, Memory& memory, Clock::time_point now) const;
  // Why the source's connector holds its destinations back, if it does.
  std::optional<Verdict> judge_connector(const ConnectorView& view, Clock::time_point now) const;

  std::chrono::milliseconds stall_after_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Memory> memory_;
  std::map<std::string, ConnectorMemory> connector_memory_;  // by source
  std::vector<Verdict> verdicts_;
  std::vector<ConnectorView> connectors_;
  bool observed_ = false;
};

std::string iso_utc(Clock::time_point at);
std::string_view condition_name(ConnectorCondition condition);  // running, failed, missing, ...

}  // namespace metersync::health
