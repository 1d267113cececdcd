#include "dispatch/dispatcher_threads.hpp"

#include <spdlog/spdlog.h>

#include "pipeline/backoff.hpp"

namespace metersync::dispatch {

DispatcherThreads::DispatcherThreads(const config::Config& config,
                                     const std::vector<const config::SourceConfig*>& sources,
                                     metrics::Metrics* metrics) {
  for (const auto* source : sources) {
    if (!source->endpoint) continue;
    auto worker = std::make_unique<Worker>();
    worker->dispatcher = std::make_unique<Dispatcher>(
        config, *source, metrics != nullptr ? &metrics->endpoint(source->name) : nullptr);
    worker->url = source->endpoint->url;
    worker->group = endpoint_group(config, *source);
    workers_.push_back(std::move(worker));
  }
}

DispatcherThreads::~DispatcherThreads() { stop(); }

void DispatcherThreads::start() {
  for (auto& worker : workers_) {
    if (!worker->thread.joinable()) worker->thread = std::thread([this, w = worker.get()] { work(*w); });
  }
}

void DispatcherThreads::stop() {
  stopping_ = true;
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void DispatcherThreads::work(Worker& worker) {
  using namespace std::chrono_literals;
  pipeline::Backoff pauses(1s, 30s);
  std::chrono::milliseconds pause{0};
  while (!stopping_) {
    try {
      {
        std::lock_guard lock(worker.mutex);
        worker.stopped_by_error = false;
      }
      worker.dispatcher->run(stopping_);
      return;
    } catch (const std::exception& e) {
      pause = pauses.next();
      spdlog::error("dispatch [{}]: stopped: {}; starting again in {} ms", worker.dispatcher->source(),
                    e.what(), pause.count());
      std::lock_guard lock(worker.mutex);
      worker.last_error = e.what();
      worker.stopped_by_error = true;
    }
    for (auto until = std::chrono::steady_clock::now() + pause;
         !stopping_ && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(100ms);
    }
  }
}

std::vector<DispatcherSnapshot> DispatcherThreads::snapshot() const {
  std::vector<DispatcherSnapshot> out;
  for (const auto& worker : workers_) {
    const DispatchStats& s = worker->dispatcher->stats();
    DispatcherSnapshot snap{worker->dispatcher->source(), worker->url, s.records.load(),
                            s.events_delivered.load(), s.batches_delivered.load(),
                            s.batches_dead_lettered.load(), s.records_dead_lettered.load(),
                            s.failed_attempts.load(), {}};
    snap.records_settled = s.records_settled.load();
    snap.failing = s.failing.load();
    snap.last_status = s.last_status.load();
    if (const int64_t lag = s.lag.load(); lag >= 0) snap.lag = lag;
    if (s.circuit_open.load()) {
      snap.unavailable_since = std::chrono::system_clock::time_point(
          std::chrono::milliseconds(s.circuit_opened_at_ms.load()));
    }
    snap.failures_in_a_row = s.failures_in_a_row.load();
    snap.partitions = s.partitions.get();
    snap.group = worker->group;
    std::lock_guard lock(worker->mutex);
    snap.last_error = worker->last_error;
    snap.stopped_by_error = worker->stopped_by_error;
    out.push_back(std::move(snap));
  }
  return out;
}

}  // namespace metersync::dispatch
