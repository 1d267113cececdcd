// What Kafka Connect says about one connector (GET /connectors/<name>/status), and what of
// it is not running.
//
// Connect's own words are kept for the states (RUNNING, PAUSED, STOPPED, FAILED,
// UNASSIGNED, RESTARTING): they are what an operator reads in Connect's API and log.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace metersync::connect {

struct TaskStatus {
  int id = -1;
  std::string state;
  std::string trace;  // the first line of the task's trace ("" when none)
};

struct ConnectorStatus {
  std::string name;
  std::string state;  // the connector's own state
  std::string trace;  // the first line of the connector's trace ("" when none)
  std::vector<TaskStatus> tasks;
};

// Parses the status body. A body that is not the expected object is an Error of stage
// Connect (kind Transient: Connect answers it while it starts up or rebalances).
Result<ConnectorStatus> parse_status(std::string_view body);

// One thing not RUNNING: the connector itself (task empty), or one task. A running
// connector without any task is reported as the connector, state "no task".
struct Problem {
  std::optional<int> task;
  std::string state;
  std::string trace;

  // "task 0 is FAILED (trace)", "is PAUSED", "has no task"
  std::string describe() const;
};

// Everything not running, the connector first, then the tasks by id; empty when the
// connector and every task are RUNNING.
std::vector<Problem> problems(const ConnectorStatus& status);

// The first line of a Java stack trace.
std::string first_line(std::string_view trace);

}  // namespace metersync::connect
