// Delivers every change of one source to that source's HTTP endpoint.
//
// Owns, for one source: a Kafka consumer in its own group (<group_prefix>-<source>-endpoint),
// a pipeline::RecordProcessor (the Meter Master pipeline's decisions: a record one side
// dead-letters, the other does too), one queue of batches per partition, a pool of posting
// threads (one HttpSender each: a libcurl handle, connection reused) and an endpoint
// dead-letter producer. Runs on one thread of its own (and its pool's), so a slow or failing
// endpoint holds back nothing but itself.
//
// Order and progress: records are batched per partition in Kafka order
// (partition_queue.hpp); a batch is posted only after the previous batch of its partition
// was delivered or dead-lettered, while the heads of different partitions are posted
// together, up to endpoint.max_in_flight (post_pool.hpp). Offsets are committed only for
// settled batches, without waiting (at most every 100 ms) while running and waited for at a
// revoke and at stop: at-least-once, and a receiver drops repeats by event id. After
// endpoint.breaker_failures failed posts in a row the endpoint is unavailable
// (circuit_breaker.hpp): fetching pauses, one probe at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dispatch/event_encoder.hpp"
#include "metrics/metrics.hpp"

namespace metersync::dispatch {

// A set of partition ids written by the dispatcher thread and read by anyone.
class AssignedPartitions {
 public:
  void set(const std::set<int32_t>& assigned) {
    std::lock_guard lock(mutex_);
    partitions_.assign(assigned.begin(), assigned.end());
  }
  std::vector<int32_t> get() const {
    std::lock_guard lock(mutex_);
    return partitions_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<int32_t> partitions_;
};

// Counters for status output; written by the dispatcher thread, read by anyone.
struct DispatchStats {
  std::atomic<int64_t> records{0};             // Kafka records consumed
  std::atomic<int64_t> events_delivered{0};    // events in batches answered 2xx
  std::atomic<int64_t> batches_delivered{0};
  std::atomic<int64_t> batches_dead_lettered{0};
  std::atomic<int64_t> records_dead_lettered{0};  // records dead-lettered by the processor (decode, map)
  std::atomic<int64_t> failed_attempts{0};     // posts retried
  // Readiness: records whose progress is settled (delivered, dead-lettered, skipped), whether
  // the batch being posted has failed its last attempt, and that attempt's HTTP status (0:
  // no answer).
  std::atomic<int64_t> records_settled{0};
  std::atomic<bool> failing{false};
  std::atomic<long> last_status{0};
  // Records on the broker after the settled position, over the assigned partitions (so
  // also those read and not settled); -1 while unknown. Refreshed every second.
  std::atomic<int64_t> lag{-1};
  // The circuit breaker (circuit_breaker.hpp): open since when (Unix ms), and the failed
  // posts in a row when it last changed.
  std::atomic<bool> circuit_open{false};
  std::atomic<int64_t> circuit_opened_at_ms{0};
  std::atomic<int> failures_in_a_row{0};
  // The partitions assigned to this instance, refreshed once a second (status, metrics).
  AssignedPartitions partitions;
};

// The consumer group of a source's dispatcher.
std::string endpoint_group(const config::Config& config, const config::SourceConfig& source);

struct SenderSettings;
struct RetrySettings;
SenderSettings sender_settings(const config::EndpointConfig& endpoint);
RetrySettings retry_settings(const config::EndpointConfig& endpoint);

class Dispatcher {
 public:
  // Checks the configuration (source must have an endpoint); throws ConfigError.
  Dispatcher(const config::Config& config, const config::SourceConfig& source,
             metrics::EndpointMetrics* metrics = nullptr);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Runs until `stopping` is set. Unsettled batches are abandoned at stop (sent again
  // after the restart, with the same ids). Throws on a fatal Kafka error.
  void run(const std::atomic<bool>& stopping);

  const DispatchStats& stats() const { return stats_; }
  const std::string& source() const { return source_.name; }

 private:
  class Loop;
  config::Config config_;
  config::SourceConfig source_;
  DispatchStats stats_;
  metrics::EndpointMetrics* metrics_;  // null: not exported (tests, replay)
};

}  // namespace metersync::dispatch
