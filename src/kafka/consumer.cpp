#include "kafka/consumer.hpp"

#include <spdlog/spdlog.h>

namespace metersync::kafka {
namespace {

// Owns the TopicPartition objects librdkafka's C++ API hands out as raw pointers.
struct PartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  PartitionList() = default;
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  ~PartitionList() { RdKafka::TopicPartition::destroy(items); }
};

std::vector<int32_t> ids_of(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<int32_t> ids;
  ids.reserve(partitions.size());
  for (const auto* p : partitions) ids.push_back(p->partition());
  return ids;
}

void log_error_object(const char* what, RdKafka::Error* error) {
  if (error == nullptr) return;
  std::unique_ptr<RdKafka::Error> owned(error);
  spdlog::error("kafka {} failed: {}", what, owned->str());
}

}  // namespace

class Consumer::Rebalancer : public RdKafka::RebalanceCb {
 public:
  explicit Rebalancer(Consumer& owner) : owner_(owner) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    owner_.on_rebalance(consumer, err, partitions);
  }

 private:
  Consumer& owner_;
};

class Consumer::EventLogger : public RdKafka::EventCb {
 public:
  explicit EventLogger(std::string topic) : topic_(std::move(topic)) {}
  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        // Connection trouble is reported here and retried by librdkafka itself.
        spdlog::log(event.fatal() ? spdlog::level::err : spdlog::level::warn,
                    "kafka consumer [{}]: {}{}", topic_, event.fatal() ? "FATAL " : "",
                    event.str());
        if (event.fatal()) fatal = true;
        break;
      case RdKafka::Event::EVENT_LOG:
        spdlog::debug("librdkafka [{}] {}: {}", topic_, event.fac(), event.str());
        break;
      default:
        break;
    }
  }
  bool fatal = false;

 private:
  std::string topic_;
};

Consumer::Consumer(const ClientSettings& settings, const std::string& group_id, std::string topic,
                   Hooks hooks)
    : topic_(std::move(topic)),
      hooks_(std::move(hooks)),
      rebalancer_(std::make_unique<Rebalancer>(*this)),
      events_(std::make_unique<EventLogger>(topic_)) {
  auto conf = make_conf(settings, {
                                      {"group.id", group_id},
                                      // Progress lives in the sink, written with the rows.
                                      {"enable.auto.commit", "false"},
                                      {"enable.auto.offset.store", "false"},
                                      // Never see records of aborted transactions.
                                      {"isolation.level", "read_committed"},
                                      // A stored offset that is no longer on the topic means
                                      // records were deleted unread: stop, never skip.
                                      {"auto.offset.reset", "error"},
                                  });
  std::string error;
  if (conf->set("rebalance_cb", rebalancer_.get(), error) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", events_.get(), error) != RdKafka::Conf::CONF_OK) {
    throw ClientConfigError("kafka consumer callbacks: " + error);
  }
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer_) throw ClientConfigError("kafka consumer for " + topic_ + ": " + error);
  RdKafka::ErrorCode err = consumer_->subscribe({topic_});
  if (err != RdKafka::ERR_NO_ERROR) {
    throw ClientConfigError("kafka subscribe to " + topic_ + ": " + RdKafka::err2str(err));
  }
}

Consumer::~Consumer() { close(); }

void Consumer::on_rebalance(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                            std::vector<RdKafka::TopicPartition*>& partitions) {
  const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
  const std::vector<int32_t> ids = ids_of(partitions);
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    std::optional<Offsets> start;
    try {
      start = hooks_.starting_offsets(ids);
    } catch (const std::exception& e) {
      // The hook runs inside librdkafka's C callback: nothing may escape.
      spdlog::error("kafka [{}]: starting offsets failed: {}", topic_, e.what());
    }
    if (!start) {
      spdlog::warn("kafka [{}]: no starting offsets, partitions left unassigned", topic_);
      if (!cooperative) consumer->unassign();
      return;
    }
    for (auto* p : partitions) {
      auto found = start->find(p->partition());
      p->set_offset(found != start->end() ? found->second : RdKafka::Topic::OFFSET_BEGINNING);
      spdlog::info("kafka [{}] partition {} assigned, starting at {}", topic_, p->partition(),
                   found != start->end() ? std::to_string(found->second) : "the beginning");
    }
    if (cooperative) {
      log_error_object("incremental_assign", consumer->incremental_assign(partitions));
    } else {
      RdKafka::ErrorCode e = consumer->assign(partitions);
      if (e != RdKafka::ERR_NO_ERROR) spdlog::error("kafka assign: {}", RdKafka::err2str(e));
      assigned_.clear();
    }
    assigned_.insert(ids.begin(), ids.end());
    if (paused_) consumer->pause(partitions);
    return;
  }
  // Revocation (or an assignment error / lost assignment): the pipeline lets go of the
  // records of these partitions it has not written, then they are given up.
  if (err != RdKafka::ERR__REVOKE_PARTITIONS) {
    spdlog::warn("kafka [{}]: rebalance error {}", topic_, RdKafka::err2str(err));
  }
  try {
    hooks_.revoking(ids);
  } catch (const std::exception& e) {
    spdlog::error("kafka [{}]: revoking hook failed: {}", topic_, e.what());
  }
  if (cooperative) {
    log_error_object("incremental_unassign", consumer->incremental_unassign(partitions));
    for (int32_t id : ids) assigned_.erase(id);
  } else {
    consumer->unassign();
    assigned_.clear();
  }
  for (int32_t id : ids) spdlog::info("kafka [{}] partition {} revoked", topic_, id);
}

std::expected<std::optional<Message>, KafkaError> Consumer::poll(std::chrono::milliseconds timeout) {
  if (closed_) return std::unexpected(KafkaError::from(RdKafka::ERR__STATE, "consumer is closed"));
  std::unique_ptr<RdKafka::Message> raw(consumer_->consume(static_cast<int>(timeout.count())));
  if (events_->fatal) {
    std::string reason;
    RdKafka::ErrorCode code = consumer_->fatal_error(reason);
    return std::unexpected(KafkaError::from(code, reason, true));
  }
  RdKafka::ErrorCode err = raw->err();
  if (err == RdKafka::ERR_NO_ERROR) return std::optional<Message>(Message(std::move(raw)));
  KafkaError error = KafkaError::from(err, raw->errstr());
  if (error.action == ErrorAction::Ignore) return std::optional<Message>();
  return std::unexpected(std::move(error));
}

void Consumer::pause() {
  if (paused_ || closed_) return;
  paused_ = true;
  std::vector<RdKafka::TopicPartition*> current;
  if (consumer_->assignment(current) == RdKafka::ERR_NO_ERROR) {
    PartitionList owned;
    owned.items = std::move(current);
    consumer_->pause(owned.items);
  }
}

void Consumer::resume() {
  if (!paused_ || closed_) return;
  paused_ = false;
  std::vector<RdKafka::TopicPartition*> current;
  if (consumer_->assignment(current) == RdKafka::ERR_NO_ERROR) {
    PartitionList owned;
    owned.items = std::move(current);
    consumer_->resume(owned.items);
  }
}

void Consumer::commit_async(const Offsets& next_offsets) {
  if (closed_ || next_offsets.empty()) return;
  PartitionList list;
  for (const auto& [partition, offset] : next_offsets) {
    if (!assigned_.contains(partition)) continue;  // committing a foreign partition fails the call
    list.items.push_back(RdKafka::TopicPartition::create(topic_, partition, offset));
  }
  if (list.items.empty()) return;
  RdKafka::ErrorCode err = consumer_->commitAsync(list.items);
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::debug("kafka [{}]: lag-tool commit failed: {}", topic_, RdKafka::err2str(err));
  }
}

std::optional<int64_t> Consumer::lag(const Offsets& next_offsets) {
  if (closed_ || assigned_.empty()) return std::nullopt;
  int64_t total = 0;
  for (int32_t partition : assigned_) {
    int64_t low = -1;
    int64_t high = -1;
    if (consumer_->get_watermark_offsets(topic_, partition, &low, &high) != RdKafka::ERR_NO_ERROR ||
        high < 0) {
      return std::nullopt;
    }
    auto found = next_offsets.find(partition);
    int64_t position = found != next_offsets.end() ? found->second : std::max<int64_t>(low, 0);
    total += std::max<int64_t>(0, high - position);
  }
  return total;
}

void Consumer::close() {
  if (closed_) return;
  closed_ = true;
  RdKafka::ErrorCode err = consumer_->close();  // revoking hook runs in here
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("kafka [{}]: close: {}", topic_, RdKafka::err2str(err));
  }
  consumer_.reset();
  assigned_.clear();
}

}  // namespace metersync::kafka
