// The changes of one Kafka partition waiting to be posted as one batch, oldest first.
//
// A batch also covers the records of its partition that produce no event (tombstones,
// records dead-lettered before mapping): once it is settled, its partition's progress
// moves to next_offset().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dispatch/event_encoder.hpp"

namespace metersync::dispatch {

struct BatchLimits {
  int max_events = 500;
  std::size_t max_bytes = 1 << 20;
  std::chrono::milliseconds linger{50};
};

class PendingBatch {
 public:
  using Clock = std::chrono::steady_clock;

  PendingBatch(std::string source, int32_t partition);

  bool empty() const { return events_.empty(); }
  std::size_t size() const { return events_.size(); }
  // The body's length if it were built now.
  std::size_t body_bytes() const;
  // False when `event` would push a non-empty batch past max_events or max_bytes:
  // post this batch first. An empty batch takes any event (one change larger than
  // max_bytes still goes out, alone).
  bool fits(const EncodedEvent& event, const BatchLimits& limits) const;
  void add(EncodedEvent event, Clock::time_point now = Clock::now());
  // A record of this partition with no event: covered by the batch.
  void cover(int64_t offset, int64_t timestamp_ms = -1);
  // Full by count or bytes, or lingered long enough.
  bool due(const BatchLimits& limits, Clock::time_point now) const;
  Clock::time_point deadline(const BatchLimits& limits) const { return first_added_ + limits.linger; }

  // "<source>-<partition>-<first offset>-<last offset>" (of its events): the id names exactly
  // the records it holds, so the same id always carries the same body, after a restart too.
  // It is the Idempotency-Key and the webhook-id; a receiver may refuse the same id with
  // another body as a forgery (docs/endpoints.md, "De-duplication").
  std::string batch_id() const;
  // {"source":..., "batch_id":..., "events":[...]} exactly as posted and signed.
  std::string body() const;
  int32_t partition() const { return partition_; }
  int64_t first_offset() const { return events_.front().offset; }
  int64_t last_offset() const { return events_.back().offset; }
  int64_t next_offset() const { return next_offset_; }
  // The newest Kafka timestamp of the records the batch holds or covers (-1: none known).
  int64_t newest_timestamp_ms() const { return newest_timestamp_ms_; }
  const std::vector<EncodedEvent>& events() const { return events_; }

  void clear();

 private:
  std::string source_;
  int32_t partition_;
  std::vector<EncodedEvent> events_;
  std::size_t event_bytes_ = 0;  // sum of event JSON lengths
  int64_t next_offset_ = -1;
  int64_t newest_timestamp_ms_ = -1;
  Clock::time_point first_added_{};
};

}  // namespace metersync::dispatch
