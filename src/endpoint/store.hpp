// Durable storage of what the endpoint service received: embedded SQLite in WAL mode
// with synchronous=FULL, so a batch answered 2xx survives a crash of the service or
// of the machine.
//
// One connection behind a mutex: every call is short and the service is not the
// bottleneck of the pipeline; the ingest transaction and the reads never interleave.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "endpoint/received_batch.hpp"

struct sqlite3;

namespace metersync::endpoint {

struct IngestResult {
  int accepted = 0;     // events stored now
  int duplicates = 0;   // events whose id was stored before (dropped)
  bool batch_seen_before = false;  // the Idempotency-Key / batch_id was received before
  // The batch_id was accepted before with another body: nothing was stored (a forgery or a
  // replay under a reused id; the dispatcher's batch ids name their records exactly).
  bool conflicting_body = false;
};

struct StoredEvent {
  int64_t seq = 0;       // the cursor: increases with every stored event
  std::string batch_id;
  std::string received_at;
  std::string json;      // the event as sent
};

// What the overview of one source shows.
struct SourceStats {
  int64_t events = 0;
  std::string last_received_at;  // empty: nothing received yet
  int64_t duplicates = 0;        // events dropped because their id was stored before
  // Events stored in each 10-second window of the last `windows` windows, oldest first.
  std::vector<int64_t> per_window;
};

// A filter of the newest-first history pages; empty members match anything.
struct EventFilter {
  std::string op;
  std::string meter_id;
  // Received in [received_from, received_to): times in the stored form (utc_millis_of), "" for
  // no bound.
  std::string received_from;
  std::string received_to;
};

struct MeterState {
  std::string meter_id;
  int64_t seq = 0;       // the event that set it
  std::string received_at;
  std::string json;      // that event as sent (its `meter` is the latest state)
};

class Store {
 public:
  // Opens or creates the database file; throws std::runtime_error naming the path.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores the batch's new events in one transaction and commits it to disk before
  // returning. Events whose id this source already has are dropped; the meter's
  // latest state moves only forward in source position (a late replay of an old
  // change does not roll a meter back). `body_digest` (SHA-256 of the body, hex) is kept
  // with the batch_id: the same id again with another digest stores nothing and says
  // conflicting_body. Batches remembered before digests were kept compare with anything.
  IngestResult ingest(const ReceivedBatch& batch, const std::string& body_digest = "");

  std::vector<StoredEvent> history(const std::string& source, int64_t after, int limit);
  std::vector<MeterState> meters(const std::string& source, const std::string& after, int limit);
  std::optional<MeterState> meter(const std::string& source, const std::string& meter_id);
  int64_t event_count(const std::string& source);

  // Newest first, events with seq < `before` (0: from the newest) matching `filter`.
  std::vector<StoredEvent> recent(const std::string& source, int64_t before, int limit,
                                  const EventFilter& filter);
  // One meter's events, oldest first, seq > `after`.
  std::vector<StoredEvent> meter_history(const std::string& source, const std::string& meter_id,
                                         int64_t after, int limit);
  // The event of `meter_id` stored last before `seq`: the version a change replaced.
  std::optional<StoredEvent> previous_of_meter(const std::string& source,
                                               const std::string& meter_id, int64_t seq);
  // Counts for the overview; `windows` 10-second windows ending now.
  SourceStats stats(const std::string& source, int windows);
  int64_t last_seq();

  // Blocks until an event with seq > `after` is stored, `timeout` passes, or close().
  // Returns the current last seq.
  int64_t wait_beyond(int64_t after, std::chrono::milliseconds timeout);
  // Wakes every waiter for good (service shutdown).
  void close_waiters();

 private:
  void exec(const char* sql);

  std::mutex mutex_;
  std::condition_variable stored_;
  bool closing_ = false;
  int64_t last_seq_ = 0;
  sqlite3* db_ = nullptr;
};

}  // namespace metersync::endpoint
