#include "pipeline/log_rate_limit.hpp"

#include <gtest/gtest.h>

namespace metersync::pipeline {
namespace {

using namespace std::chrono_literals;
const LogRateLimit::Clock::time_point t0{};

TEST(LogRateLimit, WritesTheFirstLinesOfAWindowAndCountsTheRest) {
  LogRateLimit limit(3, 10s);
  for (int i = 0; i < 3; ++i) {
    const auto turn = limit.next(t0 + std::chrono::milliseconds(i));
    EXPECT_TRUE(turn.write);
    EXPECT_EQ(turn.held_back, 0);
  }
  for (int i = 0; i < 1000; ++i) {
    const auto turn = limit.next(t0 + 9s);
    EXPECT_FALSE(turn.write);
    EXPECT_EQ(turn.held_back, 0);
  }
  // The next window opens with the count of the last one's unwritten occurrences.
  const auto turn = limit.next(t0 + 10s);
  EXPECT_TRUE(turn.write);
  EXPECT_EQ(turn.held_back, 1000);
  EXPECT_EQ(limit.next(t0 + 11s).held_back, 0);
}

TEST(LogRateLimit, AFloodWritesABoundedNumberOfLines) {
  // 50,000 occurrences over 50 s: ten lines and one count per 10 s window.
  LogRateLimit limit;
  int lines = 0;
  int64_t counted = 0;
  for (int i = 0; i < 50'000; ++i) {
    const auto turn = limit.next(t0 + std::chrono::milliseconds(i));
    if (turn.held_back > 0) ++lines;
    counted += turn.held_back;
    if (turn.write) ++lines;
  }
  EXPECT_EQ(lines, 5 * 10 + 4);
  EXPECT_EQ(counted, 4 * (10'000 - 10));  // the last window's count waits for an occurrence
}

TEST(LogRateLimit, AQuietSourceWritesEveryOccurrence) {
  LogRateLimit limit(10, 10s);
  for (int i = 0; i < 100; ++i) {
    const auto turn = limit.next(t0 + std::chrono::seconds(2 * i));
    EXPECT_TRUE(turn.write);
    EXPECT_EQ(turn.held_back, 0);
  }
}

}  // namespace
}  // namespace metersync::pipeline
