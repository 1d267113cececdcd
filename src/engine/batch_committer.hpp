// Writes an in-flight batch: dead letters first (acknowledged), then the rows and the
// offsets they cover in one sink transaction. When the sink rejects a row (SinkError
// Data), the batch is bisected in Kafka order until the rejected change is alone; it
// is dead-lettered (stage "sink") and everything around it is written.
//
// Committed records leave the batch as they commit; on an exception the batch holds
// exactly what is still unwritten, so the caller retries it as it is.
//
// Thread: the writer thread (BatchWriter).
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <stdexcept>
#include <string>

#include "engine/destination.hpp"
#include "engine/in_flight_batch.hpp"
#include "kafka/error_classifier.hpp"
#include "sink/sink.hpp"

namespace metersync::engine {

// The dead-letter topic did not acknowledge: nothing past those records is committed.
class DeadLetterError : public std::runtime_error {
 public:
  explicit DeadLetterError(kafka::KafkaError error)
      : std::runtime_error("dead-letter topic: " + error.describe()), error_(std::move(error)) {}
  const kafka::KafkaError& error() const { return error_; }

 private:
  kafka::KafkaError error_;
};

// What one sink transaction covered.
struct CommitSummary {
  const sink::Batch& batch;
  std::size_t dead_lettered = 0;  // records of the range that went to the dead-letter topic
  std::size_t tombstones = 0;
};

class BatchCommitter {
 public:
  using CommittedHook = std::function<void(const CommitSummary&)>;

  BatchCommitter(ChangeWriter& writer, DeadLetterWriter& dead_letters, std::string pipeline,
                 std::string topic, CommittedHook committed);

  // Throws sink::SinkError (Transient, Fatal, or Data that no bisection explains) or
  // DeadLetterError; `batch` then holds the records not yet committed.
  void commit(InFlightBatch& batch);

 private:
  void deliver_dead_letters(InFlightBatch& batch, std::size_t begin, std::size_t end);
  void commit_range(InFlightBatch& batch, std::size_t begin, std::size_t end);

  ChangeWriter& writer_;
  DeadLetterWriter& dead_letters_;
  std::string pipeline_;
  std::string topic_;
  CommittedHook committed_;
  std::size_t done_ = 0;  // records of the current batch already committed
};

}  // namespace metersync::engine
