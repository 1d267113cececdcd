#include "engine/pipeline_status.hpp"

namespace metersync::engine {

std::string_view state_name(PipelineState state) {
  switch (state) {
    case PipelineState::Starting: return "starting";
    case PipelineState::Running: return "running";
    case PipelineState::Retrying: return "retrying";
    case PipelineState::Failed: return "failed";
    case PipelineState::Stopped: return "stopped";
  }
  return "unknown";
}

PipelineStatus::PipelineStatus(std::string source, std::string topic, std::string group) {
  data_.source = std::move(source);
  data_.topic = std::move(topic);
  data_.group = std::move(group);
}

PipelineSnapshot PipelineStatus::snapshot() const {
  PipelineSnapshot copy;
  {
    std::lock_guard lock(mutex_);
    copy = data_;
  }
  // Read after the applied count: every record a counted commit covers was counted here
  // before the writer got it, so the snapshot shows consumed >= applied.
  copy.records_consumed = consumed_.load(std::memory_order_relaxed);
  return copy;
}

void PipelineStatus::set_state(PipelineState state) {
  std::lock_guard lock(mutex_);
  // A failure is final: a later "stopped" must not hide it.
  if (data_.state == PipelineState::Failed) return;
  data_.state = state;
}

void PipelineStatus::restarting() {
  std::lock_guard lock(mutex_);
  data_.state = PipelineState::Starting;
}

void PipelineStatus::set_error(std::string message) {
  std::lock_guard lock(mutex_);
  data_.last_error = std::move(message);
  data_.last_error_at = std::chrono::system_clock::now();
}

void PipelineStatus::export_consumed(int64_t records) {
  if (metrics_ != nullptr) metrics_->consumed(records);
}

void PipelineStatus::add_retry() {
  std::lock_guard lock(mutex_);
  ++data_.retries;
  if (metrics_ != nullptr) metrics_->retry();
}

void PipelineStatus::add_commit(int64_t records, int64_t changes, int64_t dead_lettered,
                                int64_t tombstones, const std::map<int32_t, int64_t>& next_offsets) {
  std::lock_guard lock(mutex_);
  data_.records_applied += records;
  data_.changes_written += changes;
  data_.records_dead_lettered += dead_lettered;
  data_.tombstones_skipped += tombstones;
  ++data_.batches_committed;
  for (const auto& [partition, offset] : next_offsets) data_.positions[partition] = offset;
  data_.last_commit_at = std::chrono::system_clock::now();
}

void PipelineStatus::set_lag(std::optional<int64_t> lag) {
  std::lock_guard lock(mutex_);
  data_.lag = lag;
}

void PipelineStatus::set_partitions(const std::set<int32_t>& assigned) {
  std::lock_guard lock(mutex_);
  data_.partitions.assign(assigned.begin(), assigned.end());
}

void PipelineStatus::forget_partitions(const std::map<int32_t, int64_t>& keep) {
  std::lock_guard lock(mutex_);
  data_.positions = keep;
}

}  // namespace metersync::engine
