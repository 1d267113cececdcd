// The dispatchers of `metersync run`: one thread per selected source that has an
// endpoint, beside (and independent of) the Meter Master pipelines.
//
// A dispatcher that fails at runtime (Kafka unreachable for good, ...) is logged,
// shown in snapshot(), and started again after a pause: the other sources' pipelines
// and dispatchers keep going.
//
// Thread: constructed, started, stopped and read from the supervisor's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"

namespace metersync::dispatch {

struct DispatcherSnapshot {
  std::string source;
  std::string endpoint_url;
  int64_t records = 0;
  int64_t events_delivered = 0;
  int64_t batches_delivered = 0;
  int64_t batches_dead_lettered = 0;
  int64_t records_dead_lettered = 0;
  int64_t failed_attempts = 0;
  std::string last_error;  // of the last failed run; empty when none
  // For readiness (health::Observation).
  int64_t records_settled = 0;
  bool failing = false;     // the batch being posted failed its last attempt
  long last_status = 0;     // that attempt's HTTP status, 0 when no answer came
  std::optional<int64_t> lag{};  // records after the settled position; nullopt while unknown
  bool stopped_by_error = false;  // the last run ended with an error; a new one starts after a pause
  // The circuit breaker: open (endpoint unavailable) since when, after how many failed posts.
  std::optional<std::chrono::system_clock::time_point> unavailable_since{};
  int failures_in_a_row = 0;
  std::string group{};              // the endpoint's consumer group
  std::vector<int32_t> partitions{};  // assigned to this instance now
};

class DispatcherThreads {
 public:
  // Builds a Dispatcher for each of `sources` with an endpoint (others are skipped).
  // Throws ConfigError.
  DispatcherThreads(const config::Config& config,
                    const std::vector<const config::SourceConfig*>& sources,
                    metrics::Metrics* metrics = nullptr);
  ~DispatcherThreads();  // stop()
  DispatcherThreads(const DispatcherThreads&) = delete;
  DispatcherThreads& operator=(const DispatcherThreads&) = delete;

  void start();
  // Asks every dispatcher to stop and joins the threads. Idempotent.
  void stop();
  std::size_t size() const { return workers_.size(); }
  std::vector<DispatcherSnapshot> snapshot() const;

 private:
  struct Worker {
    std::unique_ptr<Dispatcher> dispatcher;
    std::string url;
    std::string group;
    std::thread thread;
    mutable std::mutex mutex;
    std::string last_error;
    bool stopped_by_error = false;
  };
  void work(Worker& worker);

  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace metersync::dispatch
