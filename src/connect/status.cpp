#include "connect/status.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace metersync::connect {
namespace {

Error unreadable(std::string reason) {
  return Error{ErrorKind::Transient, Stage::Connect, std::move(reason), {}, 0, 0};
}

std::string text_of(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

std::string first_line(std::string_view trace) {
  std::string line(trace.substr(0, trace.find('\n')));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<ConnectorStatus> parse_status(std::string_view body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return std::unexpected(unreadable("connector status: not a JSON object"));
  const auto connector = json.find("connector");
  if (connector == json.end() || !connector->is_object() || !connector->contains("state")) {
    return std::unexpected(unreadable("connector status: no connector.state"));
  }
  ConnectorStatus status;
  status.name = text_of(json, "name");
  status.state = text_of(*connector, "state");
  status.trace = first_line(text_of(*connector, "trace"));
  if (const auto tasks = json.find("tasks"); tasks != json.end() && tasks->is_array()) {
    for (const nlohmann::json& task : *tasks) {
      if (!task.is_object()) continue;
      const auto id = task.find("id");
      status.tasks.push_back({id != task.end() && id->is_number_integer() ? id->get<int>() : -1,
                              text_of(task, "state"), first_line(text_of(task, "trace"))});
    }
  }
  std::sort(status.tasks.begin(), status.tasks.end(),
            [](const TaskStatus& a, const TaskStatus& b) { return a.id < b.id; });
  return status;
}

std::string Problem::describe() const {
  std::string text;
  if (task) {
    text = "task " + std::to_string(*task) + " is " + state;
  } else if (state == "no task") {
    text = "has no task";
  } else {
    text = "is " + state;
  }
  if (!trace.empty()) text += " (" + trace + ")";
  return text;
}

std::vector<Problem> problems(const ConnectorStatus& status) {
  std::vector<Problem> found;
  if (status.state != "RUNNING") {
    found.push_back({std::nullopt, status.state, status.trace});
  } else if (status.tasks.empty()) {
    found.push_back({std::nullopt, "no task", ""});
  }
  for (const TaskStatus& task : status.tasks) {
    if (task.state != "RUNNING") found.push_back({task.id, task.state, task.trace});
  }
  return found;
}

}  // namespace metersync::connect
