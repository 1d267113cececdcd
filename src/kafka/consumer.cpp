#include "kafka/consumer.hpp"

#include <spdlog/spdlog.h>

namespace metersync::kafka {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long poll() waits for a record before it checks for a stalled fetch: a fetch
// answered by a local broker takes a few ms.
constexpr std::chrono::milliseconds kStallCheck{10};
// Restarts of one partition's fetch that brought nothing new back off from the first
// gap to the last (a partition ending in an aborted transaction looks stalled forever).
constexpr std::chrono::milliseconds kRestartGap{20};
constexpr std::chrono::milliseconds kRestartGapMax{1000};

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

const std::map<std::string, std::string>& Consumer::default_properties() {
  static const std::map<std::string, std::string> kDefaults{
      // The prefetch queue is most of the memory at full speed: librdkafka's 64 MiB
      // default alone is two thirds of the 100 MB budget. Small is cheap since poll()
      // restarts a stalled fetch (see consumer.hpp).
      {"queued.max.messages.kbytes", "12288"},
      // Small requests (fetches, heartbeats) must not wait for delayed ACKs.
      {"socket.nagle.disable", "true"},
      // No partition.assignment.strategy: librdkafka's eager range,roundrobin. Debian 12's
      // librdkafka 2.0.2 with cooperative-sticky aborted (rd_kafka_sticky_assignor_state_destroy:
      // assertion `assignor_state' failed) when a second static member joined the group of
      // two pipelines (engine_pipeline_rebalance), and hung closing a consumer under TSan: not
      // to be set with that librdkafka (docs/operating.md, "Rebalancing").
      // How long the group waits for a member that stopped heartbeating (killed, host
      // lost) before its partitions move: librdkafka's 45 s was a 45 s stall of the
      // source after every SIGKILL. Heartbeats come from librdkafka's own thread every
      // 3 s, unaffected by a slow sink, so 10 s leaves three of them of slack.
      {"session.timeout.ms", "10000"},
  };
  return kDefaults;
}

Consumer::Consumer(const ClientSettings& settings, const std::string& group_id, std::string topic,
                   Hooks hooks, const Options& options)
    : topic_(std::move(topic)),
      hooks_(std::move(hooks)),
      rebalancer_(std::make_unique<Rebalancer>(*this)),
      events_(std::make_unique<EventLogger>(topic_)) {
  const bool positions_in_sink = static_cast<bool>(hooks_.starting_offsets);
  std::map<std::string, std::string> required{
      {"group.id", group_id},
      // Progress is committed by the owner, after the destination confirmed (the sink's
      // transaction, the endpoint's 2xx).
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // Never see records of aborted transactions.
      {"isolation.level", "read_committed"},
      // Sink positions: a stored offset that is no longer on the topic means records were
      // deleted unread: stop, never skip. Group positions: a new group sends the whole topic.
      {"auto.offset.reset", positions_in_sink ? "error" : "earliest"},
      {"enable.partition.eof", options.report_partition_end ? "true" : "false"},
  };
  if (!options.group_instance_id.empty()) required["group.instance.id"] = options.group_instance_id;
  auto conf = make_conf(settings, required, default_properties());
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
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS && !hooks_.starting_offsets) {
    // Group positions: each partition starts at its committed offset (or the beginning);
    // the position is concrete from the first record on.
    for (auto* p : partitions) {
      next_.erase(p->partition());
      restarts_.erase(p->partition());
      at_end_.erase(p->partition());
      spdlog::info("kafka [{}] partition {} assigned, starting at the group's committed offset", topic_,
                   p->partition());
    }
    assign(consumer, partitions, ids, cooperative);
    return;
  }
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
      if (cooperative) {
        // The rebalance waits for an assign call: an empty one adds nothing.
        std::vector<RdKafka::TopicPartition*> none;
        log_error_object("incremental_assign", consumer->incremental_assign(none));
      } else {
        consumer->unassign();
      }
      return;
    }
    for (auto* p : partitions) {
      auto found = start->find(p->partition());
      p->set_offset(found != start->end() ? found->second : RdKafka::Topic::OFFSET_BEGINNING);
      if (found != start->end()) {
        next_[p->partition()] = found->second;
      } else {
        next_.erase(p->partition());
      }
      restarts_.erase(p->partition());
      at_end_.erase(p->partition());
      spdlog::info("kafka [{}] partition {} assigned, starting at {}", topic_, p->partition(),
                   found != start->end() ? std::to_string(found->second) : "the beginning");
    }
    assign(consumer, partitions, ids, cooperative);
    return;
  }
  // Revocation (or an assignment error / lost assignment): the pipeline lets go of the
  // records of these partitions it has not written, then they are given up.
  if (err != RdKafka::ERR__REVOKE_PARTITIONS) {
    spdlog::warn("kafka [{}]: rebalance error {}", topic_, RdKafka::err2str(err));
  }
  try {
    // Unset (replay): nothing held to let go of. Calling an empty std::function would throw
    // bad_function_call, logged as a failed hook at every revocation.
    if (hooks_.revoking) hooks_.revoking(ids);
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
  std::erase_if(next_, [&](const auto& entry) { return !assigned_.contains(entry.first); });
  std::erase_if(restarts_, [&](const auto& entry) { return !assigned_.contains(entry.first); });
  std::erase_if(at_end_, [&](int32_t partition) { return !assigned_.contains(partition); });
  std::erase_if(paused_partitions_, [&](int32_t partition) { return !assigned_.contains(partition); });
  for (int32_t id : ids) spdlog::info("kafka [{}] partition {} revoked", topic_, id);
}

void Consumer::assign(RdKafka::KafkaConsumer* consumer, std::vector<RdKafka::TopicPartition*>& partitions,
                      const std::vector<int32_t>& ids, bool cooperative) {
  if (cooperative) {
    log_error_object("incremental_assign", consumer->incremental_assign(partitions));
  } else {
    RdKafka::ErrorCode e = consumer->assign(partitions);
    if (e != RdKafka::ERR_NO_ERROR) spdlog::error("kafka assign: {}", RdKafka::err2str(e));
    assigned_.clear();
  }
  assigned_.insert(ids.begin(), ids.end());
  // librdkafka keeps a partition's pause across unassign and assign: one paused, revoked and
  // assigned again after resume() (which resumes the assignment of its time) would stay
  // paused for good, so the consumer's state is applied to every assignment.
  if (paused_) {
    consumer->pause(partitions);
  } else {
    consumer->resume(partitions);
  }
  for (int32_t id : ids) paused_partitions_.erase(id);
}

Result<std::optional<Message>> Consumer::poll(std::chrono::milliseconds timeout) {
  const auto first = std::min(timeout, kStallCheck);
  auto polled = poll_once(first);
  if (polled && !*polled && timeout > first) {
    restart_stalled_fetches();
    polled = poll_once(timeout - first);
  }
  if (!polled) return std::unexpected(polled.error().to_error(Stage::Kafka));
  return std::move(*polled);
}

std::expected<std::optional<Message>, KafkaError> Consumer::poll_once(std::chrono::milliseconds timeout) {
  if (closed_) return std::unexpected(KafkaError::from(RdKafka::ERR__STATE, "consumer is closed"));
  std::unique_ptr<RdKafka::Message> raw(consumer_->consume(static_cast<int>(timeout.count())));
  if (events_->fatal) {
    std::string reason;
    RdKafka::ErrorCode code = consumer_->fatal_error(reason);
    if (code == RdKafka::ERR_FENCED_INSTANCE_ID) {
      reason += "; another consumer of this group runs with the same group.instance.id: give each "
                "instance its own instance_id";
    }
    return std::unexpected(KafkaError::from(code, reason, true));
  }
  RdKafka::ErrorCode err = raw->err();
  if (err == RdKafka::ERR_NO_ERROR) {
    const int32_t partition = raw->partition();
    auto next = next_.find(partition);
    if (next != next_.end() && raw->offset() < next->second) {
      return std::optional<Message>();  // returned before: a restarted fetch's overlap
    }
    next_[partition] = raw->offset() + 1;
    at_end_.erase(partition);
    return std::optional<Message>(Message(std::move(raw)));
  }
  if (err == RdKafka::ERR__PARTITION_EOF) {
    at_end_.insert(raw->partition());
    return std::optional<Message>();
  }
  KafkaError error = KafkaError::from(err, raw->errstr());
  if (error.action == ErrorAction::Ignore) return std::optional<Message>();
  return std::unexpected(std::move(error));
}

void Consumer::restart_stalled_fetches() {
  if (paused_ || closed_) return;
  const auto now = SteadyClock::now();
  for (int32_t partition : assigned_) {
    if (paused_partitions_.contains(partition)) continue;  // not fetching on purpose
    auto next = next_.find(partition);
    if (next == next_.end()) continue;  // no concrete position yet
    int64_t low = -1;
    int64_t high = -1;
    if (consumer_->get_watermark_offsets(topic_, partition, &low, &high) != RdKafka::ERR_NO_ERROR) continue;
    // One offset short of the watermark is the usual transaction marker, not a record.
    if (high - next->second < 2) continue;
    Restart& restart = restarts_[partition];
    if (restart.gap.count() > 0 && now - restart.last < restart.gap) continue;
    restart.gap = restart.at == next->second ? std::min(kRestartGapMax, std::max(kRestartGap, restart.gap * 2))
                                             : kRestartGap;
    restart.at = next->second;
    restart.last = now;
    std::unique_ptr<RdKafka::TopicPartition> position(
        RdKafka::TopicPartition::create(topic_, partition, next->second));
    RdKafka::ErrorCode err = consumer_->seek(*position, 0);
    if (err != RdKafka::ERR_NO_ERROR) {
      spdlog::debug("kafka [{}]: restarting the fetch of partition {}: {}", topic_, partition,
                    RdKafka::err2str(err));
    }
  }
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
    // A partition paused on its own stays paused.
    std::vector<RdKafka::TopicPartition*> resumed;
    for (auto* p : owned.items) {
      if (!paused_partitions_.contains(p->partition())) resumed.push_back(p);
    }
    consumer_->resume(resumed);
  }
}

void Consumer::pause(int32_t partition) {
  if (closed_ || !assigned_.contains(partition) || !paused_partitions_.insert(partition).second) return;
  PartitionList list;
  list.items.push_back(RdKafka::TopicPartition::create(topic_, partition));
  consumer_->pause(list.items);
}

void Consumer::resume(int32_t partition) {
  if (closed_ || paused_partitions_.erase(partition) == 0 || paused_) return;
  PartitionList list;
  list.items.push_back(RdKafka::TopicPartition::create(topic_, partition));
  consumer_->resume(list.items);
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
    // Only for lag tools when the sink holds the positions; the positions themselves otherwise.
    spdlog::log(hooks_.starting_offsets ? spdlog::level::debug : spdlog::level::warn,
                "kafka [{}]: commit not sent: {}", topic_, RdKafka::err2str(err));
  }
}

Result<void> Consumer::commit(const Offsets& next_offsets) {
  auto committed = commit_sync(next_offsets);
  if (!committed) return std::unexpected(committed.error().to_error(Stage::Kafka));
  return {};
}

std::expected<void, KafkaError> Consumer::commit_sync(const Offsets& next_offsets) {
  if (closed_) return std::unexpected(KafkaError::from(RdKafka::ERR__STATE, "consumer is closed"));
  PartitionList list;
  for (const auto& [partition, offset] : next_offsets) {
    if (!assigned_.contains(partition)) continue;  // committing a foreign partition fails the call
    list.items.push_back(RdKafka::TopicPartition::create(topic_, partition, offset));
  }
  if (list.items.empty()) return {};
  const RdKafka::ErrorCode err = consumer_->commitSync(list.items);
  if (err != RdKafka::ERR_NO_ERROR) return std::unexpected(KafkaError::from(err, RdKafka::err2str(err)));
  for (const auto* p : list.items) {
    if (p->err() != RdKafka::ERR_NO_ERROR) {
      return std::unexpected(KafkaError::from(
          p->err(), "partition " + std::to_string(p->partition()) + ": " + RdKafka::err2str(p->err())));
    }
  }
  return {};
}

Result<Offsets> Consumer::committed(const std::vector<int32_t>& partitions, std::chrono::milliseconds timeout) {
  if (closed_) {
    return std::unexpected(KafkaError::from(RdKafka::ERR__STATE, "consumer is closed").to_error(Stage::Kafka));
  }
  PartitionList list;
  for (int32_t partition : partitions) list.items.push_back(RdKafka::TopicPartition::create(topic_, partition));
  Offsets offsets;
  if (list.items.empty()) return offsets;
  const RdKafka::ErrorCode err = consumer_->committed(list.items, static_cast<int>(timeout.count()));
  if (err != RdKafka::ERR_NO_ERROR) {
    return std::unexpected(KafkaError::from(err, "committed offsets: " + RdKafka::err2str(err)).to_error(Stage::Kafka));
  }
  for (const auto* p : list.items) {
    // OFFSET_INVALID: the group has no offset for the partition.
    if (p->err() == RdKafka::ERR_NO_ERROR && p->offset() >= 0) offsets[p->partition()] = p->offset();
  }
  return offsets;
}

int Consumer::partition_count(std::chrono::milliseconds timeout) {
  if (closed_) throw std::runtime_error("kafka [" + topic_ + "]: consumer is closed");
  std::string error;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer_.get(), topic_, nullptr, error));
  if (!topic) throw ClientConfigError("kafka topic handle for " + topic_ + ": " + error);
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

std::optional<int64_t> Consumer::lag(const Offsets& next_offsets) {
  const auto lags = partition_lag(next_offsets);
  if (!lags) return std::nullopt;
  int64_t total = 0;
  for (const auto& [partition, lag] : *lags) total += lag;
  return total;
}

std::optional<std::map<int32_t, int64_t>> Consumer::partition_lag(const Offsets& next_offsets) {
  if (closed_ || assigned_.empty()) return std::nullopt;
  std::map<int32_t, int64_t> lags;
  for (int32_t partition : assigned_) {
    int64_t low = -1;
    int64_t high = -1;
    if (consumer_->get_watermark_offsets(topic_, partition, &low, &high) != RdKafka::ERR_NO_ERROR ||
        high < 0) {
      return std::nullopt;
    }
    auto found = next_offsets.find(partition);
    int64_t position = found != next_offsets.end() ? found->second : std::max<int64_t>(low, 0);
    lags[partition] = std::max<int64_t>(0, high - position);
  }
  return lags;
}

void Consumer::close() {
  if (closed_ || !consumer_) return;
  // The revoking hook runs in here and may still commit (the dispatcher commits its settled
  // progress when it gives partitions up), so the consumer counts as closed only after.
  RdKafka::ErrorCode err = consumer_->close();
  closed_ = true;
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("kafka [{}]: close: {}", topic_, RdKafka::err2str(err));
  }
  consumer_.reset();
  assigned_.clear();
  next_.clear();
  restarts_.clear();
  at_end_.clear();
}

}  // namespace metersync::kafka
