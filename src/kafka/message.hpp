// One consumed Kafka record, owned from the moment librdkafka hands it over.
//
// Lifetime: a Message must be destroyed before the Consumer that produced it is
// closed (librdkafka keeps per-partition state alive for it); the pipeline clears its
// in-flight batch before it closes the consumer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <librdkafka/rdkafkacpp.h>

namespace metersync::kafka {

class Message {
 public:
  explicit Message(std::unique_ptr<RdKafka::Message> message);

  const std::string& topic() const { return topic_; }
  int32_t partition() const { return message_->partition(); }
  int64_t offset() const { return message_->offset(); }
  // CreateTime or LogAppendTime in ms; -1 when the record has none.
  int64_t timestamp_ms() const { return message_->timestamp().timestamp; }
  // nullopt: a null key / a null value (a tombstone).
  std::optional<std::string_view> key() const;
  std::optional<std::string_view> value() const;
  // The last header of that name, copied; nullopt when absent.
  std::optional<std::string> header(const std::string& name) const;

 private:
  std::unique_ptr<RdKafka::Message> message_;
  std::string topic_;  // copied: RdKafka::Message::topic_name() builds a new string each call
};

}  // namespace metersync::kafka
