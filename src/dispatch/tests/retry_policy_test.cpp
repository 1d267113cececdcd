#include "dispatch/retry_policy.hpp"

#include <gtest/gtest.h>

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;

AttemptResult http(long status, std::optional<std::string> retry_after = std::nullopt) {
  AttemptResult r;
  r.status = status;
  r.retry_after = std::move(retry_after);
  return r;
}

AttemptResult transport(std::string error, bool timed_out) {
  AttemptResult r;
  r.transport_error = std::move(error);
  r.timed_out = timed_out;
  return r;
}

TEST(RetryPolicy, ClassifiesEveryKindOfAnswer) {
  struct Row {
    AttemptResult result;
    Verdict expected;
  };
  const Row table[] = {
      {http(200), Verdict::Delivered},
      {http(201), Verdict::Delivered},
      {http(202), Verdict::Delivered},
      {http(204), Verdict::Delivered},
      {transport("Connection refused", false), Verdict::Retry},
      {transport("Operation timed out after 2000 milliseconds", true), Verdict::Retry},
      {http(408), Verdict::Retry},
      {http(429), Verdict::Retry},
      {http(500), Verdict::Retry},
      {http(502), Verdict::Retry},
      {http(503), Verdict::Retry},
      {http(504), Verdict::Retry},
      {http(599), Verdict::Retry},
      {http(400), Verdict::DeadLetter},
      {http(401), Verdict::DeadLetter},
      {http(403), Verdict::DeadLetter},
      {http(404), Verdict::DeadLetter},
      {http(409), Verdict::DeadLetter},
      {http(413), Verdict::DeadLetter},
      {http(422), Verdict::DeadLetter},
      {http(301), Verdict::DeadLetter},
      {http(100), Verdict::DeadLetter},
  };
  for (const auto& row : table) {
    EXPECT_EQ(classify(row.result), row.expected) << row.result.describe();
  }
}

TEST(RetryPolicy, StopsAtTheAttemptLimit) {
  RetryPolicy policy({100ms, 1000ms, 3}, 42);
  EXPECT_EQ(policy.decide(http(503), 1).verdict, Verdict::Retry);
  EXPECT_EQ(policy.decide(http(503), 2).verdict, Verdict::Retry);
  EXPECT_EQ(policy.decide(http(503), 3).verdict, Verdict::DeadLetter);
  EXPECT_EQ(policy.decide(http(200), 3).verdict, Verdict::Delivered);
  EXPECT_EQ(policy.decide(http(400), 1).verdict, Verdict::DeadLetter);
}

TEST(RetryPolicy, WaitsFollowTheOneBackoffUnderTheExponentialCeiling) {
  RetryPolicy policy({100ms, 1000ms, 100}, 7);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const int64_t ceiling = std::min<int64_t>(100 << (attempt - 1), 1000);
    int64_t largest = 0;
    for (int i = 0; i < 200; ++i) {
      auto wait = policy.decide(http(500), attempt).wait.count();
      EXPECT_GE(wait, ceiling / 2) << "attempt " << attempt;
      EXPECT_LE(wait, ceiling) << "attempt " << attempt;
      largest = std::max(largest, wait);
    }
    // Jitter spreads over the upper half of the range.
    EXPECT_GT(largest, ceiling * 3 / 4) << "attempt " << attempt;
  }
}

TEST(RetryPolicy, HonoursRetryAfterUpToTheMaximum) {
  RetryPolicy policy({10ms, 5000ms, 10}, 1);
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 2015-10-21 07:28:00 UTC
  EXPECT_EQ(policy.decide(http(429, "2"), 1, now).wait, 2000ms);
  EXPECT_EQ(policy.decide(http(503, "Wed, 21 Oct 2015 07:28:03 GMT"), 1, now).wait, 3000ms);
  EXPECT_EQ(policy.decide(http(429, "3600"), 1, now).wait, 5000ms);  // capped
  EXPECT_LE(policy.decide(http(429, "soon"), 1, now).wait, 10ms);    // ignored
}

// A hostile endpoint cannot park a partition beyond retry_max_ms, however large its
// Retry-After: a number longer than int64, a date in the year 9999, a date long past.
TEST(RetryPolicy, ClampsAnyRetryAfterToTheMaximum) {
  RetryPolicy policy({10ms, 5000ms, 10}, 1);
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  for (const char* asked : {"86400", "9223372036854775807", "99999999999999999999999999",
                            "Fri, 31 Dec 9999 23:59:59 GMT"}) {
    EXPECT_EQ(policy.decide(http(429, asked), 1, now).wait, 5000ms) << asked;
    EXPECT_EQ(policy.decide(http(503, asked), 9, now).wait, 5000ms) << asked;
  }
  EXPECT_LE(policy.decide(http(503, "Mon, 01 Jan 1601 00:00:00 GMT"), 1, now).wait, 10ms);
}

TEST(RetryPolicy, ParsesRetryAfterUpToItsCeiling) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  EXPECT_EQ(parse_retry_after("9223372036854775807", now), kRetryAfterCeiling);
  EXPECT_EQ(parse_retry_after("99999999999999999999999999", now), kRetryAfterCeiling);
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), kRetryAfterCeiling);
  EXPECT_EQ(parse_retry_after("Mon, 01 Jan 1601 00:00:00 GMT", now), 0ms);
  EXPECT_EQ(parse_retry_after("31536000", now), kRetryAfterCeiling);
  EXPECT_EQ(parse_retry_after("31535999", now), 31535999000ms);
}

TEST(RetryPolicy, ParsesRetryAfter) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now), 10000ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0ms);  // past
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("2015-10-21T07:28:10Z", now));
}

TEST(RetryPolicy, DescribesAttemptsForTheDeadLetterReason) {
  AttemptResult bad = http(400);
  bad.body_excerpt = R"({"error":"events[0].op"})";
  EXPECT_EQ(bad.describe(), R"(HTTP 400: {"error":"events[0].op"})");
  EXPECT_EQ(transport("Connection refused", false).describe(), "connection: Connection refused");
  EXPECT_EQ(transport("Operation timed out", true).describe(), "timeout: Operation timed out");
}

}  // namespace
}  // namespace metersync::dispatch
