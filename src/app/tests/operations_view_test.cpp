#include "app/operations_view.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace metersync::app {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

health::Observation seen(const std::string& destination, health::Phase phase, int64_t committed, int64_t lag) {
  health::Observation o;
  o.source = "postgres";
  o.destination = destination;
  o.phase = phase;
  o.committed = committed;
  o.lag = lag;
  return o;
}

// The page's states are readiness's verdicts themselves, beside the history and dead letters.
TEST(OperationsView, ShowsReadinessVerdictsHistoryAndDeadLetters) {
  config::Config config;
  config::SourceConfig postgres;
  postgres.name = "postgres";
  postgres.endpoint = config::EndpointConfig{};
  config::SourceConfig mysql;
  mysql.name = "mysql";
  ReplayRunner replays(config, {&postgres, &mysql});
  health::Readiness readiness(30s);
  health::ProgressHistory history;
  metrics::DeadLetterLog dead_letters;

  for (int s = 0; s <= 40; s += 5) {
    std::vector<health::Observation> observations{seen("meter_master", health::Phase::Running, 10 * s, 0),
                                                  seen("endpoint", health::Phase::Failing, 0, 25)};
    observations[1].last_error = "HTTP 503 from the endpoint";
    readiness.observe(observations, t0 + std::chrono::seconds(s));
    history.record(observations, t0 + std::chrono::seconds(s));
  }
  dead_letters.add({t0, "postgres", "endpoint", {"endpoint", "HTTP 422: <b>no</b>", "postgres.topic", 1, 77, 20}});

  const Json view = Json::parse(
      operations_json({{"postgres", "mysql"}, readiness, history, dead_letters, replays, false}, t0 + 40s));
  ASSERT_EQ(view["sources"].size(), 2u);
  const Json& pg = view["sources"][0];
  EXPECT_EQ(pg["source"], "postgres");
  EXPECT_TRUE(pg["replay"]["available"]);
  EXPECT_EQ(pg["replay"]["state"], "idle");
  EXPECT_FALSE(view["sources"][1]["replay"]["available"]) << "mysql has no endpoint";

  const auto verdicts = readiness.verdicts();
  ASSERT_EQ(pg["destinations"].size(), verdicts.size());
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    EXPECT_EQ(pg["destinations"][i]["state"], health::state_name(verdicts[i].state));
    EXPECT_EQ(pg["destinations"][i]["ready"], verdicts[i].ready);
  }
  const Json& table = pg["destinations"][0];
  EXPECT_EQ(table["state"], "running");
  EXPECT_EQ(table["history"].size(), 8u);
  EXPECT_DOUBLE_EQ(table["history"][0][1].get<double>(), 10.0);
  const Json& endpoint = pg["destinations"][1];
  EXPECT_EQ(endpoint["state"], "stalled") << "failing with lag and no progress for longer than 30 s";
  EXPECT_FALSE(endpoint["ready"]);
  EXPECT_EQ(endpoint["last_error"], "HTTP 503 from the endpoint");
  EXPECT_EQ(endpoint["lag"], 25);
  EXPECT_EQ(endpoint["dead_letters"], 20);

  ASSERT_EQ(view["dead_letters"]["entries"].size(), 1u);
  const Json& letter = view["dead_letters"]["entries"][0];
  EXPECT_EQ(letter["stage"], "endpoint");
  EXPECT_EQ(letter["reason"], "HTTP 422: <b>no</b>") << "as data: the page shows it as text";
  EXPECT_EQ(letter["offset"], 77);
  EXPECT_FALSE(view["replay"]["enabled"]);
  EXPECT_NE(view["replay"]["why_not"].get<std::string>().find("http.replay_token"), std::string::npos);
  EXPECT_EQ(view["window_seconds"], 900);
}

TEST(OperationsView, ReplayRefusesASourceWithoutAnEndpointOrNotRunHere) {
  config::Config config;
  config::SourceConfig mysql;
  mysql.name = "mysql";
  ReplayRunner replays(config, {&mysql});
  EXPECT_EQ(replays.start("mysql").status, 404);
  EXPECT_EQ(replays.start("oracle").status, 404);
  EXPECT_TRUE(replays.runs().empty());
}

}  // namespace
}  // namespace metersync::app
