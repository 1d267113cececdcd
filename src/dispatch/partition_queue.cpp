#include "dispatch/partition_queue.hpp"

namespace metersync::dispatch {
namespace {

bool filled(const PendingBatch& batch, const BatchLimits& limits) {
  return static_cast<int>(batch.size()) >= limits.max_events || batch.body_bytes() >= limits.max_bytes;
}

}  // namespace

PartitionQueue::PartitionQueue(std::string source, int32_t partition)
    : source_(std::move(source)), partition_(partition) {}

void PartitionQueue::add(EncodedEvent event, const BatchLimits& limits, Clock::time_point now) {
  // The head is sealed once posted; a batch behind it is open until it becomes the head and
  // goes out.
  const bool back_open = !batches_.empty() && !(batches_.size() == 1 && head_sealed_) &&
                         batches_.back().fits(event, limits);
  if (!back_open) batches_.emplace_back(source_, partition_);
  batches_.back().add(std::move(event), now);
}

std::optional<int64_t> PartitionQueue::cover(int64_t offset, int64_t timestamp_ms) {
  if (batches_.empty()) return offset + 1;
  // Covering moves only the batch's next offset, never its id or body: a sealed batch may
  // take it.
  batches_.back().cover(offset, timestamp_ms);
  return std::nullopt;
}

bool PartitionQueue::ready(const BatchLimits& limits, Clock::time_point now) const {
  if (batches_.empty() || in_flight_) return false;
  if (head_sealed_) return now >= retry_at_;
  return batches_.size() > 1 || batches_.front().due(limits, now);
}

std::optional<PartitionQueue::Clock::time_point> PartitionQueue::ready_at(const BatchLimits& limits) const {
  if (batches_.empty() || in_flight_) return std::nullopt;
  if (head_sealed_) return retry_at_;
  if (batches_.size() > 1 || filled(batches_.front(), limits)) return Clock::time_point{};
  return batches_.front().deadline(limits);
}

const PendingBatch& PartitionQueue::start() {
  in_flight_ = true;
  head_sealed_ = true;
  return batches_.front();
}

int64_t PartitionQueue::settle() {
  const int64_t next = batches_.front().next_offset();
  batches_.pop_front();
  in_flight_ = false;
  head_sealed_ = false;
  attempts_ = 0;
  retry_at_ = {};
  return next;
}

void PartitionQueue::retry_at(Clock::time_point at) {
  in_flight_ = false;
  retry_at_ = at;
}

bool PartitionQueue::full(const BatchLimits& limits) const {
  return batches_.size() > 2 || (batches_.size() == 2 && filled(batches_.back(), limits));
}

}  // namespace metersync::dispatch
