#include "dispatch/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "core/failpoint.hpp"
#include "dispatch/batch_deliverer.hpp"
#include "dispatch/circuit_breaker.hpp"
#include "dispatch/http_sender.hpp"
#include "dispatch/partition_queue.hpp"
#include "dispatch/post_pool.hpp"
#include "kafka/consumer.hpp"
#include "kafka/dead_letter_producer.hpp"
#include "pipeline/backoff.hpp"
#include "pipeline/log_rate_limit.hpp"
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
        policy_(retry_settings(endpoint_)),
        breaker_(endpoint_.breaker_failures, endpoint_.retry_initial, endpoint_.retry_max),
        pool_(posts()),
        dead_letters_(client_settings(owner.config_, "metersync-" + source_.name + "-endpoint-dlq")),
        // Positions in the group's committed offsets (no starting_offsets): the endpoint
        // keeps no offsets of its own.
        consumer_(client_settings(owner.config_, "metersync-" + source_.name + "-endpoint"),
                  endpoint_group(owner.config_, source_), source_.topic,
                  kafka::Consumer::Hooks{{}, [this](const std::vector<int32_t>& partitions) { revoke(partitions); }},
                  kafka::ConsumerOptions{.report_partition_end = false,
                                         .group_instance_id = owner.config_.instance_id}) {
    owner_.stats_.circuit_open = false;
    if (auto* m = owner_.metrics_) m->circuit_open(false);
  }

  void run() {
    spdlog::info("dispatch [{}]: {} -> {} (group {}, up to {} posts in flight)", source_.name,
                 source_.topic, endpoint_.url, endpoint_group(owner_.config_, source_),
                 endpoint_.max_in_flight);
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
      for (PostDone& done : pool_.take_done()) judge(done);
      const auto now = Clock::now();
      start_posts(now);
      commit_soon(now);
      log_summary(now);
      refresh_lag(now);
    }
    // The posts in flight are waited for (their answers judged, so what was delivered is
    // committed); batches not yet delivered are not: they are sent again after the restart.
    wait_for_posts([](int32_t) { return true; });
    commit();
    consumer_.close();
  }

 private:
  // While posts are in flight their answers are looked for at least this often: the
  // partition's next batch waits for its predecessor's answer, and Kafka's poll cannot be
  // woken by the pool.
  static constexpr auto kAnswerPoll = 1ms;

  std::vector<PostPool::Post> posts() {
    std::vector<PostPool::Post> posts;
    for (int i = 0; i < endpoint_.max_in_flight; ++i) {
      auto sender = std::make_shared<HttpSender>(sender_settings(endpoint_));
      posts.emplace_back([this, sender](const std::string& body, const std::string& id) {
        return post(*sender, body, id);
      });
    }
    return posts;
  }

  std::chrono::milliseconds poll_timeout() const {
    if (pool_.in_flight() > 0) return kAnswerPoll;
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kIdlePoll);
    const auto now = Clock::now();
    auto until = [&](Clock::time_point at) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
      timeout = std::clamp(left, 0ms, timeout);
    };
    for (const auto& [partition, queue] : queues_) {
      if (auto at = queue.ready_at(limits_)) until(*at);
    }
    if (breaker_.state() == CircuitBreaker::State::Open) until(breaker_.next_probe());
    return timeout;
  }

  // One attempt, on a pool worker: timed and counted by its answer (the stats are atomics,
  // the metrics thread-safe).
  AttemptResult post(HttpSender& sender, const std::string& body, const std::string& batch_id) {
    const auto started = Clock::now();
    AttemptResult result = sender.post(body, batch_id);
    owner_.stats_.last_status = result.transport_error ? 0 : result.status;
    if (auto* m = owner_.metrics_) m->post(result.transport_error ? 0 : result.status, Clock::now() - started);
    return result;
  }

  PartitionQueue& queue_of(int32_t partition) {
    return queues_.try_emplace(partition, source_.name, partition).first->second;
  }

  // A record that becomes no event is settled with (or, with no batch queued, as) its
  // partition's progress.
  void settle_record(int32_t partition, int64_t offset, int64_t timestamp_ms) {
    ++owner_.stats_.records_settled;
    if (auto next = queue_of(partition).cover(offset, timestamp_ms)) settled(partition, *next, timestamp_ms);
  }

  // A partition's progress moved to `next`: committed soon, and the position of its lag.
  void settled(int32_t partition, int64_t next, int64_t newest_timestamp_ms) {
    settled_[partition] = next;
    positions_[partition] = next;
    newest_settled_ms_ = std::max(newest_settled_ms_, newest_timestamp_ms);
  }

  // The shared processor decides, as for the Meter Master pipeline: a tombstone is
  // skipped, a record of another table or one that cannot be decoded or mapped is kept in
  // the endpoint dead-letter topic with its stage and reason, a change is queued.
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
      log_rejection(partition, offset, *rejected);
      kafka::DeadLetter letter{rejected->stage, rejected->reason, message.topic(), partition,
                               offset, message.timestamp_ms(), message.key(), message.value()};
      if (!dead_letter(letter)) return;
      ++owner_.stats_.records_dead_lettered;
      if (auto* m = owner_.metrics_) {
        m->dead_letter({std::string(kafka::stage_name(rejected->stage)), rejected->reason,
                        std::string(message.topic()), partition, offset, 1});
      }
      return settle_record(partition, offset, message.timestamp_ms());
    }
    const auto& processed = std::get<pipeline::Processed>(outcome);
    EncodedEvent event = encode_event(source_.name, processed.event, processed.change,
                                      RecordRef{partition, offset});
    event.timestamp_ms = message.timestamp_ms();
    PartitionQueue& queue = queue_of(partition);
    queue.add(std::move(event), limits_, Clock::now());
    // The backlog stays on Kafka: a partition whose queue is full stops fetching until its
    // head settles.
    if (queue.full(limits_)) consumer_.pause(partition);
    start_posts(Clock::now());
  }

  // Rate-limited as the Meter Master pipeline's (pipeline::LogRateLimit): a flood of bad
  // records writes a few lines and a count, while the metric and the status count each one.
  void log_rejection(int32_t partition, int64_t offset, const pipeline::Rejected& rejected) {
    const auto turn = rejection_log_.next(Clock::now());
    if (turn.held_back > 0) {
      spdlog::warn("dispatch [{}]: {} more records went to {}", source_.name, turn.held_back,
                   dead_letter_topic_);
    }
    if (turn.write) {
      spdlog::warn("dispatch [{}]: record {}/{} goes to {} ({}): {}", source_.name, partition, offset,
                   dead_letter_topic_, kafka::stage_name(rejected.stage), rejected.reason);
    }
  }

  // Starts the posts that may go: each partition's head when ready, up to max_in_flight,
  // as the circuit breaker allows. Partitions are visited from where the last visit
  // stopped, so a busy low partition does not starve the others.
  void start_posts(Clock::time_point now) {
    if (queues_.empty()) return;
    auto from = queues_.upper_bound(last_started_);
    for (std::size_t visited = 0; visited < queues_.size(); ++visited, ++from) {
      if (from == queues_.end()) from = queues_.begin();
      if (pool_.in_flight() >= pool_.size()) return;
      auto& [partition, queue] = *from;
      if (!queue.ready(limits_, now)) continue;
      const CircuitBreaker::Permit permit = breaker_.permit(now);
      if (permit == CircuitBreaker::Permit::Wait) return;
      const PendingBatch& batch = queue.start();
      pool_.submit(PostJob{partition, batch.body(), batch.batch_id(),
                           permit == CircuitBreaker::Permit::Probe});
      last_started_ = partition;
      if (permit == CircuitBreaker::Permit::Probe) {
        spdlog::info("dispatch [{}]: endpoint unavailable, probing with batch {}", source_.name,
                     batch.batch_id());
      }
    }
  }

  // One answer, on the dispatcher's thread: the retry policy and the circuit breaker decide.
  void judge(const PostDone& done) {
    const int32_t partition = done.job.partition;
    auto found = queues_.find(partition);
    if (found == queues_.end()) return;  // revoked meanwhile (revoke waits, so not expected)
    PartitionQueue& queue = found->second;
    const AttemptResult& result = done.result;
    const auto now = Clock::now();
    if (stopping_) {
      // Judged for what it settles; a failure is not retried (the batch is sent again after
      // the restart) and counts toward nothing.
      if (classify(result) == Verdict::Retry) {
        queue.abandon();
        if (done.job.probe) breaker_.probe_abandoned();
        return;
      }
    }
    const Verdict verdict = classify(result);
    if (verdict == Verdict::Retry) {
      std::optional<std::chrono::milliseconds> asked;
      if (result.retry_after) asked = parse_retry_after(*result.retry_after, std::chrono::system_clock::now());
      const bool was_open = breaker_.open();
      breaker_.failed(now, asked, done.job.probe);
      ++owner_.stats_.failed_attempts;
      owner_.stats_.failing = true;
      if (auto* m = owner_.metrics_) m->retry();
      if (breaker_.open()) {
        // The endpoint is unavailable: the batch waits for the breaker, and the attempt is
        // not counted against max_attempts, so an outage dead-letters nothing.
        queue.retry_at(now);
        if (!was_open) {
          spdlog::error("dispatch [{}]: endpoint unavailable after {} failed posts in a row (last: {}); "
                        "partitions paused, probing with back-off", source_.name,
                        breaker_.failures_in_a_row(), result.describe());
        } else {
          spdlog::warn("dispatch [{}]: {} {} failed ({}); next probe in {} ms", source_.name,
                       done.job.probe ? "probe" : "post", done.job.batch_id, result.describe(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(breaker_.next_probe() - now).count());
        }
        show_breaker();
        return;
      }
      const int attempt = queue.count_attempt();
      Decision decision = policy_.decide(result, attempt);
      if (decision.verdict == Verdict::Retry) {
        if (auto* m = owner_.metrics_) {
          if (result.retry_after) m->retry_after(decision.wait);
        }
        spdlog::warn("dispatch [{}]: batch {} attempt {} failed ({}); retrying in {} ms", source_.name,
                     done.job.batch_id, attempt, result.describe(), decision.wait.count());
        queue.retry_at(now + decision.wait);
        return;
      }
      settle(queue, done, DeliveryOutcome{DeliveryOutcome::Kind::DeadLetter, attempt,
                                          "gave up after " + std::to_string(attempt) +
                                              " attempts; last: " + result.describe()});
      return;
    }
    // Answered: the endpoint is there, whatever it said.
    const bool was_open = breaker_.open();
    breaker_.succeeded();
    if (was_open) {
      spdlog::info("dispatch [{}]: endpoint available again ({}); partitions resumed", source_.name,
                   result.describe());
      show_breaker();
    }
    settle(queue, done,
           verdict == Verdict::Delivered
               ? DeliveryOutcome{DeliveryOutcome::Kind::Delivered, queue.attempts() + 1, ""}
               : DeliveryOutcome{DeliveryOutcome::Kind::DeadLetter, queue.attempts() + 1, result.describe()});
  }

  // The breaker's state to the stats, the metrics and the consumer: while open nothing is
  // fetched, the backlog waits on Kafka.
  void show_breaker() {
    const bool open = breaker_.open();
    if (open && !owner_.stats_.circuit_open) {
      owner_.stats_.circuit_opened_at_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch()).count();
    }
    owner_.stats_.circuit_open = open;
    owner_.stats_.failures_in_a_row = breaker_.failures_in_a_row();
    if (auto* m = owner_.metrics_) m->circuit_open(open);
    if (open) {
      consumer_.pause();
    } else {
      consumer_.resume();
    }
  }

  // The head of `queue` is delivered or to be dead-lettered.
  void settle(PartitionQueue& queue, const PostDone& done, const DeliveryOutcome& outcome) {
    const PendingBatch& batch = queue.head();
    switch (outcome.kind) {
      case DeliveryOutcome::Kind::Stopped:
        queue.abandon();
        return;
      case DeliveryOutcome::Kind::Delivered:
        owner_.stats_.events_delivered += static_cast<int64_t>(batch.size());
        ++owner_.stats_.batches_delivered;
        if (auto* m = owner_.metrics_) {
          m->delivered(static_cast<int64_t>(batch.size()));
          m->committed(static_cast<int64_t>(batch.size()), std::chrono::system_clock::now());
        }
        spdlog::debug("dispatch [{}]: batch {} ({} events) delivered", source_.name,
                      done.job.batch_id, batch.size());
        break;
      case DeliveryOutcome::Kind::DeadLetter: {
        spdlog::error("dispatch [{}]: batch {} ({} events) to {}: {}", source_.name, done.job.batch_id,
                      batch.size(), dead_letter_topic_, outcome.last_error);
        kafka::DeadLetter letter{kafka::Stage::Endpoint, outcome.last_error, source_.topic,
                                 batch.partition(), batch.first_offset(), -1, done.job.batch_id,
                                 done.job.body, batch.last_offset()};
        if (!dead_letter(letter)) {
          queue.abandon();
          return;
        }
        ++owner_.stats_.batches_dead_lettered;
        if (auto* m = owner_.metrics_) {
          m->dead_letter({std::string(kafka::stage_name(kafka::Stage::Endpoint)), outcome.last_error,
                          source_.topic, batch.partition(), batch.first_offset(),
                          static_cast<int64_t>(batch.size())});
        }
        break;
      }
    }
    const auto size = static_cast<int64_t>(batch.size());
    const int32_t partition = batch.partition();
    const int64_t newest_timestamp_ms = batch.newest_timestamp_ms();
    settled(partition, queue.settle(), newest_timestamp_ms);
    owner_.stats_.records_settled += size;
    owner_.stats_.failing = false;
    if (consumer_.paused(partition) && !queue.full(limits_)) consumer_.resume(partition);
    commit_soon(Clock::now());
  }

  // Waits for the posts in flight of the partitions `which` selects, judging every answer
  // that comes meanwhile (revoke, stop: a post is not left in flight for a partition this
  // member gives up, so its next owner never has a second one beside it).
  template <typename Which>
  void wait_for_posts(Which which) {
    auto any = [&] {
      for (const auto& [partition, queue] : queues_) {
        if (queue.in_flight() && which(partition)) return true;
      }
      return false;
    };
    while (any()) {
      for (PostDone& done : pool_.wait_done(100ms)) judge(done);
    }
  }

  // Writes one dead letter and waits for the broker's acknowledgement, retrying until it
  // is stored: progress never moves past a record that is neither delivered nor kept.
  bool dead_letter(const kafka::DeadLetter& letter) {
    pipeline::Backoff backoff(200ms, 10s);
    while (!stopping_) {
      auto sent = dead_letters_.send(dead_letter_topic_, letter);
      if (sent) sent = dead_letters_.flush(30s);
      if (sent) {
        // A crash here sends this dead letter again after the restart, with the same identity
        // (docs/operating.md, Dead letters); the fault test stops here and kills the process.
        failpoint("endpoint-dead-letter-flushed");
        return true;
      }
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
    owner_.stats_.partitions.set(consumer_.assignment());
    if (auto* m = owner_.metrics_) m->assigned(consumer_.assignment());
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
    wait_for_posts([&](int32_t partition) {
      return std::find(partitions.begin(), partitions.end(), partition) != partitions.end();
    });
    commit();
    for (int32_t p : partitions) {
      if (auto* m = owner_.metrics_) m->forget_partition(p);
      queues_.erase(p);
      settled_.erase(p);
      sent_.erase(p);
      positions_.erase(p);
      asked_.erase(p);
    }
    // An open circuit probes with a queued batch: with none left here, fetching resumes so
    // that one comes (its first failed probe pauses again).
    if (breaker_.open() && std::all_of(queues_.begin(), queues_.end(),
                                       [](const auto& entry) { return entry.second.empty(); })) {
      consumer_.resume();
    }
  }

  Dispatcher& owner_;
  const config::SourceConfig& source_;
  const config::EndpointConfig& endpoint_;
  const std::atomic<bool>& stopping_;
  BatchLimits limits_;
  std::string dead_letter_topic_;
  pipeline::RecordProcessor processor_;  // the same decisions as the Meter Master pipeline's
  pipeline::LogRateLimit rejection_log_;
  RetryPolicy policy_;
  CircuitBreaker breaker_;
  std::map<int32_t, PartitionQueue> queues_;
  int32_t last_started_ = -1;              // the partition whose head was posted last
  PostPool pool_;                          // after what its workers' posts use
  kafka::DeadLetterProducer dead_letters_;
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
