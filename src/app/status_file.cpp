#include "app/status_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace metersync::app {

std::string iso_utc(std::chrono::system_clock::time_point at) {
  using namespace std::chrono;
  auto millis = duration_cast<milliseconds>(at.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis % 1000);
}

namespace {

nlohmann::json optional_time(const std::optional<std::chrono::system_clock::time_point>& at) {
  return at ? nlohmann::json(iso_utc(*at)) : nlohmann::json(nullptr);
}

}  // namespace

StatusFile::StatusFile(std::string path, std::chrono::system_clock::time_point started_at,
                       std::string instance_id)
    : path_(std::move(path)), started_at_(started_at), instance_id_(std::move(instance_id)) {}

std::string StatusFile::render(const std::vector<engine::PipelineSnapshot>& pipelines,
                               const std::vector<EndpointAssignment>& endpoints) const {
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& p : pipelines) {
    nlohmann::json positions = nlohmann::json::object();
    for (const auto& [partition, offset] : p.positions) positions[std::to_string(partition)] = offset;
    sources[p.source] = {
        {"state", engine::state_name(p.state)},
        {"topic", p.topic},
        {"group", p.group},
        {"partitions", p.partitions},
        {"records_consumed", p.records_consumed},
        {"records_applied", p.records_applied},
        {"changes_written", p.changes_written},
        {"records_dead_lettered", p.records_dead_lettered},
        {"tombstones_skipped", p.tombstones_skipped},
        {"batches_committed", p.batches_committed},
        {"retries", p.retries},
        {"positions", positions},
        {"lag", p.lag ? nlohmann::json(*p.lag) : nlohmann::json(nullptr)},
        {"last_error", p.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.last_error)},
        {"last_error_at", optional_time(p.last_error_at)},
        {"last_commit_at", optional_time(p.last_commit_at)},
    };
  }
  nlohmann::json assigned = nlohmann::json::object();
  for (const auto& e : endpoints) assigned[e.source] = {{"group", e.group}, {"partitions", e.partitions}};
  nlohmann::json doc = {{"pid", static_cast<int64_t>(::getpid())},
                        {"instance_id", instance_id_},
                        {"started_at", iso_utc(started_at_)},
                        {"updated_at", iso_utc(std::chrono::system_clock::now())},
                        {"sources", sources},
                        {"endpoints", assigned}};
  if (!sink_stage_.empty()) {
    doc["sink"] = {{"dialect", sink_dialect_},
                   {"stage", sink_stage_},
                   {"stage_reason", sink_stage_reason_}};
  }
  if (!verify_.empty()) {
    nlohmann::json verify = nlohmann::json::object();
    for (const auto& v : verify_)
      verify[v.source] = {{"verified", v.verified},
                          {"equal", v.equal},
                          {"differences", v.differences},
                          {"error", v.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.error)},
                          {"ended_at", iso_utc(v.ended)},
                          {"seconds", v.seconds}};
    doc["verify"] = verify;
  }
  return doc.dump(2) + "\n";
}

void StatusFile::set_verify(std::vector<VerifySummary> verify) { verify_ = std::move(verify); }

void StatusFile::set_sink(std::string dialect, std::string stage, std::string stage_reason) {
  sink_dialect_ = std::move(dialect);
  sink_stage_ = std::move(stage);
  sink_stage_reason_ = std::move(stage_reason);
}

bool StatusFile::write(const std::vector<engine::PipelineSnapshot>& pipelines,
                       const std::vector<EndpointAssignment>& endpoints) {
  if (path_.empty()) return true;
  const std::string temporary = path_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << render(pipelines, endpoints);
    out.flush();
    if (!out) {
      if (!warned_) spdlog::warn("status file: cannot write {}", temporary);
      warned_ = true;
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    if (!warned_) spdlog::warn("status file: cannot rename {} to {}", temporary, path_);
    warned_ = true;
    return false;
  }
  warned_ = false;
  return true;
}

std::string StatusFile::describe_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read status file " + path +
                             " (is `metersync run` running with status_file set to it?)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return describe(text.str(), "status file " + path);
}

std::string StatusFile::describe(const std::string& json_text, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(origin + " is not valid JSON: " + e.what());
  }
  std::ostringstream out;
  out << fmt::format("metersync pid {} instance {} started {} updated {}\n", doc.value("pid", 0),
                     doc.value("instance_id", "?"), doc.value("started_at", "?"),
                     doc.value("updated_at", "?"));
  out << fmt::format("{:<12} {:<9} {:>10} {:>10} {:>8} {:>9} {:<10}  {}\n", "SOURCE", "STATE", "CONSUMED",
                     "APPLIED", "DLQ", "LAG", "PARTITIONS", "LAST ERROR");
  const nlohmann::json sources = doc.value("sources", nlohmann::json::object());
  for (const auto& [name, s] : sources.items()) {
    std::string lag = s.contains("lag") && !s["lag"].is_null() ? std::to_string(s["lag"].get<int64_t>()) : "-";
    std::string error = s.contains("last_error") && s["last_error"].is_string()
                            ? s["last_error"].get<std::string>()
                            : "";
    std::string partitions;
    for (const auto& p : s.value("partitions", nlohmann::json::array()))
      partitions += (partitions.empty() ? "" : ",") + std::to_string(p.get<int>());
    out << fmt::format("{:<12} {:<9} {:>10} {:>10} {:>8} {:>9} {:<10}  {}\n", name, s.value("state", "?"),
                       s.value("records_consumed", 0), s.value("records_applied", 0),
                       s.value("records_dead_lettered", 0), lag, partitions.empty() ? "-" : partitions,
                       error);
  }
  return out.str();
}

}  // namespace metersync::app
