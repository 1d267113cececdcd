// The one place that decides whether a librdkafka error is worth retrying.
//
// Consumer, dead-letter producer and pipeline all ask here, so "retry or stop" is
// decided once and pinned by a table test (tests/error_classifier_test.cpp).
#pragma once

#include <string>
#include <string_view>

#include <librdkafka/rdkafkacpp.h>

#include "core/error.hpp"

namespace metersync::kafka {

enum class ErrorAction {
  Ignore,  // not an error for us (no message yet, end of partition)
  Retry,   // the cluster or network will likely recover: back off and try again
  Fatal,   // configuration, authorisation or lost data: stop with the message
};

std::string_view action_name(ErrorAction action);

// `client_fatal`: librdkafka flagged the error as fatal for the client instance
// (rd_kafka_error_is_fatal, or ERR__FATAL from an idempotent producer).
ErrorAction classify(RdKafka::ErrorCode code, bool client_fatal = false);

// A librdkafka error inside src/kafka: code, librdkafka's text, the verdict. What leaves
// src/kafka is its to_error().
struct KafkaError {
  RdKafka::ErrorCode code = RdKafka::ERR_NO_ERROR;
  std::string message;
  ErrorAction action = ErrorAction::Retry;

  static KafkaError from(RdKafka::ErrorCode code, std::string message, bool client_fatal = false) {
    return KafkaError{code, std::move(message), classify(code, client_fatal)};
  }
  // "Local: Broker transport failure (retry)"
  std::string describe() const;
  // The same as the one error value the rest of metersync handles: Retry is Transient,
  // Fatal is Fatal; the reason is describe().
  Error to_error(Stage stage) const;
};

}  // namespace metersync::kafka
