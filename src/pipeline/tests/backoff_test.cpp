#include "pipeline/backoff.hpp"

#include <gtest/gtest.h>

namespace metersync::pipeline {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesWithJitterUpToTheCap) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 42);
  const int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t ceiling : ceilings) {
    int64_t delay = backoff.next().count();
    EXPECT_GE(delay, ceiling / 2);
    EXPECT_LE(delay, ceiling);
  }
  EXPECT_EQ(backoff.attempts(), 7);
}

TEST(Backoff, ResetStartsAgainFromTheInitialDelay) {
  Backoff backoff(milliseconds(50), milliseconds(10000), 7);
  for (int i = 0; i < 6; ++i) backoff.next();
  backoff.reset();
  EXPECT_LE(backoff.next().count(), 50);
}

TEST(Backoff, JitterSpreadsPipelinesThatFailedTogether) {
  Backoff a(milliseconds(1000), milliseconds(1000), 1);
  Backoff b(milliseconds(1000), milliseconds(1000), 2);
  bool differed = false;
  for (int i = 0; i < 10; ++i) differed |= a.next() != b.next();
  EXPECT_TRUE(differed);
}

TEST(Backoff, ManyAttemptsNeverOverflow) {
  Backoff backoff(milliseconds(200), milliseconds(10000), 3);
  for (int i = 0; i < 200; ++i) backoff.next();
  EXPECT_LE(backoff.next().count(), 10000);
  EXPECT_GE(backoff.next().count(), 5000);
}

}  // namespace
}  // namespace metersync::pipeline
