// The engine's dead letters on a Kafka topic: each record unchanged (key and value as
// consumed), with headers naming the stage, the reason and where it came from.
//
// Thread: the writer thread.
#pragma once

#include <string>

#include "engine/destination.hpp"
#include "kafka/client_config.hpp"
#include "kafka/dead_letter_producer.hpp"

namespace metersync::engine {

class KafkaDeadLetters : public DeadLetterWriter {
 public:
  KafkaDeadLetters(kafka::ClientSettings settings, std::string source_topic, std::string dlq_topic);

  Result<void> send(const InFlightRecord& record, const Rejected& rejection) override;
  Result<void> flush() override;
  const std::string& topic() const { return dlq_topic_; }

 private:
  kafka::DeadLetterProducer producer_;
  std::string source_topic_;
  std::string dlq_topic_;
};

}  // namespace metersync::engine
