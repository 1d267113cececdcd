// Writes an in-flight batch: dead letters first (acknowledged), then the rows and the
// offsets they cover in one destination transaction. When the destination refuses a row
// (an Error of kind Data), the batch is bisected in Kafka order until the refused change
// is alone; it is dead-lettered (stage "sink") and everything around it is written.
//
// Committed records leave the batch as they commit; on an error the batch holds exactly
// what is still unwritten, so the caller retries it as it is.
//
// Thread: the writer thread (BatchWriter).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/destination.hpp"
#include "engine/in_flight_batch.hpp"
#include "sink/sink.hpp"

namespace metersync::engine {

// What one sink transaction covered.
struct CommitSummary {
  const sink::Batch& batch;
  const std::string& topic;  // the records' topic
  // The range's records that went to the dead-letter topic (their outcome is Rejected);
  // valid during the hook's call.
  std::vector<const InFlightRecord*> dead_letters;
  std::size_t tombstones = 0;
  std::chrono::duration<double> took{};  // the transaction, until its commit was acknowledged
  int64_t newest_timestamp_ms = -1;      // the newest Kafka timestamp of the range's records
};

class BatchCommitter {
 public:
  using CommittedHook = std::function<void(const CommitSummary&)>;

  BatchCommitter(ChangeWriter& writer, DeadLetterWriter& dead_letters, std::string pipeline,
                 std::string topic, CommittedHook committed);

  // An error is the destination's (Transient, Fatal, or Data that no bisection explains)
  // or the dead-letter topic's (stage DeadLetter); `batch` then holds the records not yet
  // committed.
  Result<void> commit(InFlightBatch& batch);

  // Called with every error the destination answers a transaction with (for the metrics).
  void on_refused(std::function<void(const Error&)> refused) { refused_ = std::move(refused); }

 private:
  Result<void> commit_all(InFlightBatch& batch);
  Result<void> deliver_dead_letters(InFlightBatch& batch, std::size_t begin, std::size_t end);
  void dead_letter_refused_change(InFlightBatch& batch, std::size_t begin, std::size_t end,
                                  const Error& refusal);
  void report(const InFlightBatch& batch, const sink::Batch& slice, std::size_t begin, std::size_t end,
              std::chrono::duration<double> took);

  ChangeWriter& writer_;
  DeadLetterWriter& dead_letters_;
  std::string pipeline_;
  std::string topic_;
  CommittedHook committed_;
  std::function<void(const Error&)> refused_;
  std::size_t done_ = 0;  // records of the current batch already committed
};

}  // namespace metersync::engine
