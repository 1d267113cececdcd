// One source's pipeline: its own threads, Kafka consumer (group <group_prefix>-<source>),
// decoder, mapper, sink connection and dead-letter producer. Nothing is shared with
// other pipelines, so a lagging, failing or poisoned source never holds back another.
//
// The pipeline thread reads and hands each record to the source's
// pipeline::RecordProcessor (decode, table check, map: the same decisions as the endpoint
// dispatcher's); tombstones are counted and covered; failures become dead letters with
// their reason (stage decode / map). Records go to
// the queued batch of the writer thread (BatchWriter), which commits the batch before
// it meanwhile through BatchCommitter (dead letters acknowledged first, rows + offsets
// in one transaction, rows the sink rejects isolated by bisection and dead-lettered
// with stage sink).
//
// Events of another table than the topic's (by Debezium's default topic naming
// `<source>.<...>.<table>`) are dead-lettered at stage map, never written or dropped.
//
// Failures: a transient sink or dead-letter error makes the writer back off
// (sink.retry_initial_ms .. sink.retry_max_ms, with jitter), reconnect and retry the
// same unwritten records (the partitions are paused once the next batch is full): the
// stored offsets never pass an unwritten row. A fatal error (schema, permissions,
// records deleted from Kafka unread) puts this pipeline in `failed` with the message in
// its status and starts it again after a back-off (sink.retry_initial_ms ..
// sink.retry_max_ms), resuming from the sink's offsets; the others go on. Only a
// configuration error ends it for good (failed_for_good()).
//
// The run itself (threads, flow, rebalance) is Worker's (worker.hpp); this class restarts
// it.
//
// Stop: request_stop() abandons the unwritten batches once a transaction in progress
// ends (they are read again after restart: offsets live with the rows), leaves the
// consumer group and ends the threads.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "engine/destination.hpp"
#include "engine/pipeline_status.hpp"
#include "engine/stop_signal.hpp"

namespace metersync::engine {

class Pipeline {
 public:
  // Writes into Meter Master (config.sink).
  Pipeline(const config::Config& config, const config::SourceConfig& source);
  // Writes into `destination` (the unit tests' in-memory one).
  Pipeline(const config::Config& config, const config::SourceConfig& source,
           std::unique_ptr<Destination> destination);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Counts go to `metrics` too (before start()).
  void export_to(metrics::MeterMasterMetrics* metrics) { status_.export_to(metrics); }
  void start();
  void request_stop();
  void join();
  // The thread has ended (stopped, or failed for good).
  bool finished() const { return finished_; }
  // Ended by an error no restart can clear (configuration); the process should exit.
  bool failed_for_good() const { return failed_for_good_; }

  const std::string& source() const { return source_.name; }
  PipelineSnapshot snapshot() const { return status_.snapshot(); }

 private:
  void run();

  const config::Config& config_;
  const config::SourceConfig& source_;
  std::unique_ptr<Destination> destination_;
  PipelineStatus status_;
  StopSignal stop_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> failed_for_good_{false};
  std::thread thread_;
};

// Consumer group (and the destination's pipeline identity) of a source: "<group_prefix>-<source>".
std::string group_for(const config::Config& config, const config::SourceConfig& source);

}  // namespace metersync::engine
