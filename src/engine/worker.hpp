// One run of a source's pipeline, from joining the consumer group to leaving it: the
// pipeline thread's loop and the writer thread beside it.
//
// The pipeline thread polls, turns each record into an in-flight record (RecordIntake)
// and hands it to the writer (BatchWriter), which commits the batch before it meanwhile.
// Flow: while the queued batch is full the thread waits for the writer; while the writer
// is also backing off (destination down), it pauses the partitions and keeps polling so the
// group keeps it, holding what was already fetched in `carry_` until there is room.
//
// Rebalance: on revocation (inside poll()) the revoked partitions' unwritten records are
// dropped, from the carry, the queued batch and, once a transaction in progress ended,
// the batch being written; the next owner reads them again from the stored offsets.
//
// A run ends by stop() (its unwritten records abandoned: they are read again after a
// restart) or by an exception for what no retry in place can clear (a fatal destination
// or Kafka error); Pipeline then starts a new run after a back-off.
//
// Thread: constructed, run and destroyed on the pipeline thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/batch_committer.hpp"
#include "engine/batch_writer.hpp"
#include "engine/commit_progress.hpp"
#include "engine/destination.hpp"
#include "engine/kafka_dead_letters.hpp"
#include "engine/pipeline_status.hpp"
#include "engine/reconnecting_writer.hpp"
#include "engine/record_intake.hpp"
#include "engine/starting_offsets.hpp"
#include "engine/stop_signal.hpp"
#include "kafka/consumer.hpp"

namespace metersync::engine {

class Worker {
 public:
  Worker(const config::Config& config, const config::SourceConfig& source, Destination& destination,
         PipelineStatus& status, const StopSignal& stop);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Returns when stopped; throws for a failure that ends this run.
  void run();

 private:
  void shutdown();
  BatchWriter::Hooks writer_hooks();
  void note_retry(const std::string& message, int attempt);
  void raise_if_failed();
  std::optional<kafka::Offsets> starting_offsets(const std::vector<int32_t>& partitions);
  void revoking(const std::vector<int32_t>& partitions);
  void step();
  void poll_into_carry(std::chrono::milliseconds timeout);
  void flush_consumed();
  void handle_kafka_error(const Error& error);

  const config::Config& config_;
  const config::SourceConfig& source_;
  PipelineStatus& status_;
  const StopSignal& stop_;
  std::string group_;
  RecordIntake intake_;
  StartingOffsets starting_offsets_;  // this thread's connection
  ReconnectingWriter writer_connection_;  // the writer thread's
  KafkaDeadLetters dead_letters_;
  CommitProgress progress_;
  BatchCommitter committer_;
  int64_t consumed_ = 0;  // read since the metric was last fed (the status counts each read)
  std::chrono::steady_clock::time_point last_kafka_warning_{};
  // Declared after what its thread uses; shutdown() stops it before the consumer closes.
  BatchWriter writer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::deque<kafka::Message> carry_;  // fetched while paused, waiting for room
};

}  // namespace metersync::engine
