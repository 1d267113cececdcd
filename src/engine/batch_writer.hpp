// A pipeline's writer thread: it owns the batch being written and at most one batch
// being filled, so the pipeline thread fetches, decodes and maps the next records while
// the current ones are written (the two costs overlap instead of adding up).
//
// Hand-over: the pipeline thread add()s records to the queued batch while it has room
// (sink.max_batch_events records, and sink.max_batch_bytes of held records). The
// writer takes the whole queued batch as soon as it is free and the batch is ready:
// full, or sink.max_batch_wait old. A busy writer thus makes the next batch larger,
// never later than needed; memory stays bounded by two batches whatever the events'
// size.
//
// Writing goes through BatchCommitter (dead letters acknowledged first, rows + offsets
// in one transaction, bisection). A transient failure (sink or dead-letter topic) keeps
// the unwritten records and retries them after a backoff (retrying() is true meanwhile,
// so the pipeline pauses its partitions once the queued batch is full). A fatal one
// ends the writer with failure() set.
//
// Revocation: revoke() drops the revoked partitions' records from the queued batch,
// waits for a write in progress to end, then drops them from the written batch too:
// once it returns, no transaction covering those partitions can start or commit.
//
// Threads: add/has_room/wait_for_room/revoke/failure/retrying from the pipeline thread;
// the committer and its hooks run on the writer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "pipeline/backoff.hpp"
#include "engine/batch_committer.hpp"
#include "engine/in_flight_batch.hpp"

namespace metersync::engine {

class BatchWriter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Settings {
    std::size_t max_batch_events = 5000;
    // Bytes held per batch (in_flight_batch.hpp's held_bytes(): the record, its retained
    // key and value, its change): sink.max_batch_bytes. Two batches are held: 10 MiB keeps
    // them near 20 MiB.
    std::size_t max_batch_bytes = 10u << 20;
    std::chrono::milliseconds max_batch_wait{0};
    std::chrono::milliseconds retry_initial{200};
    std::chrono::milliseconds retry_max{10000};

    // The sink's keys: sink.max_batch_events, max_batch_bytes, max_batch_wait_ms and the
    // retry back-off.
    static Settings from(const config::SinkConfig& sink);
  };

  // All run on the writer thread.
  struct Hooks {
    std::function<void(const std::string& message)> transient_failure;  // before backing off
    std::function<void()> recovered;  // the first write that succeeds after a transient failure
    // Timing of each write (records, time the batch waited to be taken, time writing).
    std::function<void(std::size_t records, Clock::duration queued, Clock::duration writing)> written;
  };

  BatchWriter(BatchCommitter& committer, Settings settings, Hooks hooks);
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  void start();
  // Abandons the unwritten records (a transaction in progress ends first) and joins.
  void stop();

  bool has_room() const;
  // Precondition: has_room().
  void add(InFlightRecord record);
  // Returns once there is room, the writer has failed, or after `timeout`.
  bool wait_for_room(std::chrono::milliseconds timeout);
  // Returns once the writer holds nothing (every record added so far is written), it
  // has failed, or after `timeout`.
  bool wait_until_idle(std::chrono::milliseconds timeout);

  // Drops these partitions' records (see above); returns how many were dropped.
  std::size_t revoke(const std::vector<int32_t>& partitions);

  // The last write failed transiently and its records wait for the next attempt.
  bool retrying() const;
  std::optional<std::string> failure() const;
  // Records added and not yet written.
  std::size_t unwritten() const;

 private:
  enum class Written { Yes, Transient, Fatal };
  void run();
  Written write_current(std::string& message);
  bool ready(Clock::time_point now) const;
  bool full() const;
  static std::size_t bytes_of(const InFlightRecord& record);

  BatchCommitter& committer_;
  const Settings settings_;
  Hooks hooks_;
  pipeline::Backoff backoff_;

  mutable std::mutex mutex_;
  std::condition_variable writer_wake_;   // the writer: a batch is ready, revoke, stop
  std::condition_variable changed_;       // the pipeline: room, a write ended, failure
  InFlightBatch queued_;                  // being filled by the pipeline thread
  Clock::time_point queued_since_{};      // when queued_'s first record came
  std::size_t queued_bytes_ = 0;          // held bytes of queued_
  InFlightBatch current_;                 // being written (touched unlocked while writing_)
  Clock::time_point current_since_{};
  bool writing_ = false;
  std::size_t writing_records_ = 0;  // current_.size() when the write in progress began
  bool retrying_ = false;
  bool stop_ = false;
  int revokers_ = 0;  // revoke() calls waiting for the write in progress
  std::optional<std::string> failure_;
  std::thread thread_;
};

}  // namespace metersync::engine
