#include "core/error.hpp"

namespace metersync {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Configuration: return "configuration";
    case ErrorKind::Transient: return "transient";
    case ErrorKind::Data: return "data";
    case ErrorKind::Fatal: return "fatal";
  }
  return "unknown";
}

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::Decode: return "decode";
    case Stage::Map: return "map";
    case Stage::Sink: return "sink";
    case Stage::Endpoint: return "endpoint";
    case Stage::Kafka: return "kafka";
    case Stage::DeadLetter: return "dead-letter";
    case Stage::Connect: return "connect";
  }
  return "unknown";
}

std::string Error::describe() const {
  std::string text = reason;
  if (!sqlstate.empty()) text += " [SQLSTATE " + sqlstate + "]";
  if (http_status != 0) text += " [HTTP " + std::to_string(http_status) + "]";
  return text;
}

}  // namespace metersync
