#include "app/supervisor.hpp"

#include <csignal>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

#include "pipeline/backoff.hpp"
#include "app/status_file.hpp"
#include "dispatch/dispatcher_threads.hpp"
#include "sink/sink.hpp"

namespace metersync::app {
namespace {

using Clock = std::chrono::steady_clock;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Waits up to `timeout` for SIGTERM/SIGINT; returns the signal or 0.
int wait_for_signal(std::chrono::milliseconds timeout) {
  sigset_t set = stop_signals();
  timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000L};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// Every pipeline's status, in the configuration's order.
std::vector<engine::PipelineSnapshot> snapshots_of(const std::vector<std::unique_ptr<engine::Pipeline>>& pipelines) {
  std::vector<engine::PipelineSnapshot> snapshots;
  snapshots.reserve(pipelines.size());
  for (const auto& p : pipelines) snapshots.push_back(p->snapshot());
  return snapshots;
}

}  // namespace

void Supervisor::block_stop_signals() {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Supervisor::Supervisor(const config::Config& config, const std::vector<std::string>& only_sources)
    : config_(config) {
  std::string known;
  for (const auto& source : config.sources) known += (known.empty() ? "" : ", ") + source.name;
  for (const auto& name : only_sources) {
    auto found = std::find_if(config.sources.begin(), config.sources.end(),
                              [&](const auto& s) { return s.name == name; });
    if (found == config.sources.end()) {
      throw ConfigError("--source " + name + ": no such source in the configuration (known: " + known + ")");
    }
    if (!found->enabled) {
      throw ConfigError("--source " + name + ": sources." + name + ".enabled is false (set it to true)");
    }
  }
  for (const auto& source : config.sources) {
    const bool wanted = only_sources.empty()
                            ? source.enabled
                            : std::find(only_sources.begin(), only_sources.end(), source.name) != only_sources.end();
    if (wanted) selected_.push_back(&source);
  }
  if (selected_.empty()) {
    throw ConfigError("sources: no enabled source to run (enable one, or name one with --source)");
  }
}

bool Supervisor::prepare_sink(StatusFile& status) {
  pipeline::Backoff backoff(config_.sink.retry_initial, config_.sink.retry_max);
  for (;;) {
    try {
      sink::Sink sink(config_.sink);
      sink.init();
      const std::string dialect = config::dialect_name(config_.sink.dialect);
      spdlog::info("{} stage: {}: {}", dialect, sink::stage_name(sink.stage()),
                   sink.stage_description());
      status.set_sink(dialect, std::string(sink::stage_name(sink.stage())),
                      sink.stage_description());
      return true;
    } catch (const sink::SinkError& e) {
      if (e.kind() != sink::SinkError::Kind::Transient) throw;
      spdlog::warn("sink not reachable yet: {} (retrying)", e.what());
    }
    if (wait_for_signal(backoff.next()) != 0) return false;
  }
}

int Supervisor::run() {
  const auto started_at = std::chrono::system_clock::now();
  StatusFile status(config_.status_file, started_at);
  // Endpoint dispatchers run beside the pipelines, on threads of their own, and do not
  // wait for the sink (dispatch/dispatcher_threads.hpp); stopped when this returns.
  dispatch::DispatcherThreads dispatchers(config_, selected_);
  dispatchers.start();
  if (!prepare_sink(status)) return 0;

  for (const auto* source : selected_) {
    pipelines_.push_back(std::make_unique<engine::Pipeline>(config_, *source));
  }
  for (auto& pipeline : pipelines_) pipeline->start();
  spdlog::info("metersync running {} pipeline(s)", pipelines_.size());

  auto last_summary = Clock::now();
  int exit_code = 0;
  for (;;) {
    const int sig = wait_for_signal(std::chrono::milliseconds(1000));
    status.write(snapshots_of(pipelines_));
    if (sig != 0) {
      spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (Clock::now() - last_summary >= std::chrono::seconds(10)) {
      log_summary();
      last_summary = Clock::now();
    }
    // A pipeline restarts itself after any error a retry might clear; one that ended for
    // good will not run again in this process, so the process ends (non-zero) and a
    // service manager can restart it and alert, rather than stay up with a source stopped.
    if (std::any_of(pipelines_.begin(), pipelines_.end(),
                    [](const auto& p) { return p->failed_for_good(); })) {
      spdlog::error("a pipeline stopped for good; exiting");
      exit_code = 1;
      break;
    }
  }

  for (auto& pipeline : pipelines_) pipeline->request_stop();
  dispatchers.stop();
  // Pipelines stop within a poll interval; a stuck database call must not hold the
  // process forever (the sink's offsets make an abrupt end safe).
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!std::all_of(pipelines_.begin(), pipelines_.end(), [](const auto& p) { return p->finished(); })) {
    if (Clock::now() >= deadline || wait_for_signal(std::chrono::milliseconds(100)) != 0) {
      spdlog::error("pipelines did not stop in time; exiting without waiting for them");
      status.write(snapshots_of(pipelines_));
      spdlog::shutdown();
      std::_Exit(1);
    }
  }
  for (auto& pipeline : pipelines_) pipeline->join();
  status.write(snapshots_of(pipelines_));
  log_summary();
  return exit_code;
}

void Supervisor::log_summary() {
  std::vector<engine::PipelineSnapshot> now = snapshots_of(pipelines_);
  for (std::size_t i = 0; i < now.size(); ++i) {
    const auto& s = now[i];
    const int64_t before = i < last_summary_.size() ? last_summary_[i].records_applied : 0;
    spdlog::info("{}: {}, consumed {}, applied {} (+{}), dead-lettered {}, tombstones {}, lag {}{}{}",
                 s.source, engine::state_name(s.state), s.records_consumed, s.records_applied,
                 s.records_applied - before, s.records_dead_lettered, s.tombstones_skipped,
                 s.lag ? std::to_string(*s.lag) : "?", s.last_error.empty() ? "" : ", last error: ",
                 s.last_error);
  }
  last_summary_ = std::move(now);
}

}  // namespace metersync::app
