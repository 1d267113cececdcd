// What the engine calls to reach a destination that keeps its read positions in the same
// transaction as its rows, so that a batch and the offsets it covers commit together
// (exactly once). Meter Master is one (meter_master.hpp, through sink::Sink); the unit
// tests use an in-memory one.
//
// The endpoint destination (src/dispatch) is not one of these: it posts per partition,
// synchronously, and keeps its positions in the Kafka group, so it shares the record
// processor and the consumer with the engine but not the batch writer (README.md).
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "engine/in_flight_batch.hpp"
#include "kafka/error_classifier.hpp"
#include "sink/sink.hpp"

namespace metersync::engine {

// Where rows go.
class ChangeWriter {
 public:
  virtual ~ChangeWriter() = default;
  // One transaction: all of the batch (rows and offsets) or nothing; throws sink::SinkError.
  virtual void apply(const sink::Batch& batch) = 0;
};

// One connection to the destination, used by one thread.
class DestinationConnection : public ChangeWriter {
 public:
  // The offsets stored for (pipeline, topic); empty when it never committed. Throws
  // sink::SinkError.
  virtual sink::Offsets load_offsets(const std::string& pipeline, const std::string& topic) = 0;
};

class Destination {
 public:
  virtual ~Destination() = default;
  // Throws sink::SinkError (Transient while the destination is unreachable). Called from
  // the pipeline thread and the writer thread, each for a connection of its own.
  virtual std::unique_ptr<DestinationConnection> connect() = 0;
};

// Where rejected records go (a Kafka dead-letter topic in production).
class DeadLetterWriter {
 public:
  virtual ~DeadLetterWriter() = default;
  virtual std::expected<void, kafka::KafkaError> send(const InFlightRecord& record,
                                                      const Rejected& rejection) = 0;
  // Returns once everything sent is acknowledged, or with the error.
  virtual std::expected<void, kafka::KafkaError> flush() = 0;
};

}  // namespace metersync::engine
