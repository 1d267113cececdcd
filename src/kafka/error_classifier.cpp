#include "kafka/error_classifier.hpp"

namespace metersync::kafka {

std::string_view action_name(ErrorAction action) {
  switch (action) {
    case ErrorAction::Ignore: return "ignore";
    case ErrorAction::Retry: return "retry";
    case ErrorAction::Fatal: return "fatal";
  }
  return "unknown";
}

ErrorAction classify(RdKafka::ErrorCode code, bool client_fatal) {
  using E = RdKafka::ErrorCode;
  if (client_fatal) return ErrorAction::Fatal;
  switch (code) {
    case E::ERR_NO_ERROR:
    case E::ERR__PARTITION_EOF:  // only reported when enable.partition.eof is set
    case E::ERR__TIMED_OUT:      // consume() found nothing within its timeout
    case E::ERR__NOOP:
      return ErrorAction::Ignore;

    // The client cannot continue, or going on would lose or misread data.
    case E::ERR__FATAL:                  // idempotent producer lost its guarantees
    case E::ERR__AUTO_OFFSET_RESET:      // stored offset no longer on the topic: records were deleted
    case E::ERR_OFFSET_OUT_OF_RANGE:     // (same, as the broker reports it)
    case E::ERR__INVALID_ARG:
    case E::ERR__INVALID_TYPE:
    case E::ERR__NOT_IMPLEMENTED:
    case E::ERR__UNSUPPORTED_FEATURE:
    case E::ERR__UNKNOWN_PROTOCOL:
    case E::ERR__AUTHENTICATION:
    case E::ERR__SSL:
    case E::ERR__FENCED:
    case E::ERR__NOT_CONFIGURED:
    case E::ERR__EXISTING_SUBSCRIPTION:
    case E::ERR_INVALID_CONFIG:
    case E::ERR_INVALID_GROUP_ID:
    case E::ERR_INVALID_SESSION_TIMEOUT:
    case E::ERR_INCONSISTENT_GROUP_PROTOCOL:
    case E::ERR_TOPIC_EXCEPTION:  // invalid topic name
    case E::ERR_TOPIC_AUTHORIZATION_FAILED:
    case E::ERR_GROUP_AUTHORIZATION_FAILED:
    case E::ERR_CLUSTER_AUTHORIZATION_FAILED:
    case E::ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case E::ERR_SASL_AUTHENTICATION_FAILED:
    case E::ERR_UNSUPPORTED_SASL_MECHANISM:
    case E::ERR_ILLEGAL_SASL_STATE:
    case E::ERR_UNACCEPTABLE_CREDENTIAL:
    case E::ERR_UNSUPPORTED_VERSION:
    case E::ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case E::ERR_UNSUPPORTED_COMPRESSION_TYPE:
    case E::ERR_SECURITY_DISABLED:
    case E::ERR_POLICY_VIOLATION:
    case E::ERR_MSG_SIZE_TOO_LARGE:   // not by waiting (the dead-letter producer resends a reference)
    case E::ERR_INVALID_MSG_SIZE:
    case E::ERR_RECORD_LIST_TOO_LARGE:
    case E::ERR_INVALID_RECORD:
    case E::ERR_INVALID_REQUIRED_ACKS:
    case E::ERR_PRODUCER_FENCED:
    case E::ERR_FENCED_INSTANCE_ID:
    case E::ERR__KEY_SERIALIZATION:
    case E::ERR__VALUE_SERIALIZATION:
      return ErrorAction::Fatal;

    // Everything else is a broker, network, leadership or group-membership condition
    // that clears by itself: transport, all brokers down, timeouts, unknown topic (not
    // created yet), not leader/coordinator, rebalance in progress, queue full, ...
    default:
      return ErrorAction::Retry;
  }
}

Error KafkaError::to_error(Stage stage) const {
  const ErrorKind kind = action == ErrorAction::Fatal ? ErrorKind::Fatal : ErrorKind::Transient;
  return Error{kind, stage, describe(), {}, 0, 0};
}

std::string KafkaError::describe() const {
  std::string text = message.empty() ? RdKafka::err2str(code) : message;
  text += " (";
  text += RdKafka::err2str(code);
  text += ", ";
  text += action_name(action);
  text += ")";
  return text;
}

}  // namespace metersync::kafka
