#include "engine/pipeline.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "engine/meter_master.hpp"
#include "engine/worker.hpp"
#include "pipeline/backoff.hpp"

namespace metersync::engine {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string group_for(const config::Config& config, const config::SourceConfig& source) {
  return config.kafka.group_prefix + "-" + source.name;
}

Pipeline::Pipeline(const config::Config& config, const config::SourceConfig& source)
    : Pipeline(config, source, std::make_unique<MeterMaster>(config.sink)) {}

Pipeline::Pipeline(const config::Config& config, const config::SourceConfig& source,
                   std::unique_ptr<Destination> destination)
    : config_(config),
      source_(source),
      destination_(std::move(destination)),
      status_(source.name, source.topic, group_for(config, source)) {}

Pipeline::~Pipeline() {
  request_stop();
  join();
}

void Pipeline::start() {
  thread_ = std::thread([this] { run(); });
}

void Pipeline::request_stop() { stop_.request(); }

void Pipeline::join() {
  if (thread_.joinable()) thread_.join();
}

void Pipeline::run() {
  // An error the writer cannot retry in place (a Fatal sink error: permissions, a
  // table's columns, a Data error bisection could not pin on a row; records deleted
  // from Kafka unread) ends the Worker, not the pipeline: after a back-off a new Worker
  // reconnects and resumes from the sink's offsets, so an operator's fix (a grant, an
  // ALTER TABLE) is picked up without a restart, and the process never sits up with a
  // source that silently stopped. Each attempt is logged at error level and counted as a
  // retry in the status. Only a configuration error, which no retry can change, ends
  // the pipeline; the supervisor then exits non-zero.
  pipeline::Backoff restarts(config_.sink.retry_initial, config_.sink.retry_max);
  while (!stop_.requested()) {
    const auto started = Clock::now();
    try {
      Worker worker(config_, source_, *destination_, status_, stop_);
      worker.run();
      status_.set_state(PipelineState::Stopped);
      spdlog::info("{}: stopped", source_.name);
      break;
    } catch (const ConfigError& e) {
      status_.set_error(e.what());
      status_.set_state(PipelineState::Failed);
      spdlog::error("{}: pipeline stopped by a configuration error: {}", source_.name, e.what());
      failed_for_good_ = true;
      break;
    } catch (const std::exception& e) {
      // Worker's destructor has closed the consumer (leaving the group) by now.
      if (Clock::now() - started > 60s) restarts.reset();  // it had been running
      const auto delay = restarts.next();
      status_.set_error(e.what());
      status_.set_state(PipelineState::Failed);
      status_.add_retry();
      spdlog::error("{}: pipeline failed: {}; starting it again in {} ms (attempt {})", source_.name,
                    e.what(), delay.count(), restarts.attempts());
      if (!stop_.sleep_for(delay)) break;
      status_.restarting();
    }
  }
  finished_ = true;
}

}  // namespace metersync::engine
