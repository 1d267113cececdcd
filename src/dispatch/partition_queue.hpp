// The batches of one Kafka partition on their way to the endpoint, oldest first: the head
// is posted (or waits for its retry), the batches behind it fill meanwhile. Only the head
// is ever posted, and only when no post of it is in flight, so one partition never has two
// posts in flight and its batches settle in Kafka order, while other partitions' heads go
// out beside it (the dispatcher's pool).
//
// A batch once posted is sealed: nothing is added to it, so every retry carries the same
// batch id and body. A record without an event is covered by the last batch (its offset
// commits with it) or, with nothing queued, settles at once.
//
// Memory: the queue is full (the dispatcher pauses the partition's fetch, the rest stays on
// Kafka) once a full batch waits behind the head; at most the head, that batch and the
// records already fetched are held.
//
// Thread: the dispatcher's.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "dispatch/pending_batch.hpp"

namespace metersync::dispatch {

class PartitionQueue {
 public:
  using Clock = std::chrono::steady_clock;

  PartitionQueue(std::string source, int32_t partition);

  void add(EncodedEvent event, const BatchLimits& limits, Clock::time_point now);
  // A record of this partition with no event. Returns the offset to commit when nothing is
  // queued (the record settles at once), else nullopt (it settles with the last batch).
  std::optional<int64_t> cover(int64_t offset, int64_t timestamp_ms = -1);

  // The head may be posted now: not in flight, not waiting for a retry, and due (full,
  // lingered, or followed by another batch, which is already sealed off from it).
  bool ready(const BatchLimits& limits, Clock::time_point now) const;
  // When the head becomes ready if nothing else happens (for the poll timeout); nullopt
  // when empty or in flight.
  std::optional<Clock::time_point> ready_at(const BatchLimits& limits) const;
  // Seals the head and marks it in flight; the caller posts it.
  const PendingBatch& start();
  bool in_flight() const { return in_flight_; }
  const PendingBatch& head() const { return batches_.front(); }
  bool empty() const { return batches_.empty(); }
  std::size_t batches() const { return batches_.size(); }

  // The head's post ended. settle(): delivered or dead-lettered, the head leaves; returns
  // the partition's next offset to commit. retry_at(): posted again at `at` at the earliest.
  // abandon(): no longer in flight, not judged (stop, revoke).
  int64_t settle();
  void retry_at(Clock::time_point at);
  void abandon() { in_flight_ = false; }
  // Failed attempts of the head counted against max_attempts.
  int attempts() const { return attempts_; }
  int count_attempt() { return ++attempts_; }

  // Whether fetching this partition should pause (see above).
  bool full(const BatchLimits& limits) const;

 private:
  std::string source_;
  int32_t partition_;
  std::deque<PendingBatch> batches_;
  bool in_flight_ = false;
  bool head_sealed_ = false;
  int attempts_ = 0;
  Clock::time_point retry_at_{};
};

}  // namespace metersync::dispatch
