// A Kafka consumer for one topic in one consumer group: the one consumer of metersync
// (the Meter Master pipelines, the endpoint dispatchers and replay), so there is one
// rebalance implementation and every reader gets the stalled-fetch restart.
//
// Positions come from a pluggable store (Hooks::starting_offsets), asked on every
// assignment:
//   - Meter Master: the sink database holds the truth (offsets written in the same
//     transaction as the rows); a partition without a stored offset starts at the
//     beginning of the topic, a stored offset no longer on the topic is a fatal error
//     (auto.offset.reset=error). Kafka's committed offsets are written for lag tools only.
//   - an endpoint (no starting_offsets): the group's committed offsets are the store,
//     committed after settlement (commit / commit_async); a new group starts at the
//     beginning (auto.offset.reset=earliest).
//
// Thread: one consumer per pipeline thread; every method, and both hooks (which run
// inside poll() and close()), run on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

#include "kafka/client_config.hpp"
#include "kafka/error_classifier.hpp"
#include "kafka/message.hpp"

namespace metersync::kafka {

// Next offset to read, per partition.
using Offsets = std::map<int32_t, int64_t>;

struct ConsumerOptions {
  // poll() notes partitions read to their end (Consumer::partitions_at_end()): replay
  // reads a topic to its end and stops.
  bool report_partition_end = false;
  // Static membership (group.instance.id): `run`'s consumers give the instance id, so a
  // restarted instance rejoins as the same member and gets its partitions back without a
  // rebalance, instead of the group waiting session.timeout.ms for the dead one. Empty: a
  // dynamic member (replay, tools). Unique per group: two live consumers with the same id
  // fence each other.
  std::string group_instance_id;
};

class Consumer {
 public:
  struct Hooks {
    // The position store outside Kafka, asked on every assignment. A partition missing
    // from the result starts at the beginning of the topic. nullopt: offsets cannot be
    // had (the pipeline is stopping or failed); the partitions are then left unassigned.
    // Must not throw. Unset: the group's committed offsets are the store.
    std::function<std::optional<Offsets>(const std::vector<int32_t>& partitions)> starting_offsets;
    // Runs before partitions are given up (rebalance, close): the pipeline finishes or
    // abandons its unwritten records of those partitions. Must not throw. Unset: the owner
    // holds nothing per partition (replay).
    std::function<void(const std::vector<int32_t>& partitions)> revoking;
  };

  // librdkafka properties metersync sets unless kafka.properties names them (memory
  // bound and latency; docs/configuration.md gives the reasons).
  static const std::map<std::string, std::string>& default_properties();

  using Options = ConsumerOptions;

  // Subscribes at once; throws ClientConfigError on a broken configuration.
  Consumer(const ClientSettings& settings, const std::string& group_id, std::string topic,
           Hooks hooks, const Options& options = {});
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // One record, nothing within `timeout` (nullopt), or an error to act on. Rebalance
  // hooks run inside this call. A record at an offset poll() already returned (a
  // refetch) is never returned twice.
  //
  // Stalled prefetch: librdkafka 2.0 stops fetching a partition once its prefetch queue
  // is over queued.max.messages.kbytes and looks again only when its broker thread
  // wakes, up to a second later. With a small queue that second is most of the time, so
  // when nothing came for a moment although the broker holds more (cached high
  // watermark), poll() restarts the fetch at the next unread offset (an asynchronous
  // seek, which wakes that thread). Repeated restarts without progress back off.
  // Errors are of stage Kafka.
  Result<std::optional<Message>> poll(std::chrono::milliseconds timeout);

  // Stops / restarts fetching of every assigned partition (also of partitions assigned
  // while paused). Fetching resumes right after the last record poll() returned.
  void pause();
  void resume();
  bool paused() const { return paused_; }
  // The same for one assigned partition (a dispatcher whose partition has a full queue):
  // it stays paused across pause()/resume() of the whole consumer until resumed itself, and
  // is forgotten when revoked (a partition assigned again starts fetching).
  void pause(int32_t partition);
  void resume(int32_t partition);
  bool paused(int32_t partition) const { return paused_partitions_.contains(partition); }

  // Records progress in the group's committed offsets without waiting, for the assigned
  // partitions: for lag tools when the sink holds the positions; as the positions
  // themselves when the group does (a lost one is covered by the partition's next commit).
  void commit_async(const Offsets& next_offsets);
  // The same, waiting for the broker's answer (at a revoke, at stop, replay).
  Result<void> commit(const Offsets& next_offsets);

  // The group's committed offsets of `partitions` (a broker round trip, up to `timeout`):
  // where a group-positioned consumer (an endpoint) stands before it has settled anything
  // itself, so that its lag is right from the start. A partition the group has never
  // committed is missing from the result (it starts at the beginning). Errors are of stage
  // Kafka.
  Result<Offsets> committed(const std::vector<int32_t>& partitions, std::chrono::milliseconds timeout);

  // Partitions read to their end since their last record (Options::report_partition_end).
  const std::set<int32_t>& partitions_at_end() const { return at_end_; }
  // Partitions of the topic per the broker's metadata; 0 when the topic does not exist.
  // Throws on a metadata failure.
  int partition_count(std::chrono::milliseconds timeout);

  // Records on the broker not yet covered by `next_offsets`, over the assigned
  // partitions, from librdkafka's cached watermarks; nullopt while unknown.
  std::optional<int64_t> lag(const Offsets& next_offsets);
  // The same per assigned partition (the metrics' lag); nullopt likewise.
  std::optional<std::map<int32_t, int64_t>> partition_lag(const Offsets& next_offsets);

  const std::set<int32_t>& assignment() const { return assigned_; }
  const std::string& topic() const { return topic_; }

  // Leaves the group (the revoking hook runs) and releases the client. Idempotent.
  void close();

 private:
  class Rebalancer;
  class EventLogger;

  void on_rebalance(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions);
  void assign(RdKafka::KafkaConsumer* consumer, std::vector<RdKafka::TopicPartition*>& partitions,
              const std::vector<int32_t>& ids, bool cooperative);
  std::expected<std::optional<Message>, KafkaError> poll_once(std::chrono::milliseconds timeout);
  std::expected<void, KafkaError> commit_sync(const Offsets& next_offsets);
  void restart_stalled_fetches();

  // Per assigned partition: where the fetch is restarted, and how often.
  struct Restart {
    int64_t at = -1;  // next offset when last restarted
    std::chrono::steady_clock::time_point last{};
    std::chrono::milliseconds gap{0};
  };

  std::string topic_;
  Hooks hooks_;
  std::unique_ptr<Rebalancer> rebalancer_;  // must outlive consumer_
  std::unique_ptr<EventLogger> events_;     // must outlive consumer_
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::set<int32_t> assigned_;
  Offsets next_;                       // offset after the last record returned, per partition
  std::map<int32_t, Restart> restarts_;
  std::set<int32_t> at_end_;
  bool paused_ = false;
  std::set<int32_t> paused_partitions_;  // pause(partition), within assigned_
  bool closed_ = false;
};

}  // namespace metersync::kafka
