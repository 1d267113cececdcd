#include "app/connector_poller.hpp"

#include <gtest/gtest.h>

namespace metersync::app {
namespace {

using health::ConnectorCondition;

Result<std::optional<connect::ConnectorStatus>> answer(std::string_view body) {
  auto status = connect::parse_status(body);
  if (!status) return std::unexpected(status.error());
  return std::optional<connect::ConnectorStatus>(std::move(*status));
}

TEST(ObserveConnector, AFailedTaskIsFailedWithItsIdStateAndTrace) {
  const auto o = observe_connector("postgres", "pg-source", answer(R"json({"name":"pg-source",
      "connector":{"state":"RUNNING"},
      "tasks":[{"id":0,"state":"FAILED","trace":"org.apache.kafka.connect.errors.ConnectException: boom\n\tat a.b(C.java:1)"}]})json"));
  EXPECT_EQ(o.source, "postgres");
  EXPECT_EQ(o.connector, "pg-source");
  EXPECT_EQ(o.condition, ConnectorCondition::Failed);
  EXPECT_EQ(o.detail, "task 0 is FAILED (org.apache.kafka.connect.errors.ConnectException: boom)");
}

TEST(ObserveConnector, EachStateOfConnect) {
  EXPECT_EQ(observe_connector("s", "c", answer(R"({"connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"RUNNING"}]})"))
                .condition,
            ConnectorCondition::Running);
  EXPECT_EQ(observe_connector("s", "c", answer(R"({"connector":{"state":"FAILED","trace":"x"},"tasks":[]})")).condition,
            ConnectorCondition::Failed);
  const auto paused =
      observe_connector("s", "c", answer(R"({"connector":{"state":"PAUSED"},"tasks":[{"id":0,"state":"PAUSED"}]})"));
  EXPECT_EQ(paused.condition, ConnectorCondition::Paused);
  EXPECT_EQ(paused.detail, "is PAUSED; task 0 is PAUSED");
  EXPECT_EQ(observe_connector("s", "c", answer(R"({"connector":{"state":"STOPPED"},"tasks":[]})")).condition,
            ConnectorCondition::Paused);
  EXPECT_EQ(
      observe_connector("s", "c", answer(R"({"connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"UNASSIGNED"}]})"))
          .condition,
      ConnectorCondition::Transitioning);
  EXPECT_EQ(observe_connector("s", "c", answer(R"({"connector":{"state":"RUNNING"},"tasks":[]})")).condition,
            ConnectorCondition::Transitioning);
}

TEST(ObserveConnector, NotRegisteredIsMissingAndNoAnswerIsUnknown) {
  const auto missing = observe_connector("s", "c", std::optional<connect::ConnectorStatus>());
  EXPECT_EQ(missing.condition, ConnectorCondition::Missing);
  EXPECT_EQ(missing.detail, "not registered in Kafka Connect");
  const auto silent = observe_connector(
      "s", "c",
      std::unexpected(Error{ErrorKind::Transient, Stage::Connect, "no answer from http://127.0.0.1:9: Connection", {}, 0, 0}));
  EXPECT_EQ(silent.condition, ConnectorCondition::Unknown);
  EXPECT_EQ(silent.detail, "no answer from http://127.0.0.1:9: Connection");
}

TEST(ConnectorPoller, AnswersNothingBeforeItsFirstRoundAndUnknownWithoutConnect) {
  ConnectorPoller poller("http://127.0.0.1:9", {{"postgres", "pg-source"}}, std::chrono::milliseconds(500));
  EXPECT_TRUE(poller.latest().empty());
  poller.start();
  for (int i = 0; i < 100 && poller.latest().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto latest = poller.latest();
  ASSERT_EQ(latest.size(), 1U);
  EXPECT_EQ(latest[0].condition, ConnectorCondition::Unknown);
}

}  // namespace
}  // namespace metersync::app
