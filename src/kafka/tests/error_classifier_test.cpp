#include "kafka/error_classifier.hpp"

#include <gtest/gtest.h>

namespace metersync::kafka {
namespace {

struct Case {
  RdKafka::ErrorCode code;
  bool client_fatal;
  ErrorAction expected;
};

class ClassifierTable : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifierTable, DecidesRetryOrStop) {
  const Case& c = GetParam();
  EXPECT_EQ(classify(c.code, c.client_fatal), c.expected)
      << RdKafka::err2str(c.code) << " fatal flag " << c.client_fatal;
}

using E = RdKafka::ErrorCode;
constexpr auto kIgnore = ErrorAction::Ignore;
constexpr auto kRetry = ErrorAction::Retry;
constexpr auto kFatal = ErrorAction::Fatal;

INSTANTIATE_TEST_SUITE_P(
    Librdkafka, ClassifierTable,
    ::testing::Values(
        // nothing to act on
        Case{E::ERR_NO_ERROR, false, kIgnore}, Case{E::ERR__PARTITION_EOF, false, kIgnore},
        Case{E::ERR__TIMED_OUT, false, kIgnore},
        // the cluster or the network recovers by itself
        Case{E::ERR__TRANSPORT, false, kRetry}, Case{E::ERR__ALL_BROKERS_DOWN, false, kRetry},
        Case{E::ERR__RESOLVE, false, kRetry}, Case{E::ERR__MSG_TIMED_OUT, false, kRetry},
        Case{E::ERR__QUEUE_FULL, false, kRetry}, Case{E::ERR__UNKNOWN_TOPIC, false, kRetry},
        Case{E::ERR_UNKNOWN_TOPIC_OR_PART, false, kRetry},
        Case{E::ERR_LEADER_NOT_AVAILABLE, false, kRetry},
        Case{E::ERR_NOT_LEADER_FOR_PARTITION, false, kRetry},
        Case{E::ERR_REQUEST_TIMED_OUT, false, kRetry}, Case{E::ERR_NETWORK_EXCEPTION, false, kRetry},
        Case{E::ERR_COORDINATOR_NOT_AVAILABLE, false, kRetry},
        Case{E::ERR_NOT_COORDINATOR, false, kRetry}, Case{E::ERR_REBALANCE_IN_PROGRESS, false, kRetry},
        Case{E::ERR_NOT_ENOUGH_REPLICAS, false, kRetry},
        Case{E::ERR_KAFKA_STORAGE_ERROR, false, kRetry},
        // configuration, authorisation or data loss: stop and say so
        Case{E::ERR__FATAL, false, kFatal}, Case{E::ERR__AUTO_OFFSET_RESET, false, kFatal},
        Case{E::ERR_OFFSET_OUT_OF_RANGE, false, kFatal}, Case{E::ERR__SSL, false, kFatal},
        Case{E::ERR__AUTHENTICATION, false, kFatal},
        Case{E::ERR_SASL_AUTHENTICATION_FAILED, false, kFatal},
        Case{E::ERR_TOPIC_AUTHORIZATION_FAILED, false, kFatal},
        Case{E::ERR_GROUP_AUTHORIZATION_FAILED, false, kFatal},
        Case{E::ERR_TOPIC_EXCEPTION, false, kFatal}, Case{E::ERR_MSG_SIZE_TOO_LARGE, false, kFatal},
        Case{E::ERR_INVALID_CONFIG, false, kFatal}, Case{E::ERR__INVALID_ARG, false, kFatal},
        // librdkafka's fatal flag wins over an otherwise retriable code
        Case{E::ERR__TRANSPORT, true, kFatal}, Case{E::ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, true, kFatal}));

TEST(KafkaError, DescribeNamesCodeAndVerdict) {
  KafkaError error = KafkaError::from(E::ERR__TRANSPORT, "broker 1 down");
  EXPECT_EQ(error.action, kRetry);
  std::string text = error.describe();
  EXPECT_NE(text.find("broker 1 down"), std::string::npos);
  EXPECT_NE(text.find("retry"), std::string::npos);
}

TEST(KafkaError, LeavesTheComponentAsTheOneErrorValueWithItsVerdict) {
  Error retry = KafkaError::from(E::ERR__TRANSPORT, "broker 1 down").to_error(Stage::Kafka);
  EXPECT_EQ(retry.kind, ErrorKind::Transient);
  EXPECT_EQ(retry.stage, Stage::Kafka);
  EXPECT_EQ(retry.describe(), KafkaError::from(E::ERR__TRANSPORT, "broker 1 down").describe());
  Error fatal = KafkaError::from(E::ERR__TRANSPORT, "fenced", true).to_error(Stage::DeadLetter);
  EXPECT_EQ(fatal.kind, ErrorKind::Fatal);
  EXPECT_EQ(fatal.stage, Stage::DeadLetter);
}

}  // namespace
}  // namespace metersync::kafka
