#include "app/supervisor.hpp"

#include <csignal>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

#include "pipeline/backoff.hpp"
#include "app/connector_poller.hpp"
#include "app/operations_view.hpp"
#include "app/periodic_verify.hpp"
#include "app/replay_runner.hpp"
#include "app/status_file.hpp"
#include "health/listener.hpp"
#include "health/progress_history.hpp"
#include "health/readiness.hpp"
#include "kafka/topic_metadata.hpp"
#include "metrics/metrics.hpp"
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
    if (wait(backoff.next()) != 0) return false;
  }
}

int Supervisor::wait(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    if (listener_ != nullptr) listener_->beat();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left <= std::chrono::milliseconds(0)) return 0;
    if (const int sig = wait_for_signal(std::min(left, std::chrono::milliseconds(1000))); sig != 0) return sig;
  }
}

namespace {

health::Phase phase_of(engine::PipelineState state) {
  switch (state) {
    case engine::PipelineState::Starting: return health::Phase::Starting;
    case engine::PipelineState::Running: return health::Phase::Running;
    case engine::PipelineState::Retrying: return health::Phase::Failing;
    case engine::PipelineState::Failed: return health::Phase::Failed;
    case engine::PipelineState::Stopped: return health::Phase::Stopped;
  }
  return health::Phase::Starting;
}

}  // namespace

void Supervisor::tick(StatusFile& status, const dispatch::DispatcherThreads& dispatchers) {
  const std::vector<engine::PipelineSnapshot> snapshots = snapshots_of(pipelines_);
  const auto dispatcher_snapshots = dispatchers.snapshot();
  std::vector<EndpointAssignment> endpoints;
  endpoints.reserve(dispatcher_snapshots.size());
  for (const auto& d : dispatcher_snapshots) endpoints.push_back({d.source, d.group, d.partitions});
  if (verify_ != nullptr) status.set_verify(verify_->latest());
  status.write(snapshots, endpoints);
  {
    std::lock_guard lock(status_mutex_);
    status_json_ = status.render(snapshots, endpoints);
  }
  if (listener_ != nullptr) listener_->beat();
  if (readiness_ == nullptr) return;
  std::vector<health::Observation> observations;
  observations.reserve(snapshots.size() + dispatcher_snapshots.size());
  // Each lag is counted from the committed (endpoints: settled) position, so it covers the
  // records read and not yet committed too: the whole of the work waiting.
  for (const auto& s : snapshots) {
    observations.push_back({s.source, "meter_master", phase_of(s.state), s.records_applied, s.lag,
                            s.last_error, std::nullopt});
  }
  for (const auto& d : dispatcher_snapshots) {
    const health::Phase phase = d.stopped_by_error ? health::Phase::Failed
                                : d.failing        ? health::Phase::Failing
                                                   : health::Phase::Running;
    observations.push_back({d.source, "endpoint", phase, d.records_settled, d.lag, d.last_error,
                            d.failing ? std::optional<long>(d.last_status) : std::nullopt});
    observations.back().unavailable_since = d.unavailable_since;
    observations.back().failures_in_a_row = d.failures_in_a_row;
  }
  const std::vector<health::ConnectorObservation> connectors =
      connectors_ != nullptr ? connectors_->latest() : std::vector<health::ConnectorObservation>{};
  const auto now = std::chrono::system_clock::now();
  readiness_->observe(observations, now, connectors);
  if (history_ != nullptr) history_->record(observations, now);
  if (metrics_ == nullptr) return;
  for (const health::ConnectorObservation& c : connectors) {
    metrics_->connector_up(c.source, c.condition == health::ConnectorCondition::Running);
  }
  for (const health::Verdict& v : readiness_->verdicts()) {
    if (v.destination == "endpoint") {
      metrics_->endpoint(v.source).ready(v.ready);
    } else {
      metrics_->meter_master(v.source).ready(v.ready);
    }
  }
}

int Supervisor::run() {
  const auto started_at = std::chrono::system_clock::now();
  StatusFile status(config_.status_file, started_at, config_.instance_id);
  metrics::Metrics metrics({METERSYNC_VERSION, METERSYNC_REVISION, kafka::library_version()});
  metrics.instance(config_.instance_id);
  spdlog::info("instance {}", config_.instance_id);
  health::Readiness readiness(config_.http.stall_after);
  health::ProgressHistory history;
  // Declared before the listener, so it outlives the handlers that reach it.
  ReplayRunner replays(config_, selected_);
  std::vector<std::string> source_names;
  source_names.reserve(selected_.size());
  for (const auto* source : selected_) source_names.push_back(source->name);
  metrics_ = &metrics;
  readiness_ = &readiness;
  history_ = &history;
  // Bound first, so that an address in use stops the start before anything else runs.
  std::unique_ptr<health::Listener> listener;
  if (const auto address = config::listen_address(config_.http)) {
    listener = std::make_unique<health::Listener>(
        *address, health::Handlers{
                      .metrics = [&metrics] { return metrics.render(); },
                      .ready = [&readiness] { return readiness.ready(); },
                      .ready_body = [&readiness] { return readiness.body(); },
                      .status =
                          [this] {
                            std::lock_guard lock(status_mutex_);
                            return status_json_;
                          },
                  .operations =
                      [&, source_names] {
                        return operations_json({source_names, readiness, history, metrics.dead_letter_log(),
                                                replays, !config_.http.replay_token.empty()},
                                               std::chrono::system_clock::now());
                      },
                  .replay = [&replays](const std::string& source) { return replays.start(source); },
              },
        config_.http.replay_token);
    listener->start();
    listener_ = listener.get();
  }
  // Kafka Connect's view of each source's connector, for readiness and the metrics: only
  // where someone reads them (a listener) and Connect is known.
  std::unique_ptr<ConnectorPoller> connectors;
  if (listener && !config_.connect.url.empty()) {
    std::vector<ConnectorPoller::Watched> watched;
    for (const auto* source : selected_) {
      if (!source->connector_name.empty()) watched.push_back({source->name, source->connector_name});
    }
    if (!watched.empty()) {
      connectors = std::make_unique<ConnectorPoller>(config_.connect.url, std::move(watched), config_.connect.poll);
      connectors->start();
      connectors_ = connectors.get();
    }
  }
  struct Forget {  // the members point into this frame only while it lives
    Supervisor& s;
    ~Forget() {
      s.listener_ = nullptr, s.readiness_ = nullptr, s.history_ = nullptr, s.metrics_ = nullptr,
      s.connectors_ = nullptr;
      s.verify_ = nullptr;
    }
  } forget{*this};
  {
    std::lock_guard lock(status_mutex_);
    status_json_ = status.render({});
  }

  // Endpoint dispatchers run beside the pipelines, on threads of their own, and do not
  // wait for the sink (dispatch/dispatcher_threads.hpp); stopped when this returns.
  dispatch::DispatcherThreads dispatchers(config_, selected_, &metrics);
  dispatchers.start();
  if (!prepare_sink(status)) return 0;

  for (const auto* source : selected_) {
    pipelines_.push_back(std::make_unique<engine::Pipeline>(config_, *source));
    pipelines_.back()->export_to(&metrics.meter_master(source->name));
  }
  for (auto& pipeline : pipelines_) pipeline->start();
  spdlog::info("metersync running {} pipeline(s)", pipelines_.size());
  // Declared after the pipelines' start and destroyed before they are joined: a verify under
  // way waits for them, never the other way round.
  std::unique_ptr<PeriodicVerify> periodic;
  if (config_.verify.every.count() > 0) {
    periodic = std::make_unique<PeriodicVerify>(config_, selected_, &metrics);
    periodic->start();
    verify_ = periodic.get();
  }

  auto last_summary = Clock::now();
  int exit_code = 0;
  for (;;) {
    const int sig = wait_for_signal(std::chrono::milliseconds(1000));
    tick(status, dispatchers);
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

  verify_ = nullptr;
  periodic.reset();  // stops the periodic verify first: it only reads
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
