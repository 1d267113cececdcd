// What one pipeline reports about itself: state, counters, position, lag, last error.
//
// Written by the pipeline thread, read by the main thread (status file, summaries):
// a small mutex-guarded record, copied out as a snapshot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "metrics/metrics.hpp"

namespace metersync::engine {

enum class PipelineState {
  Starting,  // connecting to the sink and Kafka, waiting for partitions
  Running,
  Retrying,  // the last batch failed transiently; partitions paused, backing off
  Failed,    // ended by an error that retrying in place cannot clear (last_error says
             // which); the pipeline starts again after a back-off; others go on
  Stopped,   // shut down on request
};

std::string_view state_name(PipelineState state);

struct PipelineSnapshot {
  std::string source;
  std::string topic;
  std::string group;
  PipelineState state = PipelineState::Starting;
  int64_t records_consumed = 0;       // Kafka records read (a retried batch counts once)
  int64_t records_applied = 0;        // records covered by committed sink transactions
  int64_t changes_written = 0;        // Meter Master changes in those transactions
  int64_t records_dead_lettered = 0;  // acknowledged by the dead-letter topic and committed past
  int64_t tombstones_skipped = 0;
  int64_t batches_committed = 0;
  int64_t retries = 0;                // transient failures met
  std::map<int32_t, int64_t> positions;  // next offset per partition, as committed
  std::vector<int32_t> partitions;       // assigned to this instance now (refreshed each second)
  std::optional<int64_t> lag;            // records on the broker beyond `positions`
  std::string last_error;                // most recent error ("" = none yet)
  std::optional<std::chrono::system_clock::time_point> last_error_at;
  std::optional<std::chrono::system_clock::time_point> last_commit_at;
};

class PipelineStatus {
 public:
  PipelineStatus(std::string source, std::string topic, std::string group);

  // The process's metrics for this pipeline (null: none, as in the unit tests). Set before
  // the pipeline starts; every count below goes to both.
  void export_to(metrics::MeterMasterMetrics* metrics) { metrics_ = metrics; }
  metrics::MeterMasterMetrics* metrics() const { return metrics_; }

  PipelineSnapshot snapshot() const;

  // Failed stays until restarting(): a later "stopped" must not hide a failure.
  void set_state(PipelineState state);
  void restarting();  // Failed (or any) -> Starting: the pipeline starts again
  void set_error(std::string message);
  // Counts records read, one call per record, before the record reaches the writer: the
  // writer's commits can then never be counted ahead of the reads they cover. Lock-free,
  // as it runs for every record; the metric gets the same count in steps (export_consumed).
  void add_consumed(int64_t records) { consumed_.fetch_add(records, std::memory_order_relaxed); }
  void export_consumed(int64_t records);
  void add_retry();
  void add_commit(int64_t records, int64_t changes, int64_t dead_lettered, int64_t tombstones,
                  const std::map<int32_t, int64_t>& next_offsets);
  void set_lag(std::optional<int64_t> lag);
  void set_partitions(const std::set<int32_t>& assigned);
  // Partitions no longer ours leave the reported positions.
  void forget_partitions(const std::map<int32_t, int64_t>& keep);

 private:
  mutable std::mutex mutex_;
  PipelineSnapshot data_;  // records_consumed is filled from consumed_ in snapshot()
  std::atomic<int64_t> consumed_{0};
  metrics::MeterMasterMetrics* metrics_ = nullptr;
};

}  // namespace metersync::engine
