#include "dispatch/replay.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <thread>

#include "dispatch/batch_deliverer.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/http_sender.hpp"
#include "kafka/consumer.hpp"
#include "kafka/dead_letter_producer.hpp"
#include "pipeline/topics.hpp"

namespace metersync::dispatch {

ReplayResult replay(const config::Config& config, const config::SourceConfig& source,
                    const std::atomic<bool>& stopping) {
  using namespace std::chrono_literals;
  if (!source.endpoint) {
    throw ConfigError("sources." + source.name + ".endpoint: missing (nothing to replay to)");
  }
  const std::string topic = pipeline::topics_of(source).endpoint_dead_letters;
  const std::string group = endpoint_group(config, source) + "-replay";
  kafka::ClientSettings settings{config.kafka.bootstrap_servers, config.kafka.properties,
                                 "metersync-" + source.name + "-replay"};
  // Read from the beginning on every run: the dead letters before the replay group's committed
  // offsets were handled by an earlier run, and their identities are what a repeat of one
  // (a crash between a dead letter's flush and the commit past it sends it twice) is
  // recognised by. Progress is still the group's committed offsets.
  kafka::Consumer consumer(
      settings, group, topic,
      kafka::Consumer::Hooks{.starting_offsets = [](const std::vector<int32_t>&) {
                               return std::optional<kafka::Offsets>(kafka::Offsets{});
                             },
                             .revoking = {}},
      kafka::Consumer::Options{.report_partition_end = true, .group_instance_id = {}});
  HttpSender sender(sender_settings(*source.endpoint));
  BatchDeliverer deliverer(
      [&](const std::string& body, const std::string& id) { return sender.post(body, id); },
      RetryPolicy(retry_settings(*source.endpoint)), stopping,
      [&](const AttemptResult& result, int attempt, std::chrono::milliseconds wait) {
        spdlog::warn("replay [{}]: attempt {} failed ({}); retrying in {} ms", source.name, attempt,
                     result.describe(), wait.count());
      });

  ReplayResult result;
  const int partitions = consumer.partition_count(10s);
  if (partitions == 0) {
    result.complete = true;  // the topic does not exist: nothing was ever dead-lettered
    return result;
  }
  std::vector<int32_t> all(static_cast<size_t>(partitions));
  std::iota(all.begin(), all.end(), 0);
  const auto handled = consumer.committed(all, 10s);  // by earlier runs
  if (!handled) {
    result.error = "the replay group's committed offsets: " + handled.error().describe();
    return result;
  }
  std::set<std::string> seen;  // identities handled (delivered or passed over), this run or before
  auto all_at_end = [&] { return static_cast<int>(consumer.partitions_at_end().size()) >= partitions; };
  while (!stopping && !all_at_end()) {
    auto polled = consumer.poll(200ms);
    if (!polled) {
      if (polled.error().kind == ErrorKind::Fatal) {
        result.error = polled.error().describe();
        return result;
      }
      spdlog::warn("replay [{}]: {}", source.name, polled.error().describe());
      std::this_thread::sleep_for(200ms);
      continue;
    }
    const auto& polled_message = *polled;
    if (!polled_message) continue;
    const kafka::Message* message = &*polled_message;
    const std::string identity = message->header(kafka::dlq_header::kId).value_or("");
    const auto done = handled->find(message->partition());
    if (done != handled->end() && message->offset() < done->second) {
      if (!identity.empty()) seen.insert(identity);
      continue;  // an earlier run delivered or passed it over
    }
    if (!identity.empty() && seen.contains(identity)) {
      ++result.repeats;
      spdlog::info("replay [{}]: {}/{} repeats dead letter {}, already replayed: passed over", source.name,
                   message->partition(), message->offset(), identity);
      auto committed = consumer.commit({{message->partition(), message->offset() + 1}});
      if (!committed) {
        result.error = "commit: " + committed.error().describe();
        return result;
      }
      continue;
    }
    const auto stage = message->header(kafka::dlq_header::kStage);
    const auto key = message->key();
    const auto value = message->value();
    if (stage != std::string(kafka::stage_name(kafka::Stage::Endpoint)) || !key || !value) {
      ++result.skipped;
      const auto omitted = message->header(kafka::dlq_header::kOmitted);
      spdlog::warn("replay [{}]: {}/{} is not a batch (stage {}{}), passed over", source.name,
                   message->partition(), message->offset(), stage.value_or("none"),
                   omitted ? "; " + *omitted : std::string());
    } else {
      const std::string body(*value);
      const std::string batch_id(*key);
      DeliveryOutcome outcome = deliverer.deliver(body, batch_id);
      if (outcome.kind == DeliveryOutcome::Kind::Stopped) return result;
      if (outcome.kind == DeliveryOutcome::Kind::DeadLetter) {
        // Left in place (not committed): the next replay starts with it again.
        result.error = "batch " + batch_id + " still refused: " + outcome.last_error;
        return result;
      }
      ++result.delivered;
      spdlog::info("replay [{}]: batch {} delivered", source.name, batch_id);
    }
    if (!identity.empty()) seen.insert(identity);
    auto committed = consumer.commit({{message->partition(), message->offset() + 1}});
    if (!committed) {
      result.error = "commit: " + committed.error().describe();
      return result;
    }
  }
  result.complete = all_at_end();
  consumer.close();
  return result;
}

}  // namespace metersync::dispatch

namespace metersync::dispatch {

int replay_command(const config::Config& config, const std::string& source_name) {
  const config::SourceConfig* source = nullptr;
  for (const auto& s : config.sources) {
    if (s.name == source_name) source = &s;
  }
  if (source == nullptr) {
    throw ConfigError("--source " + source_name + ": no such source under `sources:`");
  }
  std::atomic<bool> stopping{false};
  ReplayResult result = replay(config, *source, stopping);
  std::printf("replay %s: %lld batch(es) delivered, %lld dead letter(s) passed over, "
              "%lld repeat(s) of one already replayed passed over%s%s\n",
              source_name.c_str(), static_cast<long long>(result.delivered),
              static_cast<long long>(result.skipped), static_cast<long long>(result.repeats),
              result.error.empty() ? "" : "; stopped: ", result.error.c_str());
  return result.complete && result.error.empty() ? 0 : 1;
}

}  // namespace metersync::dispatch
