#include "dispatch/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <thread>

#include "dispatch/batch_deliverer.hpp"
#include "dispatch/http_sender.hpp"
#include "dispatch/pending_batch.hpp"
#include "kafka/consumer.hpp"
#include "kafka/dead_letter_producer.hpp"
#include "pipeline/backoff.hpp"
#include "pipeline/record_processor.hpp"
#include "pipeline/topics.hpp"
#include "wire/webhook_signature.hpp"

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kIdlePoll = 100ms;
// Progress is sent to Kafka at most this often while running (and at once, waited for, at
// a revoke and at stop): a crash meanwhile re-sends at most this much, with the same ids.
constexpr auto kCommitEvery = 100ms;
// The group's committed offsets, asked once per assignment for the lag.
constexpr auto kCommittedTimeout = 2s;

kafka::ClientSettings client_settings(const config::Config& config, const std::string& client_id) {
  return kafka::ClientSettings{config.kafka.bootstrap_servers, config.kafka.properties, client_id};
}

}  // namespace

std::string endpoint_group(const config::Config& config, const config::SourceConfig& source) {
  return config.kafka.group_prefix + "-" + source.name + "-endpoint";
}

SenderSettings sender_settings(const config::EndpointConfig& endpoint) {
  return SenderSettings{.url = endpoint.url,
                        .authorization = endpoint.auth_header,
                        .signing_secret = endpoint.signing_secret,
                        .signing_secret_previous = endpoint.signing_secret_previous,
                        .signing_secret_previous_until = endpoint.signing_secret_previous_until,
                        .signature_scheme = endpoint.signature_scheme,
                        .connect_timeout = endpoint.connect_timeout,
                        .request_timeout = endpoint.request_timeout,
                        .tls_verify = endpoint.tls_verify,
                        .ca_file = endpoint.ca_file};
}

RetrySettings retry_settings(const config::EndpointConfig& endpoint) {
  return RetrySettings{endpoint.retry_initial, endpoint.retry_max, endpoint.max_attempts};
}

// One run of the dispatcher: the objects that live as long as its thread.
class Dispatcher::Loop {
 public:
  Loop(Dispatcher& owner, const std::atomic<bool>& stopping)
      : owner_(owner),
        source_(owner.source_),
        // Dispatcher's constructor refuses a source without an endpoint.
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access)
        endpoint_(*owner.source_.endpoint),
        stopping_(stopping),
        limits_{endpoint_.max_batch_events, endpoint_.max_batch_bytes, endpoint_.linger},
        dead_letter_topic_(pipeline::topics_of(source_).endpoint_dead_letters),
        processor_(source_),
        sender_(sender_settings(endpoint_)),
        deliverer_(
            [this](const std::string& body, const std::string& id) { return post(body, id); },
            RetryPolicy(retry_settings(endpoint_)), stopping,
            [this](const AttemptResult& result, int attempt, std::chrono::milliseconds wait) {
              ++owner_.stats_.failed_attempts;
              owner_.stats_.failing = true;
              if (auto* m = owner_.metrics_) {
                m->retry();
                if (result.retry_after) m->retry_after(wait);
              }
              spdlog::warn("dispatch [{}]: attempt {} failed ({}); retrying in {} ms", source_.name,
                           attempt, result.describe(), wait.count());
            }),
        dead_letters_(client_settings(owner.config_, "metersync-" + source_.name + "-endpoint-dlq")),
        // Positions in the group's committed offsets (no starting_offsets): the endpoint
        // keeps no offsets of its own.
        consumer_(client_settings(owner.config_, "metersync-" + source_.name + "-endpoint"),
                  endpoint_group(owner.config_, source_), source_.topic,
                  kafka::Consumer::Hooks{{}, [this](const std::vector<int32_t>& partitions) { revoke(partitions); }}) {}

  void run() {
    spdlog::info("dispatch [{}]: {} -> {} (group {})", source_.name, source_.topic, endpoint_.url,
                 endpoint_group(owner_.config_, source_));
    while (!stopping_) {
      auto polled = consumer_.poll(poll_timeout());
      if (!polled) {
        if (polled.error().kind == ErrorKind::Fatal) {
          throw std::runtime_error("dispatch [" + source_.name + "]: " + polled.error().describe());
        }
        spdlog::warn("dispatch [{}]: {}", source_.name, polled.error().describe());
        std::this_thread::sleep_for(kIdlePoll);
      } else if (const auto& message = *polled) {
        handle(*message);
      }
      const auto now = Clock::now();
      for (auto& [partition, batch] : batches_) {
        if (batch.due(limits_, now) && !settle(batch)) break;
      }
      commit_soon(now);
      log_summary(now);
      refresh_lag(now);
    }
    // Settled progress is committed; unsettled batches are not: they are sent again after
    // the restart.
    commit();
    consumer_.close();
  }

 private:
  std::chrono::milliseconds poll_timeout() const {
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kIdlePoll);
    const auto now = Clock::now();
    for (const auto& [partition, batch] : batches_) {
      if (batch.empty()) continue;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(batch.deadline(limits_) - now);
      timeout = std::clamp(left, 0ms, timeout);
    }
    return timeout;
  }

  // One attempt, timed and counted by its answer.
  AttemptResult post(const std::string& body, const std::string& batch_id) {
    const auto started = Clock::now();
    AttemptResult result = sender_.post(body, batch_id);
    owner_.stats_.last_status = result.transport_error ? 0 : result.status;
    if (auto* m = owner_.metrics_) m->post(result.transport_error ? 0 : result.status, Clock::now() - started);
    return result;
  }

  PendingBatch& batch_of(int32_t partition) {
    return batches_.try_emplace(partition, source_.name, partition).first->second;
  }

  // A record that becomes no event is settled with (or, with no batch pending, as) its
  // partition's progress.
  void settle_record(int32_t partition, int64_t offset, int64_t timestamp_ms) {
    ++owner_.stats_.records_settled;
    PendingBatch& batch = batch_of(partition);
    if (batch.empty()) {
      settled(partition, offset + 1, timestamp_ms);
    } else {
      batch.cover(offset, timestamp_ms);
    }
  }

  // A partition's progress moved to `next`: committed soon, and the position of its lag.
  void settled(int32_t partition, int64_t next, int64_t newest_timestamp_ms) {
    settled_[partition] = next;
    positions_[partition] = next;
    newest_settled_ms_ = std::max(newest_settled_ms_, newest_timestamp_ms);
  }

  // The shared processor decides, as for the Meter Master pipeline: a tombstone is
  // skipped, a record of another table or one that cannot be decoded or mapped is kept in
  // the endpoint dead-letter topic with its stage and reason, a change is sent.
  void handle(const kafka::Message& message) {
    ++owner_.stats_.records;
    if (auto* m = owner_.metrics_) m->consumed(1);
    const int32_t partition = message.partition();
    const int64_t offset = message.offset();
    pipeline::Outcome outcome = processor_.process(message.value());
    if (std::holds_alternative<pipeline::Tombstone>(outcome)) {
      if (auto* m = owner_.metrics_) m->tombstones(1);
      return settle_record(partition, offset, message.timestamp_ms());
    }
    if (const auto* rejected = std::get_if<pipeline::Rejected>(&outcome)) {
      spdlog::warn("dispatch [{}]: record {}/{} goes to {} ({}): {}", source_.name, partition, offset,
                   dead_letter_topic_, kafka::stage_name(rejected->stage), rejected->reason);
      kafka::DeadLetter letter{rejected->stage, rejected->reason, message.topic(), partition,
                               offset, message.timestamp_ms(), message.key(), message.value()};
      if (!dead_letter(letter)) return;
      ++owner_.stats_.records_dead_lettered;
      if (auto* m = owner_.metrics_) m->dead_letters(kafka::stage_name(rejected->stage), 1);
      return settle_record(partition, offset, message.timestamp_ms());
    }
    const auto& processed = std::get<pipeline::Processed>(outcome);
    EncodedEvent event = encode_event(source_.name, processed.event, processed.change,
                                      RecordRef{partition, offset});
    event.timestamp_ms = message.timestamp_ms();
    PendingBatch& batch = batch_of(partition);
    if (!batch.fits(event, limits_) && !settle(batch)) return;
    batch.add(std::move(event));
    if (batch.due(limits_, Clock::now())) settle(batch);
  }

  // Posts the batch until delivered or dead-lettered. False when stopping first.
  bool settle(PendingBatch& batch) {
    const std::string body = batch.body();
    const std::string batch_id = batch.batch_id();
    DeliveryOutcome outcome = deliverer_.deliver(body, batch_id);
    switch (outcome.kind) {
      case DeliveryOutcome::Kind::Stopped:
        return false;
      case DeliveryOutcome::Kind::Delivered:
        owner_.stats_.events_delivered += static_cast<int64_t>(batch.size());
        ++owner_.stats_.batches_delivered;
        if (auto* m = owner_.metrics_) {
          m->delivered(static_cast<int64_t>(batch.size()));
          m->committed(static_cast<int64_t>(batch.size()), std::chrono::system_clock::now());
        }
        spdlog::debug("dispatch [{}]: batch {} ({} events) delivered", source_.name, batch_id,
                      batch.size());
        break;
      case DeliveryOutcome::Kind::DeadLetter: {
        spdlog::error("dispatch [{}]: batch {} ({} events) to {}: {}", source_.name, batch_id,
                      batch.size(), dead_letter_topic_, outcome.last_error);
        kafka::DeadLetter letter{kafka::Stage::Endpoint, outcome.last_error, source_.topic,
                                 batch.partition(), batch.first_offset(), -1, batch_id, body};
        if (!dead_letter(letter)) return false;
        ++owner_.stats_.batches_dead_lettered;
        if (auto* m = owner_.metrics_) m->dead_letters(kafka::stage_name(kafka::Stage::Endpoint), static_cast<int64_t>(batch.size()));
        break;
      }
    }
    settled(batch.partition(), batch.next_offset(), batch.newest_timestamp_ms());
    owner_.stats_.records_settled += static_cast<int64_t>(batch.size());
    owner_.stats_.failing = false;
    batch.clear();
    commit_soon(Clock::now());
    return true;
  }

  // Writes one dead letter and waits for the broker's acknowledgement, retrying until it
  // is stored: progress never moves past a record that is neither delivered nor kept.
  bool dead_letter(const kafka::DeadLetter& letter) {
    pipeline::Backoff backoff(200ms, 10s);
    while (!stopping_) {
      auto sent = dead_letters_.send(dead_letter_topic_, letter);
      if (sent) sent = dead_letters_.flush(30s);
      if (sent) return true;
      if (sent.error().kind == ErrorKind::Fatal) {
        throw std::runtime_error("dispatch [" + source_.name + "]: dead-letter topic " +
                                 dead_letter_topic_ + ": " + sent.error().describe());
      }
      spdlog::warn("dispatch [{}]: dead letter to {} failed ({}), retrying", source_.name,
                   dead_letter_topic_, sent.error().describe());
      std::this_thread::sleep_for(backoff.next());
    }
    return false;
  }

  // Progress off the delivery path: a synchronous commit is a broker round trip that every
  // batch (and, with nothing pending, every tombstone) used to wait for before the next
  // post. Sent without waiting, at most every kCommitEvery; a lost commit is covered by the
  // next one of its partition, or by the waited-for commit at revoke and stop.
  void commit_soon(Clock::time_point now) {
    if (settled_.empty() || now - last_commit_ < kCommitEvery) return;
    consumer_.commit_async(settled_);
    for (const auto& [partition, next] : settled_) sent_[partition] = next;
    settled_.clear();
    last_commit_ = now;
  }

  // Commits and waits for the broker (revoke, stop), again with the progress sent without
  // waiting since the last such commit, in case one of those was lost.
  void commit() {
    for (const auto& [partition, next] : sent_) settled_.try_emplace(partition, next);
    sent_.clear();
    if (settled_.empty()) return;
    auto committed = consumer_.commit(settled_);
    if (committed) {
      settled_.clear();
    } else {
      // Kept and tried again with the next commit; a crash meanwhile only re-sends.
      spdlog::warn("dispatch [{}]: commit failed: {}", source_.name, committed.error().describe());
    }
  }

  // The lag of every assigned partition, once a second, for readiness and the metrics. Its
  // position is what this run settled there or, before that, the group's committed offset:
  // asked of the broker once per assignment (a round trip on this thread, bounded by
  // kCommittedTimeout; without it the low watermark would count the whole partition as lag).
  void refresh_lag(Clock::time_point now) {
    if (now - last_lag_ < 1s) return;
    last_lag_ = now;
    std::vector<int32_t> unknown;
    for (int32_t partition : consumer_.assignment()) {
      if (!positions_.contains(partition) && !asked_.contains(partition)) unknown.push_back(partition);
    }
    if (!unknown.empty()) {
      auto committed = consumer_.committed(unknown, kCommittedTimeout);
      if (!committed) {
        // Asked again next second; meanwhile the lag is unknown rather than wrong.
        spdlog::warn("dispatch [{}]: the group's committed offsets: {}", source_.name, committed.error().describe());
        owner_.stats_.lag = -1;
        return;
      }
      for (const auto& [partition, next] : *committed) positions_.try_emplace(partition, next);
      asked_.insert(unknown.begin(), unknown.end());
    }
    const auto lags = consumer_.partition_lag(positions_);
    if (!lags) {
      owner_.stats_.lag = -1;
      return;
    }
    int64_t total = 0;
    for (const auto& [partition, records] : *lags) total += records;
    owner_.stats_.lag = total;
    if (auto* m = owner_.metrics_) m->lags(*lags, newest_settled_ms_, std::chrono::system_clock::now());
  }

  // An info line every 10 s while something happens (the sink pipelines log theirs likewise).
  void log_summary(Clock::time_point now) {
    if (now - last_summary_ < 10s) return;
    last_summary_ = now;
    const DispatchStats& s = owner_.stats_;
    const int64_t delivered = s.events_delivered.load();
    if (delivered == summarized_delivered_ && s.failed_attempts.load() == summarized_failures_) return;
    spdlog::info("dispatch [{}]: consumed {}, delivered {} (+{}) in {} batches, dead-lettered {} "
                 "batches and {} records, failed attempts {}",
                 source_.name, s.records.load(), delivered, delivered - summarized_delivered_,
                 s.batches_delivered.load(), s.batches_dead_lettered.load(),
                 s.records_dead_lettered.load(), s.failed_attempts.load());
    summarized_delivered_ = delivered;
    summarized_failures_ = s.failed_attempts.load();
  }

  void revoke(const std::vector<int32_t>& partitions) {
    commit();
    for (int32_t p : partitions) {
      if (auto* m = owner_.metrics_) m->forget_partition(p);
      batches_.erase(p);
      settled_.erase(p);
      sent_.erase(p);
      positions_.erase(p);
      asked_.erase(p);
    }
  }

  Dispatcher& owner_;
  const config::SourceConfig& source_;
  const config::EndpointConfig& endpoint_;
  const std::atomic<bool>& stopping_;
  BatchLimits limits_;
  std::string dead_letter_topic_;
  pipeline::RecordProcessor processor_;  // the same decisions as the Meter Master pipeline's
  HttpSender sender_;
  BatchDeliverer deliverer_;
  kafka::DeadLetterProducer dead_letters_;
  std::map<int32_t, PendingBatch> batches_;
  std::map<int32_t, int64_t> settled_;  // next offsets to commit
  std::map<int32_t, int64_t> sent_;     // next offsets committed without waiting
  kafka::Offsets positions_;            // settled position per assigned partition, for the lag
  std::set<int32_t> asked_;             // partitions whose committed offset the broker gave
  int64_t newest_settled_ms_ = -1;      // the newest Kafka timestamp settled, for the lag in seconds
  Clock::time_point last_summary_ = Clock::now();
  Clock::time_point last_commit_{};
  Clock::time_point last_lag_{};
  int64_t summarized_delivered_ = 0;
  int64_t summarized_failures_ = 0;
  kafka::Consumer consumer_;            // last: its revoke hook uses the members above
};

Dispatcher::Dispatcher(const config::Config& config, const config::SourceConfig& source,
                       metrics::EndpointMetrics* metrics)
    : config_(config), source_(source), metrics_(metrics) {
  if (!source_.endpoint) {
    throw ConfigError("sources." + source_.name + ".endpoint: missing (no endpoint to dispatch to)");
  }
  if (source_.endpoint->url.empty()) {
    throw ConfigError("sources." + source_.name + ".endpoint.url: empty (set the endpoint's URL)");
  }
  pipeline::RecordProcessor check(source_);  // mapping and declared columns fail here, at start
  // A secret that stands for no key fails here, at start, with the key that holds it.
  const auto& endpoint = *source_.endpoint;
  for (const auto& [name, secret] : {std::pair{"signing_secret", &endpoint.signing_secret},
                                     std::pair{"signing_secret_previous", &endpoint.signing_secret_previous}}) {
    if (!*secret) continue;
    if (auto key = wire::signing_key(**secret); !key) {
      throw ConfigError("sources." + source_.name + ".endpoint." + name + ": " + key.error());
    }
  }
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::run(const std::atomic<bool>& stopping) {
  Loop loop(*this, stopping);
  loop.run();
}

}  // namespace metersync::dispatch
