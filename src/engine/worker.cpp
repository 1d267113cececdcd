#include "engine/worker.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "engine/pipeline.hpp"
#include "pipeline/topics.hpp"

namespace metersync::engine {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A fatal condition met outside the destination (Kafka, hooks): ends this run only.
class RunFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

kafka::ClientSettings kafka_settings(const config::Config& config, const std::string& client_id) {
  return kafka::ClientSettings{config.kafka.bootstrap_servers, config.kafka.properties, client_id};
}

}  // namespace

Worker::Worker(const config::Config& config, const config::SourceConfig& source,
               Destination& destination, PipelineStatus& status, const StopSignal& stop)
    : config_(config),
      source_(source),
      status_(status),
      stop_(stop),
      group_(group_for(config, source)),
      intake_(source),
      starting_offsets_(destination, group_, source.topic, stop,
                        StartingOffsets::Retry{config.sink.retry_initial, config.sink.retry_max,
                                               [this](const std::string& message, int attempt) {
                                                 note_retry(message, attempt);
                                               }}),
      writer_connection_(destination),
      dead_letters_(kafka_settings(config, group_ + "-dlq"), source.topic,
                    pipeline::topics_of(source).dead_letters),
      progress_(source.name, status),
      committer_(writer_connection_, dead_letters_, group_, source.topic,
                 [this](const CommitSummary& summary) { progress_.committed(summary); }),
      writer_(committer_, BatchWriter::Settings::from(config.sink), writer_hooks()) {
  committer_.on_refused([this](const Error& error) {
    if (auto* m = status_.metrics(); m != nullptr && error.stage == Stage::Sink) m->sink_error(kind_name(error.kind));
  });
}

Worker::~Worker() { shutdown(); }

void Worker::run() {
  // The destination first: its connection serves the first assignment's offsets.
  auto reachable = starting_offsets_.wait_for_destination();
  if (!reachable) throw RunFailure(reachable.error().describe());
  if (!*reachable) return;
  writer_.start();
  consumer_ = std::make_unique<kafka::Consumer>(
      kafka_settings(config_, group_), group_, source_.topic,
      kafka::Consumer::Hooks{
          [this](const std::vector<int32_t>& p) { return starting_offsets(p); },
          [this](const std::vector<int32_t>& p) { revoking(p); }},
      kafka::ConsumerOptions{.report_partition_end = false,
                             .group_instance_id = config_.instance_id});
  spdlog::info("{}: consuming {} as group {} (instance {}), dead letters to {}", source_.name,
               source_.topic, group_, config_.instance_id.empty() ? "-" : config_.instance_id,
               dead_letters_.topic());
  status_.set_state(PipelineState::Running);
  while (!stop_.requested()) step();
}

// Unwritten records are abandoned: the stored offsets make the next run read them again.
// Runs while every member is alive: closing the consumer calls revoking().
void Worker::shutdown() {
  const std::size_t unwritten = writer_.unwritten() + carry_.size();
  writer_.stop();  // a transaction in progress ends first
  if (unwritten > 0) {
    spdlog::info("{}: abandoning {} unwritten records; they are read again on restart",
                 source_.name, unwritten);
  }
  carry_.clear();
  if (consumer_) consumer_->close();
  // This run holds nothing any more (the next one reports what it gets).
  status_.set_partitions({});
  if (auto* m = status_.metrics()) m->assigned({});
}

// Run on the writer thread.
BatchWriter::Hooks Worker::writer_hooks() {
  BatchWriter::Hooks hooks;
  hooks.transient_failure = [this](const std::string& message) {
    writer_connection_.disconnect();  // the next attempt reconnects
    status_.add_retry();
    status_.set_error(message);
    status_.set_state(PipelineState::Retrying);
    spdlog::warn("{}: {} (retrying)", source_.name, message);
  };
  hooks.recovered = [this] {
    status_.set_state(PipelineState::Running);
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

void Worker::note_retry(const std::string& message, int attempt) {
  status_.add_retry();
  status_.set_error(message);
  status_.set_state(PipelineState::Retrying);
  spdlog::warn("{}: {} (attempt {}, retrying)", source_.name, message, attempt);
}

void Worker::raise_if_failed() {
  if (const auto& failed = starting_offsets_.failure()) throw RunFailure(*failed);
  if (auto failed = writer_.failure()) throw RunFailure(*failed);
}

// Runs inside poll(). The writer holds no record of these partitions (revoking() dropped
// them), so nothing it commits later can move them.
std::optional<kafka::Offsets> Worker::starting_offsets(const std::vector<int32_t>& partitions) {
  std::optional<kafka::Offsets> stored = starting_offsets_.load();
  if (stored) progress_.assigned(partitions, *stored);
  return stored;
}

// Runs inside poll()/close(): records of revoked partitions that were not written are
// dropped; the partitions' next owner reads them again from the stored offsets. A write
// in progress ends first (BatchWriter::revoke), so none covering them commits after this
// returns.
void Worker::revoking(const std::vector<int32_t>& partitions) {
  std::size_t dropped = writer_.revoke(partitions);
  const std::size_t carried = carry_.size();
  std::erase_if(carry_, [&](const kafka::Message& m) {
    return std::find(partitions.begin(), partitions.end(), m.partition()) != partitions.end();
  });
  dropped += carried - carry_.size();
  progress_.publish(*consumer_);
  progress_.revoked(partitions, stop_.requested());
  if (dropped > 0) {
    spdlog::info("{}: partitions revoked, {} unwritten records left to their next owner",
                 source_.name, dropped);
  }
}

// One turn of the pipeline thread: hand over a record, or wait for room.
void Worker::step() {
  raise_if_failed();
  progress_.publish(*consumer_);
  progress_.refresh_lag(*consumer_);
  if (!writer_.has_room()) {
    flush_consumed();
    if (writer_.retrying()) {
      // The destination is down and the next batch is full: stop fetching, keep polling
      // so the group keeps us (records already fetched wait in carry_).
      if (!consumer_->paused()) consumer_->pause();
      poll_into_carry(100ms);
    } else {
      writer_.wait_for_room(100ms);
    }
    return;
  }
  if (!carry_.empty()) {
    writer_.add(intake_.take(std::move(carry_.front())));
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
  status_.add_consumed(1);  // before the writer can commit it
  writer_.add(intake_.take(std::move(*message)));
  if (++consumed_ >= 1000) flush_consumed();
}

void Worker::poll_into_carry(std::chrono::milliseconds timeout) {
  auto polled = consumer_->poll(timeout);
  raise_if_failed();
  if (!polled) {
    handle_kafka_error(polled.error());
  } else if (auto& message = *polled) {
    carry_.push_back(std::move(*message));  // read ahead of the paused fetch
    status_.add_consumed(1);
    ++consumed_;
  }
}

void Worker::flush_consumed() {
  if (consumed_ == 0) return;
  status_.export_consumed(consumed_);
  consumed_ = 0;
}

void Worker::handle_kafka_error(const Error& error) {
  if (error.kind == ErrorKind::Fatal) throw RunFailure("kafka: " + error.describe());
  status_.set_error("kafka: " + error.describe());
  // librdkafka repeats connection errors while they last: one line per 10 s is enough.
  const auto now = Clock::now();
  if (now - last_kafka_warning_ > 10s) {
    spdlog::warn("{}: kafka: {}", source_.name, error.describe());
    last_kafka_warning_ = now;
  }
}

}  // namespace metersync::engine
