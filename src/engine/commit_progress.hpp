// What the pipeline knows of its partitions' progress: the next offset of each assigned
// partition (for the lag and the status) and the commits the writer thread made that the
// pipeline thread has not yet handed to Kafka.
//
// The destination's stored offsets are the truth; the group's committed offsets are
// written for lag tools only. The writer thread reports each commit (committed()); the
// pipeline thread, which owns the consumer, publishes them (publish()).
//
// Thread: committed() on the writer thread; everything else on the pipeline thread.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "engine/batch_committer.hpp"
#include "engine/pipeline_status.hpp"
#include "kafka/consumer.hpp"

namespace metersync::engine {

class CommitProgress {
 public:
  CommitProgress(std::string source, PipelineStatus& status)
      : source_(std::move(source)), status_(status) {}

  // Writer thread: the status counts the transaction, its offsets wait for publish().
  void committed(const CommitSummary& summary);

  // Positions of newly assigned partitions, from the stored offsets (a partition with none
  // stored has no known position until its first commit).
  void assigned(const std::vector<int32_t>& partitions, const kafka::Offsets& stored);
  // `keep_status`: on shutdown the status keeps showing where the pipeline stopped.
  void revoked(const std::vector<int32_t>& partitions, bool keep_status);
  // Hands the writer's commits to Kafka (without waiting) and moves the positions.
  void publish(kafka::Consumer& consumer);
  // At most once a second, from librdkafka's cached watermarks: no broker round trip.
  void refresh_lag(kafka::Consumer& consumer);

 private:
  std::string source_;
  PipelineStatus& status_;
  kafka::Offsets positions_;  // next offset per assigned partition, when known
  std::mutex committed_mutex_;
  kafka::Offsets committed_;  // written by the writer thread, not yet published
  int64_t newest_committed_ms_ = -1;  // Kafka timestamp of the newest committed record
  std::chrono::steady_clock::time_point last_lag_{};
};

}  // namespace metersync::engine
