#include "app/pipeline.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "app/batch_committer.hpp"
#include "app/batch_writer.hpp"
#include "app/in_flight_batch.hpp"
#include "kafka/consumer.hpp"
#include "kafka/dead_letter_producer.hpp"
#include "pipeline/backoff.hpp"
#include "pipeline/record_processor.hpp"
#include "pipeline/topics.hpp"
#include "sink/sink.hpp"

namespace metersync::app {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string group_for(const config::Config& config, const config::SourceConfig& source) {
  return config.kafka.group_prefix + "-" + source.name;
}

namespace {

// A fatal condition met outside the sink (Kafka, hooks): ends this pipeline only.
class PipelineFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

kafka::ClientSettings kafka_settings(const config::Config& config, const std::string& client_id) {
  return kafka::ClientSettings{config.kafka.bootstrap_servers, config.kafka.properties, client_id};
}

// The sink connection, opened on first use and dropped after a transient failure so
// the next use reconnects.
class SinkWriter : public ChangeWriter {
 public:
  explicit SinkWriter(const config::SinkConfig& config) : config_(config) {}
  void apply(const sink::Batch& batch) override { connection().apply(batch); }
  sink::Offsets load_offsets(const std::string& pipeline, const std::string& topic) {
    return connection().load_offsets(pipeline, topic);
  }
  sink::Sink& connection() {
    if (!sink_) sink_ = std::make_unique<sink::Sink>(config_);
    return *sink_;
  }
  void disconnect() { sink_.reset(); }

 private:
  const config::SinkConfig& config_;
  std::unique_ptr<sink::Sink> sink_;
};

class KafkaDeadLetters : public DeadLetterWriter {
 public:
  KafkaDeadLetters(kafka::ClientSettings settings, std::string source_topic, std::string dlq_topic)
      : producer_(std::move(settings)),
        source_topic_(std::move(source_topic)),
        dlq_topic_(std::move(dlq_topic)) {}

  std::expected<void, kafka::KafkaError> send(const InFlightRecord& record,
                                              const Rejected& rejection) override {
    kafka::DeadLetter letter{rejection.stage, rejection.reason, source_topic_, record.partition,
                             record.offset, record.timestamp_ms, std::nullopt, std::nullopt};
    const std::optional<std::string> value = record.original.value();  // outlives send()
    if (const auto& key = record.original.key()) letter.key = *key;
    if (value) letter.value = *value;
    return producer_.send(dlq_topic_, letter);
  }
  std::expected<void, kafka::KafkaError> flush() override { return producer_.flush(30s); }
  const std::string& topic() const { return dlq_topic_; }

 private:
  kafka::DeadLetterProducer producer_;
  std::string source_topic_;
  std::string dlq_topic_;
};

}  // namespace

class Pipeline::Worker {
 public:
  explicit Worker(Pipeline& owner)
      : owner_(owner),
        source_(owner.source_),
        sink_config_(owner.config_.sink),
        group_(group_for(owner.config_, owner.source_)),
        processor_(source_),
        sink_(sink_config_),
        dead_letters_(kafka_settings(owner.config_, group_ + "-dlq"), source_.topic,
                      pipeline::topics_of(source_).dead_letters),
        committer_(sink_, dead_letters_, group_, source_.topic,
                   [this](const CommitSummary& summary) { on_committed(summary); }),
        writer_(committer_, writer_settings(sink_config_), writer_hooks()) {}

  ~Worker() { shutdown(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run() {
    connect_sink();
    if (stopping()) return;
    writer_.start();
    consumer_ = std::make_unique<kafka::Consumer>(
        kafka_settings(owner_.config_, group_), group_, source_.topic,
        kafka::Consumer::Hooks{
            [this](const std::vector<int32_t>& p) { return starting_offsets(p); },
            [this](const std::vector<int32_t>& p) { revoking(p); }});
    spdlog::info("{}: consuming {} as group {}, dead letters to {}", source_.name, source_.topic,
                 group_, dead_letters_.topic());
    owner_.status_.set_state(PipelineState::Running);
    while (!stopping()) step();
  }

  // Unwritten records are abandoned: the sink's offsets make the next run read them again.
  // Runs while every member is alive: closing the consumer calls revoking().
  void shutdown() {
    const std::size_t unwritten = writer_.unwritten() + carry_.size();
    writer_.stop();  // a transaction in progress ends first
    if (unwritten > 0) {
      spdlog::info("{}: abandoning {} unwritten records; they are read again on restart",
                   source_.name, unwritten);
    }
    carry_.clear();
    if (consumer_) consumer_->close();
  }

 private:
  static BatchWriter::Settings writer_settings(const config::SinkConfig& config) {
    BatchWriter::Settings settings;
    settings.max_batch_events = static_cast<std::size_t>(std::max(1, config.max_batch_events));
    settings.max_batch_wait = config.max_batch_wait;
    settings.retry_initial = config.retry_initial;
    settings.retry_max = config.retry_max;
    return settings;
  }

  // Run on the writer thread.
  BatchWriter::Hooks writer_hooks() {
    BatchWriter::Hooks hooks;
    hooks.transient_failure = [this](const std::string& message) {
      sink_.disconnect();  // the next attempt reconnects
      owner_.status_.add_retry();
      owner_.status_.set_error(message);
      owner_.status_.set_state(PipelineState::Retrying);
      spdlog::warn("{}: {} (retrying)", source_.name, message);
    };
    hooks.recovered = [this] {
      owner_.status_.set_state(PipelineState::Running);
      spdlog::info("{}: sink writes again", source_.name);
    };
    hooks.written = [this](std::size_t records, BatchWriter::Clock::duration queued,
                           BatchWriter::Clock::duration writing) {
      spdlog::debug("{}: batch of {} records written in {} ms after waiting {} ms", source_.name, records,
                    std::chrono::duration_cast<std::chrono::milliseconds>(writing).count(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(queued).count());
    };
    return hooks;
  }

  bool stopping() const { return owner_.stop_.load(); }

  void sleep_for(std::chrono::milliseconds delay) {
    std::unique_lock lock(owner_.wake_mutex_);
    owner_.wake_.wait_for(lock, delay, [this] { return stopping(); });
  }

  void raise_if_failed() {
    if (failure_) throw PipelineFailure(*failure_);
    if (auto failed = writer_.failure()) throw PipelineFailure(*failed);
  }

  // Waits for the sink before joining the group; the connection serves the first
  // assignment's offsets.
  void connect_sink() {
    pipeline::Backoff backoff(sink_config_.retry_initial, sink_config_.retry_max);
    while (!stopping()) {
      try {
        if (!offsets_sink_) offsets_sink_ = std::make_unique<sink::Sink>(sink_config_);
        return;
      } catch (const sink::SinkError& e) {
        if (e.kind() != sink::SinkError::Kind::Transient) throw;
        note_retry(e.what(), backoff);
        sleep_for(backoff.next());
      }
    }
  }

  void note_retry(const std::string& message, const pipeline::Backoff& backoff) {
    owner_.status_.add_retry();
    owner_.status_.set_error(message);
    owner_.status_.set_state(PipelineState::Retrying);
    spdlog::warn("{}: {} (attempt {}, retrying)", source_.name, message, backoff.attempts() + 1);
  }

  // Runs inside poll(): the sink's offsets decide where each partition starts. They are
  // read on a connection of this thread's own (the writer's is busy writing); the
  // writer holds no record of these partitions (revoking() dropped them), so nothing it
  // commits later can move them.
  std::optional<kafka::Offsets> starting_offsets(const std::vector<int32_t>& partitions) {
    pipeline::Backoff backoff(sink_config_.retry_initial, sink_config_.retry_max);
    while (!stopping()) {
      try {
        if (!offsets_sink_) offsets_sink_ = std::make_unique<sink::Sink>(sink_config_);
        sink::Offsets stored = offsets_sink_->load_offsets(group_, source_.topic);
        offsets_sink_.reset();  // assignments are rare: no idle connection in between
        for (int32_t p : partitions) {
          auto found = stored.find(p);
          if (found != stored.end()) {
            positions_[p] = found->second;
          } else {
            positions_.erase(p);
          }
        }
        owner_.status_.forget_partitions(positions_);
        return stored;
      } catch (const sink::SinkError& e) {
        offsets_sink_.reset();
        if (e.kind() != sink::SinkError::Kind::Transient) {
          failure_ = std::string("loading stored offsets: ") + e.what();
          return std::nullopt;
        }
        note_retry(std::string("loading stored offsets: ") + e.what(), backoff);
        sleep_for(backoff.next());
      }
    }
    return std::nullopt;
  }

  // Runs inside poll()/close(): records of revoked partitions that were not written are
  // dropped; the partitions' next owner reads them again from the sink's offsets. A
  // write in progress ends first (BatchWriter::revoke), so none covering them commits
  // after this returns.
  void revoking(const std::vector<int32_t>& partitions) {
    std::size_t dropped = writer_.revoke(partitions);
    const std::size_t carried = carry_.size();
    std::erase_if(carry_, [&](const kafka::Message& m) {
      return std::find(partitions.begin(), partitions.end(), m.partition()) != partitions.end();
    });
    dropped += carried - carry_.size();
    publish_commits();
    for (int32_t p : partitions) positions_.erase(p);
    // On shutdown the status keeps showing where the pipeline stopped.
    if (!stopping()) owner_.status_.forget_partitions(positions_);
    if (dropped > 0) {
      spdlog::info("{}: partitions revoked, {} unwritten records left to their next owner",
                   source_.name, dropped);
    }
  }

  // One turn of the pipeline thread: hand over a record, or wait for room.
  void step() {
    raise_if_failed();
    publish_commits();
    refresh_lag();
    if (!writer_.has_room()) {
      flush_consumed();
      if (writer_.retrying()) {
        // The sink is down and the next batch is full: stop fetching, keep polling so
        // the group keeps us (records already fetched wait in carry_).
        if (!consumer_->paused()) consumer_->pause();
        poll_into_carry(100ms);
      } else {
        writer_.wait_for_room(100ms);
      }
      return;
    }
    if (!carry_.empty()) {
      add(std::move(carry_.front()));
      carry_.pop_front();
      return;
    }
    if (consumer_->paused() && !writer_.retrying()) {
      consumer_->resume();
      spdlog::info("{}: partitions resumed", source_.name);
    }
    auto polled = consumer_->poll(100ms);  // returns as soon as a record is there
    raise_if_failed();
    if (!polled) {
      handle_kafka_error(polled.error());
      return;
    }
    auto& message = *polled;
    if (!message) {
      flush_consumed();
      return;
    }
    add(std::move(*message));
    if (++consumed_ >= 1000) flush_consumed();
  }

  void poll_into_carry(std::chrono::milliseconds timeout) {
    auto polled = consumer_->poll(timeout);
    raise_if_failed();
    if (!polled) {
      handle_kafka_error(polled.error());
    } else if (auto& message = *polled) {
      carry_.push_back(std::move(*message));  // read ahead of the paused fetch
      ++consumed_;
    }
  }

  void flush_consumed() {
    if (consumed_ == 0) return;
    owner_.status_.add_consumed(consumed_);
    consumed_ = 0;
  }

  void handle_kafka_error(const kafka::KafkaError& error) {
    if (error.action == kafka::ErrorAction::Fatal) {
      throw PipelineFailure("kafka: " + error.describe());
    }
    owner_.status_.set_error("kafka: " + error.describe());
    // librdkafka repeats connection errors while they last: one line per 10 s is enough.
    const auto now = Clock::now();
    if (now - last_kafka_warning_ > 10s) {
      spdlog::warn("{}: kafka: {}", source_.name, error.describe());
      last_kafka_warning_ = now;
    }
  }

  void add(kafka::Message message) {  // by value: the message ends with this call
    InFlightRecord record;
    record.partition = message.partition();
    record.offset = message.offset();
    record.timestamp_ms = message.timestamp_ms();
    record.outcome = process(message);
    if (const auto* rejected = std::get_if<Rejected>(&record.outcome)) log_rejection(record, *rejected);
    // Copied out, so the librdkafka message (and the fetch buffer it pins) goes now.
    record.original = RetainedRecord(message.key(), message.value(), processor_.schema_prefix());
    record.held_bytes = held_bytes(record);
    writer_.add(std::move(record));
  }

  // A flood of bad records must not flood the log: ten lines per 10 s, then a count
  // (the status file counts every one).
  void log_rejection(const InFlightRecord& record, const Rejected& rejected) {
    const auto now = Clock::now();
    if (now - rejection_window_ >= 10s) {
      if (rejections_unlogged_ > 0) {
        spdlog::warn("{}: {} more records went to the dead-letter topic", source_.name, rejections_unlogged_);
      }
      rejection_window_ = now;
      rejections_logged_ = 0;
      rejections_unlogged_ = 0;
    }
    if (rejections_logged_ < 10) {
      ++rejections_logged_;
      spdlog::warn("{}: partition {} offset {} goes to the dead-letter topic ({}): {}", source_.name,
                   record.partition, record.offset, kafka::stage_name(rejected.stage), rejected.reason);
    } else {
      ++rejections_unlogged_;
    }
  }

  // The shared processor decides; only what the sink needs of it is held.
  Outcome process(const kafka::Message& message) {
    pipeline::Outcome outcome = processor_.process(message.value());
    if (auto* processed = std::get_if<pipeline::Processed>(&outcome)) return std::move(processed->change);
    if (auto* rejected = std::get_if<pipeline::Rejected>(&outcome)) {
      return Rejected{rejected->stage, std::move(rejected->reason)};
    }
    return Tombstone{};
  }

  // Writer thread: the status counts the transaction; its offsets wait for the
  // pipeline thread (publish_commits), which owns the consumer.
  void on_committed(const CommitSummary& summary) {
    const sink::Batch& batch = summary.batch;
    owner_.status_.add_commit(batch.record_count, static_cast<int64_t>(batch.changes.size()),
                              static_cast<int64_t>(summary.dead_lettered),
                              static_cast<int64_t>(summary.tombstones), batch.next_offsets);
    {
      std::lock_guard lock(committed_mutex_);
      for (const auto& [partition, offset] : batch.next_offsets) committed_[partition] = offset;
    }
    spdlog::debug("{}: committed {} records ({} changes, {} dead-lettered, {} tombstones)",
                  source_.name, batch.record_count, batch.changes.size(), summary.dead_lettered,
                  summary.tombstones);
  }

  // Pipeline thread: positions for the lag, and Kafka's committed offsets for lag tools
  // (the sink holds the truth).
  void publish_commits() {
    kafka::Offsets committed;
    {
      std::lock_guard lock(committed_mutex_);
      if (committed_.empty()) return;
      committed.swap(committed_);
    }
    for (const auto& [partition, offset] : committed) {
      if (consumer_->assignment().contains(partition)) positions_[partition] = offset;
    }
    consumer_->commit_async(committed);
  }

  // From librdkafka's cached watermarks: no broker round trip on this thread.
  void refresh_lag() {
    const auto now = Clock::now();
    if (now - last_lag_ < 1s) return;
    last_lag_ = now;
    owner_.status_.set_lag(consumer_->lag(positions_));
  }

  Pipeline& owner_;
  const config::SourceConfig& source_;
  const config::SinkConfig& sink_config_;
  std::string group_;
  pipeline::RecordProcessor processor_;  // the same decisions as the endpoint dispatcher's
  SinkWriter sink_;                            // the writer thread's connection
  std::unique_ptr<sink::Sink> offsets_sink_;  // this thread's, for starting offsets
  KafkaDeadLetters dead_letters_;
  BatchCommitter committer_;
  std::optional<std::string> failure_;  // set inside consumer hooks, raised after poll()
  kafka::Offsets positions_;            // next offset per assigned partition, when known
  std::mutex committed_mutex_;
  kafka::Offsets committed_;            // written by the writer thread, not yet published
  int64_t consumed_ = 0;                // read since the last status update
  Clock::time_point last_lag_{};
  Clock::time_point last_kafka_warning_{};
  Clock::time_point rejection_window_{};
  int rejections_logged_ = 0;
  int64_t rejections_unlogged_ = 0;
  // Declared after what its thread uses; shutdown() stops it (its records hold
  // librdkafka messages) before the consumer closes.
  BatchWriter writer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::deque<kafka::Message> carry_;
};

Pipeline::Pipeline(const config::Config& config, const config::SourceConfig& source)
    : config_(config), source_(source), status_(source.name, source.topic, group_for(config, source)) {}

Pipeline::~Pipeline() {
  request_stop();
  join();
}

void Pipeline::start() {
  thread_ = std::thread([this] { run(); });
}

void Pipeline::request_stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
}

void Pipeline::join() {
  if (thread_.joinable()) thread_.join();
}

void Pipeline::run() {
  // An error the writer cannot retry in place (a Fatal sink error: permissions, a
  // table's columns, a Data error bisection could not pin on a row; records deleted
  // from Kafka unread) ends the Worker, not the pipeline: after a back-off a new Worker
  // reconnects and resumes from the sink's offsets, so an operator's fix (a grant, an
  // ALTER TABLE) is picked up without a restart, and the process never sits up with a
  // source that silently stopped. Each attempt is logged at error level and counted as a
  // retry in the status. Only a configuration error, which no retry can change, ends
  // the pipeline; the supervisor then exits non-zero.
  pipeline::Backoff restarts(config_.sink.retry_initial, config_.sink.retry_max);
  while (!stop_.load()) {
    const auto started = Clock::now();
    try {
      Worker worker(*this);
      worker.run();
      status_.set_state(PipelineState::Stopped);
      spdlog::info("{}: stopped", source_.name);
      break;
    } catch (const ConfigError& e) {
      status_.set_error(e.what());
      status_.set_state(PipelineState::Failed);
      spdlog::error("{}: pipeline stopped by a configuration error: {}", source_.name, e.what());
      failed_for_good_ = true;
      break;
    } catch (const std::exception& e) {
      // Worker's destructor has closed the consumer (leaving the group) by now.
      if (Clock::now() - started > 60s) restarts.reset();  // it had been running
      const auto delay = restarts.next();
      status_.set_error(e.what());
      status_.set_state(PipelineState::Failed);
      status_.add_retry();
      spdlog::error("{}: pipeline failed: {}; starting it again in {} ms (attempt {})", source_.name,
                    e.what(), delay.count(), restarts.attempts());
      std::unique_lock lock(wake_mutex_);
      if (wake_.wait_for(lock, delay, [this] { return stop_.load(); })) break;
      lock.unlock();
      status_.restarting();
    }
  }
  finished_ = true;
}

}  // namespace metersync::app
