#include "engine/kafka_dead_letters.hpp"

#include <chrono>
#include <optional>

namespace metersync::engine {

KafkaDeadLetters::KafkaDeadLetters(kafka::ClientSettings settings, std::string source_topic,
                                   std::string dlq_topic)
    : producer_(std::move(settings)),
      source_topic_(std::move(source_topic)),
      dlq_topic_(std::move(dlq_topic)) {}

Result<void> KafkaDeadLetters::send(const InFlightRecord& record, const Rejected& rejection) {
  kafka::DeadLetter letter{rejection.stage, rejection.reason, source_topic_, record.partition,
                           record.offset, record.timestamp_ms, std::nullopt, std::nullopt};
  const std::optional<std::string> value = record.original.value();  // outlives send()
  if (const auto& key = record.original.key()) letter.key = *key;
  if (value) letter.value = *value;
  return producer_.send(dlq_topic_, letter);
}

Result<void> KafkaDeadLetters::flush() {
  return producer_.flush(std::chrono::seconds(30));
}

}  // namespace metersync::engine
