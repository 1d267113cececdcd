#include "health/readiness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace metersync::health {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point(std::chrono::seconds(1'800'000'000));

Observation running(std::string source, std::string destination, int64_t committed, std::optional<int64_t> lag = 0) {
  Observation o;
  o.source = std::move(source);
  o.destination = std::move(destination);
  o.phase = Phase::Running;
  o.committed = committed;
  o.lag = lag;
  return o;
}

TEST(Readiness, NotReadyBeforeTheFirstObservation) {
  Readiness readiness(60s);
  EXPECT_FALSE(readiness.ready());
  EXPECT_EQ(nlohmann::json::parse(readiness.body())["ready"], false);
}

TEST(Readiness, IdleAndCaughtUpIsReady) {
  Readiness readiness(60s);
  for (int s = 0; s < 600; s += 10) readiness.observe({running("pg", "meter_master", 5)}, t0 + std::chrono::seconds(s));
  EXPECT_TRUE(readiness.ready());
  EXPECT_EQ(readiness.body(), R"({"ready":true,"destinations":[{"source":"pg","destination":"meter_master","state":"running","ready":true}]})");
}

TEST(Readiness, AFailingSinkIsNotReadyAfterTheStallTimeAndOnlyItself) {
  Readiness readiness(60s);
  Observation sink = running("pg", "meter_master", 100, 40);
  sink.phase = Phase::Failing;
  sink.last_error = "sink: connection refused";
  const Observation endpoint = running("pg", "endpoint", 100);
  readiness.observe({sink, endpoint}, t0);
  readiness.observe({sink, endpoint}, t0 + 59s);
  EXPECT_TRUE(readiness.ready()) << "a failure shorter than the stall time is a blip";
  EXPECT_EQ(readiness.verdicts()[0].state, State::Failing);
  readiness.observe({sink, endpoint}, t0 + 60s);
  EXPECT_FALSE(readiness.ready());
  const auto verdicts = readiness.verdicts();
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_FALSE(verdicts[0].ready);
  EXPECT_EQ(verdicts[0].reason, "sink failing: sink: connection refused");
  EXPECT_EQ(verdicts[0].since, t0);
  EXPECT_EQ(verdicts[0].state, State::Stalled);
  EXPECT_TRUE(verdicts[1].ready) << "one stalled destination never marks the others";
  EXPECT_EQ(verdicts[1].state, State::Running);
  const auto body = nlohmann::json::parse(readiness.body());
  EXPECT_EQ(body["destinations"][0]["state"], "stalled");
  EXPECT_EQ(body["destinations"][0]["since"], "2027-01-15T08:00:00Z");

  // It recovers: committed moves again.
  sink.phase = Phase::Running;
  sink.committed = 140;
  sink.lag = 0;
  readiness.observe({sink, endpoint}, t0 + 61s);
  EXPECT_TRUE(readiness.ready());
}

TEST(Readiness, AnEndpointAnswering500SaysItsLastStatus) {
  Readiness readiness(30s);
  Observation endpoint = running("mariadb", "endpoint", 7, 3);
  endpoint.phase = Phase::Failing;
  endpoint.last_http_status = 500;
  readiness.observe({endpoint}, t0);
  readiness.observe({endpoint}, t0 + 31s);
  ASSERT_FALSE(readiness.ready());
  EXPECT_EQ(readiness.verdicts()[0].reason, "endpoint failing (last status 500)");
}

TEST(Readiness, AnEndpointWithItsCircuitBreakerOpenIsNotReadyAtOnceAndSaysWhy) {
  Readiness readiness(60s);
  Observation endpoint = running("pg", "endpoint", 10, std::nullopt);
  Observation table = running("pg", "meter_master", 10);
  readiness.observe({endpoint, table}, t0);
  endpoint.phase = Phase::Failing;
  endpoint.last_http_status = 503;
  endpoint.unavailable_since = t0 + 5s;
  endpoint.failures_in_a_row = 5;
  readiness.observe({endpoint, table}, t0 + 6s);  // not after stall_after: the run of failures was the wait
  EXPECT_FALSE(readiness.ready());
  const auto body = nlohmann::json::parse(readiness.body());
  EXPECT_EQ(body["destinations"][0]["reason"],
            "endpoint unavailable: circuit breaker open after 5 failed posts in a row (last status 503); "
            "probing with back-off, backlog kept on Kafka");
  EXPECT_EQ(body["destinations"][0]["since"], iso_utc(t0 + 5s));
  EXPECT_EQ(body["destinations"][1]["ready"], true);
  // Closed again: ready at once.
  endpoint.phase = Phase::Running;
  endpoint.unavailable_since.reset();
  endpoint.committed = 20;
  readiness.observe({endpoint, table}, t0 + 7s);
  EXPECT_TRUE(readiness.ready());
}

TEST(Readiness, LagThatDoesNotShrinkIsAStallButProgressIsNot) {
  Readiness readiness(60s);
  // Busy: lag stays high, but every observation commits more.
  for (int s = 0; s <= 300; s += 1)
    readiness.observe({running("pg", "meter_master", 1000 + s * 50, 20'000)}, t0 + std::chrono::seconds(s));
  EXPECT_TRUE(readiness.ready());
  // Stuck: lag and no commit.
  for (int s = 301; s <= 400; s += 1)
    readiness.observe({running("pg", "meter_master", 99'999, 20'000)}, t0 + std::chrono::seconds(s));
  ASSERT_FALSE(readiness.ready());
  EXPECT_EQ(readiness.verdicts()[0].reason, "no progress with 20000 records of lag");
  EXPECT_EQ(readiness.verdicts()[0].since, t0 + 302s);
}

TEST(Readiness, AnUnknownLagIsNoWorkWaiting) {
  // The lag covers the records read and not committed; before it is known (no partition
  // watermarks yet) a running destination is judged on its phase alone.
  Readiness readiness(10s);
  readiness.observe({running("pg", "endpoint", 5, std::nullopt)}, t0);
  readiness.observe({running("pg", "endpoint", 5, std::nullopt)}, t0 + 20s);
  EXPECT_TRUE(readiness.ready());
}

TEST(Readiness, PartitionsNeverAssignedIsAStall) {
  Readiness readiness(10s);
  Observation o = running("pg", "meter_master", 0, std::nullopt);
  o.phase = Phase::Starting;
  readiness.observe({o}, t0);
  readiness.observe({o}, t0 + 11s);
  ASSERT_FALSE(readiness.ready());
  EXPECT_EQ(readiness.verdicts()[0].reason, "not started: no partitions assigned yet");
}

TEST(Readiness, AFailedPipelineIsNotReadyAtOnce) {
  Readiness readiness(60s);
  Observation o = running("mssql", "meter_master", 10);
  o.phase = Phase::Failed;
  o.last_error = "sink: Meter Master column SerialNumber is INT, expected NVARCHAR(64)";
  readiness.observe({o}, t0);
  ASSERT_FALSE(readiness.ready());
  EXPECT_EQ(readiness.verdicts()[0].since, t0);
  EXPECT_NE(readiness.verdicts()[0].reason.find("stopped after an error"), std::string::npos);
  readiness.observe({o}, t0 + 5s);
  EXPECT_EQ(readiness.verdicts()[0].since, t0) << "since stays the first time it was seen";
}

ConnectorObservation connector(std::string source, ConnectorCondition condition, std::string detail = "") {
  const std::string name = source + "-meter-source";
  return ConnectorObservation{std::move(source), name, condition, std::move(detail)};
}

TEST(Readiness, AFailedTaskHoldsBackBothDestinationsOfItsSourceAtOnceAndOnlyThem) {
  Readiness readiness(60s);
  const std::vector<Observation> observations{running("pg", "meter_master", 5), running("pg", "endpoint", 5),
                                              running("maria", "meter_master", 5), running("maria", "endpoint", 5)};
  readiness.observe(observations, t0,
                    {connector("pg", ConnectorCondition::Running), connector("maria", ConnectorCondition::Running)});
  EXPECT_TRUE(readiness.ready());

  const auto failed = connector("pg", ConnectorCondition::Failed, "task 0 is FAILED (ConnectException: boom)");
  readiness.observe(observations, t0 + 5s, {failed, connector("maria", ConnectorCondition::Running)});
  readiness.observe(observations, t0 + 6s, {failed, connector("maria", ConnectorCondition::Running)});
  ASSERT_FALSE(readiness.ready());
  const auto verdicts = readiness.verdicts();
  for (int i : {0, 1}) {
    EXPECT_FALSE(verdicts[i].ready);
    EXPECT_EQ(verdicts[i].reason, "connector pg-meter-source task 0 is FAILED (ConnectException: boom)");
    EXPECT_EQ(verdicts[i].since, t0 + 5s) << "since: when it was first seen failed";
  }
  EXPECT_TRUE(verdicts[2].ready);
  EXPECT_TRUE(verdicts[3].ready);
  const auto body = nlohmann::json::parse(readiness.body());
  EXPECT_EQ(body["connectors"][0]["state"], "failed");
  EXPECT_EQ(body["connectors"][0]["connector"], "pg-meter-source");
  EXPECT_EQ(body["connectors"][0]["since"], iso_utc(t0 + 5s));
  EXPECT_FALSE(body["connectors"][1].contains("detail"));

  readiness.observe(observations, t0 + 7s,
                    {connector("pg", ConnectorCondition::Running), connector("maria", ConnectorCondition::Running)});
  EXPECT_TRUE(readiness.ready()) << "repaired: ready again";
}

TEST(Readiness, AConnectorConnectDoesNotKnowIsNotReady) {
  Readiness readiness(60s);
  readiness.observe({running("pg", "meter_master", 5)}, t0, {connector("pg", ConnectorCondition::Missing, "not registered")});
  ASSERT_FALSE(readiness.ready());
  EXPECT_EQ(readiness.verdicts()[0].reason, "connector pg-meter-source not registered");
}

TEST(Readiness, APausedConnectorOrASilentConnectIsShownButJudgesNothing) {
  Readiness readiness(10s);
  for (int s = 0; s <= 60; s += 10) {
    readiness.observe({running("pg", "meter_master", 5), running("maria", "meter_master", 5)}, t0 + std::chrono::seconds(s),
                      {connector("pg", ConnectorCondition::Paused, "is PAUSED"),
                       connector("maria", ConnectorCondition::Unknown, "no answer from http://connect:8083")});
  }
  EXPECT_TRUE(readiness.ready());
  const auto body = nlohmann::json::parse(readiness.body());
  EXPECT_EQ(body["connectors"][0]["state"], "paused");
  EXPECT_EQ(body["connectors"][0]["since"], iso_utc(t0));
  EXPECT_EQ(body["connectors"][1]["state"], "unknown");
  EXPECT_EQ(body["connectors"][1]["detail"], "no answer from http://connect:8083");
}

TEST(Readiness, AConnectorStuckBetweenStatesIsAStallAfterTheStallTime) {
  Readiness readiness(10s);
  const auto unassigned = connector("pg", ConnectorCondition::Transitioning, "task 0 is UNASSIGNED");
  readiness.observe({running("pg", "meter_master", 5)}, t0, {unassigned});
  readiness.observe({running("pg", "meter_master", 5)}, t0 + 9s, {unassigned});
  EXPECT_TRUE(readiness.ready()) << "a rebalance passes";
  readiness.observe({running("pg", "meter_master", 5)}, t0 + 10s, {unassigned});
  ASSERT_FALSE(readiness.ready());
  EXPECT_EQ(readiness.verdicts()[0].reason, "connector pg-meter-source task 0 is UNASSIGNED");
  EXPECT_EQ(readiness.verdicts()[0].since, t0);
}

TEST(Readiness, AFailedConnectorAndAFailingSinkAreBothNamed) {
  Readiness readiness(10s);
  Observation sink = running("pg", "meter_master", 100, 40);
  sink.phase = Phase::Failing;
  sink.last_error = "sink: connection refused";
  const auto failed = connector("pg", ConnectorCondition::Failed, "is FAILED");
  readiness.observe({sink}, t0, {failed});
  readiness.observe({sink}, t0 + 10s, {failed});
  EXPECT_EQ(readiness.verdicts()[0].reason, "connector pg-meter-source is FAILED; sink failing: sink: connection refused");
  EXPECT_EQ(readiness.verdicts()[0].since, t0);
}

}  // namespace
}  // namespace metersync::health

namespace metersync::health {
namespace {

// The state names one verdict: ready exactly for starting, running and failing, whatever
// led to it.
TEST(Readiness, EveryVerdictsStateAgreesWithItsReadiness) {
  Readiness readiness(30s);
  Observation starting = running("a", "meter_master", 0, std::nullopt);
  starting.phase = Phase::Starting;
  Observation failed = running("b", "meter_master", 0);
  failed.phase = Phase::Failed;
  Observation stopped = running("c", "endpoint", 0);
  stopped.phase = Phase::Stopped;
  Observation unavailable = running("d", "endpoint", 0, 5);
  unavailable.unavailable_since = t0;
  const std::vector<Observation> all{starting, failed, stopped, unavailable, running("e", "endpoint", 1)};
  const std::vector<ConnectorObservation> connectors{{"e", "e-source", ConnectorCondition::Failed, "task 0 is FAILED"}};
  readiness.observe(all, t0, connectors);
  auto verdicts = readiness.verdicts();
  ASSERT_EQ(verdicts.size(), 5u);
  EXPECT_EQ(verdicts[0].state, State::Starting);
  EXPECT_EQ(verdicts[1].state, State::Failed);
  EXPECT_EQ(verdicts[2].state, State::Stopped);
  EXPECT_EQ(verdicts[3].state, State::Unavailable);
  EXPECT_EQ(verdicts[4].state, State::ConnectorDown);
  readiness.observe(all, t0 + 31s, connectors);
  verdicts = readiness.verdicts();
  EXPECT_EQ(verdicts[0].state, State::Stalled) << "partitions never assigned";
  for (const Verdict& v : verdicts) {
    const bool ready_state = v.state == State::Starting || v.state == State::Running || v.state == State::Failing;
    EXPECT_EQ(v.ready, ready_state) << v.source << ": " << state_name(v.state);
  }
}

}  // namespace
}  // namespace metersync::health
