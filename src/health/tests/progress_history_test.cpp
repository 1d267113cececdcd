#include "health/progress_history.hpp"

#include <gtest/gtest.h>

namespace metersync::health {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point(std::chrono::seconds(1'800'000'000));

Observation seen(std::string destination, int64_t committed, std::optional<int64_t> lag) {
  Observation o;
  o.source = "postgres";
  o.destination = std::move(destination);
  o.phase = Phase::Running;
  o.committed = committed;
  o.lag = lag;
  return o;
}

TEST(ProgressHistory, OnePointPerStepWithTheRateOverItAndTheLagAtItsEnd) {
  ProgressHistory history;
  history.record({seen("meter_master", 1000, 0), seen("endpoint", 0, std::nullopt)}, t0);
  for (int s = 1; s <= 10; ++s) {
    history.record({seen("meter_master", 1000 + 100 * s, 7), seen("endpoint", 0, std::nullopt)},
                   t0 + std::chrono::seconds(s));
  }
  const auto all = history.series();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].destination, "meter_master") << "in the order first observed";
  ASSERT_EQ(all[0].points.size(), 2u);
  EXPECT_DOUBLE_EQ(all[0].points[0].rate, 100.0) << "the count before the first step is not a rate";
  EXPECT_EQ(all[0].points[0].at, t0 + 5s);
  EXPECT_EQ(all[0].points[1].lag, 7);
  EXPECT_FALSE(all[1].points[1].lag.has_value());
}

TEST(ProgressHistory, KeepsFifteenMinutesAndNoMore) {
  ProgressHistory history;
  for (int s = 0; s <= 3600; s += 5) history.record({seen("endpoint", s, 0)}, t0 + std::chrono::seconds(s));
  const auto points = history.series().at(0).points;
  ASSERT_EQ(points.size(), ProgressHistory::kPoints);
  EXPECT_EQ(points.back().at, t0 + 3600s);
  EXPECT_EQ(points.front().at, t0 + 3600s - ProgressHistory::kStep * (ProgressHistory::kPoints - 1));
  EXPECT_GE(points.back().at - points.front().at, 14min);
}

TEST(ProgressHistory, ACountThatStartsAgainIsNoNegativeRate) {
  ProgressHistory history;
  history.record({seen("endpoint", 500, 0)}, t0);
  history.record({seen("endpoint", 20, 0)}, t0 + 5s);
  EXPECT_DOUBLE_EQ(history.series().at(0).points.at(0).rate, 0.0);
}

}  // namespace
}  // namespace metersync::health
