// What the engine calls to reach a destination that keeps its read positions in the same
// transaction as its rows, so that a batch and the offsets it covers commit together
// (exactly once). Meter Master is one (meter_master.hpp, through sink::Sink); the unit
// tests use an in-memory one.
//
// The endpoint destination (src/dispatch) is not one of these: it posts per partition,
// synchronously, and keeps its positions in the Kafka group, so it shares the record
// processor and the consumer with the engine but not the batch writer (README.md).
#pragma once

#include <memory>
#include <string>

#include "core/error.hpp"
#include "engine/in_flight_batch.hpp"
#include "sink/sink.hpp"

namespace metersync::engine {

// Errors are values (core/error.hpp): Transient while the destination is unreachable or
// the transaction was lost, Data when it refuses a row of the batch, Fatal otherwise.

// Where rows go.
class ChangeWriter {
 public:
  virtual ~ChangeWriter() = default;
  // One transaction: all of the batch (rows and offsets) or nothing.
  virtual Result<void> apply(const sink::Batch& batch) = 0;
};

// One connection to the destination, used by one thread.
class DestinationConnection : public ChangeWriter {
 public:
  // The offsets stored for (pipeline, topic); empty when it never committed.
  virtual Result<sink::Offsets> load_offsets(const std::string& pipeline, const std::string& topic) = 0;
};

class Destination {
 public:
  virtual ~Destination() = default;
  // Called from the pipeline thread and the writer thread, each for a connection of its own.
  virtual Result<std::unique_ptr<DestinationConnection>> connect() = 0;
};

// Where rejected records go (a Kafka dead-letter topic in production).
class DeadLetterWriter {
 public:
  virtual ~DeadLetterWriter() = default;
  virtual Result<void> send(const InFlightRecord& record, const Rejected& rejection) = 0;
  // Returns once everything sent is acknowledged, or with the error.
  virtual Result<void> flush() = 0;
};

}  // namespace metersync::engine
