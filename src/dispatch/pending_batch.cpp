#include "dispatch/pending_batch.hpp"

#include <algorithm>

#include "dispatch/event_encoder.hpp"
#include "wire/contract.hpp"

namespace metersync::dispatch {

PendingBatch::PendingBatch(std::string source, int32_t partition)
    : source_(std::move(source)), partition_(partition) {}

std::size_t PendingBatch::body_bytes() const {
  // {"source":"<s>","batch_id":"<id>","events":[e1,e2]}
  const std::size_t frame = 39 + source_.size() + (empty() ? 0 : batch_id().size());
  return frame + event_bytes_ + (events_.empty() ? 0 : events_.size() - 1);
}

bool PendingBatch::fits(const EncodedEvent& event, const BatchLimits& limits) const {
  if (empty()) return true;
  if (static_cast<int>(events_.size()) + 1 > limits.max_events) return false;
  // The id names the last event's offset, so it grows by the new offset's extra digits.
  const std::size_t id_growth = std::to_string(event.offset).size() -
                                std::min(std::to_string(events_.back().offset).size(),
                                         std::to_string(event.offset).size());
  return body_bytes() + 1 + event.json.size() + id_growth <= limits.max_bytes;
}

void PendingBatch::add(EncodedEvent event, Clock::time_point now) {
  if (events_.empty()) first_added_ = now;
  next_offset_ = std::max(next_offset_, event.offset + 1);
  newest_timestamp_ms_ = std::max(newest_timestamp_ms_, event.timestamp_ms);
  event_bytes_ += event.json.size();
  events_.push_back(std::move(event));
}

void PendingBatch::cover(int64_t offset, int64_t timestamp_ms) {
  next_offset_ = std::max(next_offset_, offset + 1);
  newest_timestamp_ms_ = std::max(newest_timestamp_ms_, timestamp_ms);
}

bool PendingBatch::due(const BatchLimits& limits, Clock::time_point now) const {
  if (empty()) return false;
  return static_cast<int>(events_.size()) >= limits.max_events ||
         body_bytes() >= limits.max_bytes || now >= deadline(limits);
}

std::string PendingBatch::batch_id() const {
  if (events_.empty()) return source_ + "-" + std::to_string(partition_) + "-" + std::to_string(next_offset_);
  return source_ + "-" + std::to_string(partition_) + "-" + std::to_string(events_.front().offset) +
         "-" + std::to_string(events_.back().offset);
}

std::string PendingBatch::body() const {
  std::string body;
  body.reserve(body_bytes());
  namespace field = wire::batch_field;
  body += "{" + json_string(field::kSource) + ":" + json_string(source_) + "," + json_string(field::kBatchId) +
          ":" + json_string(batch_id()) + "," + json_string(field::kEvents) + ":[";
  for (std::size_t i = 0; i < events_.size(); ++i) {
    if (i > 0) body += ',';
    body += events_[i].json;
  }
  body += "]}";
  return body;
}

void PendingBatch::clear() {
  events_.clear();
  event_bytes_ = 0;
  next_offset_ = -1;
  newest_timestamp_ms_ = -1;
}

}  // namespace metersync::dispatch
