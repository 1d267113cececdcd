#include "app/replay_runner.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace metersync::app {

namespace {

health::ReplayAnswer refusal(int status, const std::string& error) {
  return {status, nlohmann::json{{"error", error}}.dump()};
}

}  // namespace

ReplayRunner::ReplayRunner(const config::Config& config, const std::vector<const config::SourceConfig*>& sources)
    : config_(config), sources_(sources) {}

ReplayRunner::~ReplayRunner() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool ReplayRunner::replayable(const std::string& source) const {
  return std::any_of(sources_.begin(), sources_.end(),
                     [&](const auto* s) { return s->name == source && s->endpoint.has_value(); });
}

health::ReplayAnswer ReplayRunner::start(const std::string& source) {
  const auto found = std::find_if(sources_.begin(), sources_.end(),
                                  [&](const auto* s) { return s->name == source; });
  if (found == sources_.end()) return refusal(404, "no source \"" + source + "\" runs in this process");
  if (!(*found)->endpoint) return refusal(404, "source \"" + source + "\" has no endpoint: nothing to replay");
  std::lock_guard lock(mutex_);
  for (const auto& [name, run] : runs_) {
    if (run.running) return refusal(409, "a replay of " + name + " is running; wait for it to end");
  }
  if (thread_.joinable()) thread_.join();  // the last run has ended: its thread only returns
  runs_[source] = Run{true, std::chrono::system_clock::now(), std::nullopt, {}};
  spdlog::info("replay [{}]: started from the operations page", source);
  thread_ = std::thread([this, &config_source = **found] { work(config_source); });
  return {202, nlohmann::json{{"source", source}, {"state", "running"}}.dump()};
}

void ReplayRunner::work(const config::SourceConfig& source) {
  dispatch::ReplayResult result;
  try {
    result = dispatch::replay(config_, source, stopping_);
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  spdlog::info("replay [{}]: {} batch(es) delivered, {} dead letter(s) passed over{}{}", source.name,
               result.delivered, result.skipped, result.error.empty() ? "" : "; stopped: ", result.error);
  std::lock_guard lock(mutex_);
  Run& run = runs_[source.name];
  run.running = false;
  run.finished_at = std::chrono::system_clock::now();
  run.result = std::move(result);
}

std::map<std::string, ReplayRunner::Run> ReplayRunner::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

}  // namespace metersync::app
