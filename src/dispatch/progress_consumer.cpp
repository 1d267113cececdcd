#include "dispatch/progress_consumer.hpp"

#include <spdlog/spdlog.h>

#include "kafka/consumer.hpp"

namespace metersync::dispatch {
namespace {

std::vector<int32_t> ids_of(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<int32_t> ids;
  ids.reserve(partitions.size());
  for (const auto* p : partitions) ids.push_back(p->partition());
  return ids;
}

std::vector<RdKafka::TopicPartition*> partition_list(const std::string& topic,
                                                     const std::map<int32_t, int64_t>& next_offsets) {
  std::vector<RdKafka::TopicPartition*> list;
  list.reserve(next_offsets.size());
  for (const auto& [partition, offset] : next_offsets) {
    list.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
  }
  return list;
}

// metersync's consumer defaults (kafka::Consumer), unless kafka.properties names them:
// socket.nagle.disable sends fetch requests, heartbeats and commits at once instead of
// after the broker's delayed ACK. All but the prefetch bound: a queue over
// queued.max.messages.kbytes stops librdkafka 2.0's fetch for up to a second, which
// kafka::Consumer undoes by restarting the fetch and this consumer does not, so it keeps
// librdkafka's own bound (docs/endpoints.md).
std::map<std::string, std::string> consumer_defaults() {
  std::map<std::string, std::string> defaults = kafka::Consumer::default_properties();
  defaults.erase("queued.max.messages.kbytes");
  return defaults;
}

}  // namespace

class ProgressConsumer::Rebalancer : public RdKafka::RebalanceCb {
 public:
  Rebalancer(std::string topic, OnRevoke on_revoke)
      : topic_(std::move(topic)), on_revoke_(std::move(on_revoke)) {}

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      // Offsets unset: each partition starts at its committed offset (or the beginning).
      spdlog::info("kafka [{}]: {} partition(s) assigned", topic_, partitions.size());
      if (cooperative) {
        delete consumer->incremental_assign(partitions);
      } else {
        consumer->assign(partitions);
      }
      return;
    }
    if (on_revoke_) {
      try {
        on_revoke_(ids_of(partitions));
      } catch (const std::exception& e) {
        // Runs inside librdkafka's C callback: nothing may escape.
        spdlog::error("kafka [{}]: revoke handler failed: {}", topic_, e.what());
      }
    }
    if (cooperative) {
      delete consumer->incremental_unassign(partitions);
    } else {
      consumer->unassign();
    }
  }

 private:
  std::string topic_;
  OnRevoke on_revoke_;
};

ProgressConsumer::ProgressConsumer(const kafka::ClientSettings& settings, const std::string& group_id,
                                   std::string topic, OnRevoke on_revoke, bool stop_at_end)
    : topic_(std::move(topic)),
      rebalancer_(std::make_unique<Rebalancer>(topic_, std::move(on_revoke))) {
  auto conf = kafka::make_conf(settings, {
                                             {"group.id", group_id},
                                             // Committed by us, after the endpoint answered.
                                             {"enable.auto.commit", "false"},
                                             {"enable.auto.offset.store", "false"},
                                             {"isolation.level", "read_committed"},
                                             // A new group sends the whole topic.
                                             {"auto.offset.reset", "earliest"},
                                             {"enable.partition.eof", stop_at_end ? "true" : "false"},
                                         },
                               consumer_defaults());
  std::string error;
  if (conf->set("rebalance_cb", rebalancer_.get(), error) != RdKafka::Conf::CONF_OK) {
    throw kafka::ClientConfigError("kafka consumer callbacks: " + error);
  }
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer_) throw kafka::ClientConfigError("kafka consumer for " + topic_ + ": " + error);
  const RdKafka::ErrorCode err = consumer_->subscribe({topic_});
  if (err != RdKafka::ERR_NO_ERROR) {
    throw kafka::ClientConfigError("kafka subscribe to " + topic_ + ": " + RdKafka::err2str(err));
  }
}

ProgressConsumer::~ProgressConsumer() { close(); }

std::expected<ProgressConsumer::Polled, kafka::KafkaError> ProgressConsumer::poll(
    std::chrono::milliseconds timeout) {
  std::unique_ptr<RdKafka::Message> message(consumer_->consume(static_cast<int>(timeout.count())));
  switch (message->err()) {
    case RdKafka::ERR_NO_ERROR:
      return Polled{kafka::Message(std::move(message))};
    case RdKafka::ERR__TIMED_OUT:
      return Polled{};
    case RdKafka::ERR__PARTITION_EOF:
      return Polled{EndOfPartition{message->partition()}};
    default: {
      auto error = kafka::KafkaError::from(message->err(), message->errstr());
      if (error.action == kafka::ErrorAction::Ignore) return Polled{};
      return std::unexpected(std::move(error));
    }
  }
}

std::expected<void, kafka::KafkaError> ProgressConsumer::commit(
    const std::map<int32_t, int64_t>& next_offsets) {
  if (next_offsets.empty()) return {};
  std::vector<RdKafka::TopicPartition*> list = partition_list(topic_, next_offsets);
  const RdKafka::ErrorCode err = consumer_->commitSync(list);
  std::optional<kafka::KafkaError> failed;
  if (err != RdKafka::ERR_NO_ERROR) {
    failed = kafka::KafkaError::from(err, RdKafka::err2str(err));
  } else {
    for (auto* p : list) {
      if (p->err() != RdKafka::ERR_NO_ERROR && !failed) {
        failed = kafka::KafkaError::from(p->err(), "partition " + std::to_string(p->partition()) +
                                                       ": " + RdKafka::err2str(p->err()));
      }
    }
  }
  RdKafka::TopicPartition::destroy(list);
  if (failed) return std::unexpected(*failed);
  return {};
}

void ProgressConsumer::commit_async(const std::map<int32_t, int64_t>& next_offsets) {
  if (next_offsets.empty()) return;
  std::vector<RdKafka::TopicPartition*> list = partition_list(topic_, next_offsets);
  const RdKafka::ErrorCode err = consumer_->commitAsync(list);  // copies the list
  RdKafka::TopicPartition::destroy(list);
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("kafka [{}]: commit not sent: {}", topic_, RdKafka::err2str(err));
  }
}

int ProgressConsumer::partition_count(std::chrono::milliseconds timeout) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer_.get(), topic_, nullptr, error));
  if (!topic) throw kafka::ClientConfigError("kafka topic handle for " + topic_ + ": " + error);
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode err =
      consumer_->metadata(false, topic.get(), &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("kafka metadata for " + topic_ + ": " + RdKafka::err2str(err));
  }
  for (const auto* t : *metadata->topics()) {
    if (t->topic() == topic_ && t->err() == RdKafka::ERR_NO_ERROR) {
      return static_cast<int>(t->partitions()->size());
    }
  }
  return 0;
}

void ProgressConsumer::close() {
  if (closed_ || !consumer_) return;
  closed_ = true;
  consumer_->close();
}

}  // namespace metersync::dispatch
