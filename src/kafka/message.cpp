#include "kafka/message.hpp"

namespace metersync::kafka {

Message::Message(std::unique_ptr<RdKafka::Message> message)
    : message_(std::move(message)), topic_(message_->topic_name()) {}

std::optional<std::string_view> Message::key() const {
  const void* data = message_->key_pointer();
  if (data == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(data), message_->key_len());
}

std::optional<std::string_view> Message::value() const {
  const void* data = message_->payload();
  if (data == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(data), message_->len());
}

std::optional<std::string> Message::header(const std::string& name) const {
  RdKafka::Headers* headers = message_->headers();  // owned by the message
  if (headers == nullptr) return std::nullopt;
  RdKafka::Headers::Header last = headers->get_last(name);
  if (last.err() != RdKafka::ERR_NO_ERROR || last.value() == nullptr) return std::nullopt;
  return std::string(static_cast<const char*>(last.value()), last.value_size());
}

}  // namespace metersync::kafka
