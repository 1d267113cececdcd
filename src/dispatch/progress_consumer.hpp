// The dispatcher's Kafka consumer: one topic, its own consumer group, progress kept as
// the group's committed offsets, committed only for settled batches (delivered or
// dead-lettered), so a crash re-sends at most the unsettled changes and the changes whose
// commit was still in flight (the endpoint drops repeats by event id).
//
// (kafka::Consumer positions itself from offsets the Meter Master sink stores with its
// rows; the endpoint has no such store, so its progress lives in Kafka.)
//
// Thread: the dispatcher's thread; the revoke notice runs inside poll().
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

#include "kafka/client_config.hpp"
#include "kafka/error_classifier.hpp"
#include "kafka/message.hpp"

namespace metersync::dispatch {

class ProgressConsumer {
 public:
  // Partitions being taken away: the caller drops its unsent changes of them (the next
  // owner reads them again from the committed offsets).
  using OnRevoke = std::function<void(const std::vector<int32_t>& partitions)>;

  // `stop_at_end`: poll() reports end-of-partition (replay reads a topic to its end).
  ProgressConsumer(const kafka::ClientSettings& settings, const std::string& group_id,
                   std::string topic, OnRevoke on_revoke, bool stop_at_end = false);
  ~ProgressConsumer();
  ProgressConsumer(const ProgressConsumer&) = delete;
  ProgressConsumer& operator=(const ProgressConsumer&) = delete;

  struct EndOfPartition {
    int32_t partition;
  };
  using Polled = std::variant<std::monostate, kafka::Message, EndOfPartition>;
  std::expected<Polled, kafka::KafkaError> poll(std::chrono::milliseconds timeout);

  // Commits next offsets and waits for the broker's answer.
  std::expected<void, kafka::KafkaError> commit(const std::map<int32_t, int64_t>& next_offsets);
  // Sends the commit without waiting for it (a broker round trip kept off the delivery
  // path); a lost one is covered by the next commit of the partition.
  void commit_async(const std::map<int32_t, int64_t>& next_offsets);

  // Partitions of the topic per the broker's metadata; 0 when the topic does not exist.
  int partition_count(std::chrono::milliseconds timeout);

  const std::string& topic() const { return topic_; }
  void close();

 private:
  class Rebalancer;

  std::string topic_;
  std::unique_ptr<Rebalancer> rebalancer_;  // must outlive consumer_
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  bool closed_ = false;
};

}  // namespace metersync::dispatch
