#include "engine/commit_progress.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace metersync::engine {

void CommitProgress::committed(const CommitSummary& summary) {
  const sink::Batch& batch = summary.batch;
  status_.add_commit(batch.record_count, static_cast<int64_t>(batch.changes.size()),
                     static_cast<int64_t>(summary.dead_letters.size()),
                     static_cast<int64_t>(summary.tombstones), batch.next_offsets);
  {
    std::lock_guard lock(committed_mutex_);
    for (const auto& [partition, offset] : batch.next_offsets) committed_[partition] = offset;
    newest_committed_ms_ = std::max(newest_committed_ms_, summary.newest_timestamp_ms);
  }
  if (auto* m = status_.metrics()) {
    m->committed(batch.record_count, std::chrono::system_clock::now());
    m->changes_written(static_cast<int64_t>(batch.changes.size()));
    m->tombstones(static_cast<int64_t>(summary.tombstones));
    m->transaction(summary.took);
    for (const InFlightRecord* record : summary.dead_letters) {
      const auto& rejected = std::get<Rejected>(record->outcome);
      m->dead_letter({std::string(stage_name(rejected.stage)), rejected.reason, summary.topic,
                      record->partition, record->offset, 1});
    }
  }
  spdlog::debug("{}: committed {} records ({} changes, {} dead-lettered, {} tombstones)", source_,
                batch.record_count, batch.changes.size(), summary.dead_letters.size(), summary.tombstones);
}

void CommitProgress::assigned(const std::vector<int32_t>& partitions, const kafka::Offsets& stored) {
  for (int32_t p : partitions) {
    auto found = stored.find(p);
    if (found != stored.end()) {
      positions_[p] = found->second;
    } else {
      positions_.erase(p);
    }
  }
  status_.forget_partitions(positions_);
}

void CommitProgress::revoked(const std::vector<int32_t>& partitions, bool keep_status) {
  for (int32_t p : partitions) {
    positions_.erase(p);
    if (auto* m = status_.metrics()) m->forget_partition(p);
  }
  if (!keep_status) status_.forget_partitions(positions_);
}

void CommitProgress::publish(kafka::Consumer& consumer) {
  kafka::Offsets committed;
  {
    std::lock_guard lock(committed_mutex_);
    if (committed_.empty()) return;
    committed.swap(committed_);
  }
  for (const auto& [partition, offset] : committed) {
    if (consumer.assignment().contains(partition)) positions_[partition] = offset;
  }
  consumer.commit_async(committed);
}

void CommitProgress::refresh_lag(kafka::Consumer& consumer) {
  using namespace std::chrono_literals;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_lag_ < 1s) return;
  last_lag_ = now;
  status_.set_partitions(consumer.assignment());
  if (auto* m = status_.metrics()) m->assigned(consumer.assignment());
  const auto lags = consumer.partition_lag(positions_);
  std::optional<int64_t> total;
  if (lags) {
    total = 0;
    for (const auto& [partition, lag] : *lags) *total += lag;
  }
  status_.set_lag(total);
  auto* m = status_.metrics();
  if (m == nullptr || !lags) return;
  int64_t newest_ms = -1;
  {
    std::lock_guard lock(committed_mutex_);
    newest_ms = newest_committed_ms_;
  }
  m->lags(*lags, newest_ms, std::chrono::system_clock::now());
}

}  // namespace metersync::engine
