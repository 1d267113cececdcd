#include "dispatch/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;
using Permit = CircuitBreaker::Permit;

const CircuitBreaker::Clock::time_point t0{};

TEST(CircuitBreakerTest, OpensAfterTheConfiguredRunOfFailures) {
  CircuitBreaker breaker(3, 100ms, 1000ms, 1);
  breaker.failed(t0);
  breaker.failed(t0);
  EXPECT_EQ(breaker.state(), State::Closed);
  EXPECT_EQ(breaker.permit(t0), Permit::Post);
  breaker.failed(t0);
  EXPECT_EQ(breaker.state(), State::Open);
  EXPECT_EQ(breaker.failures_in_a_row(), 3);
  // The first probe after the back-off's first step, [50, 100] ms.
  EXPECT_GE(breaker.next_probe(), t0 + 50ms);
  EXPECT_LE(breaker.next_probe(), t0 + 100ms);
  EXPECT_EQ(breaker.permit(t0 + 49ms), Permit::Wait);
}

TEST(CircuitBreakerTest, AnAnswerBreaksTheRun) {
  CircuitBreaker breaker(3, 100ms, 1000ms, 1);
  breaker.failed(t0);
  breaker.failed(t0);
  breaker.succeeded();  // 2xx, or a refusal: the endpoint answers
  breaker.failed(t0);
  breaker.failed(t0);
  EXPECT_EQ(breaker.state(), State::Closed);
}

TEST(CircuitBreakerTest, OneProbeAtATimeWithGrowingBackoffUntilAnAnswer) {
  CircuitBreaker breaker(1, 100ms, 400ms, 1);
  breaker.failed(t0);
  auto now = breaker.next_probe();
  EXPECT_EQ(breaker.permit(now), Permit::Probe);
  EXPECT_EQ(breaker.state(), State::Probing);
  EXPECT_EQ(breaker.permit(now), Permit::Wait);  // the probe is in flight: nothing else
  EXPECT_EQ(breaker.permit(now + 1h), Permit::Wait);
  // The probe fails: open again, the next wait from the back-off's second step, [100, 200] ms.
  breaker.failed(now, {}, true);
  EXPECT_EQ(breaker.state(), State::Open);
  EXPECT_GE(breaker.next_probe() - now, 100ms);
  EXPECT_LE(breaker.next_probe() - now, 200ms);
  // Capped at probe_max.
  for (int i = 0; i < 10; ++i) {
    now = breaker.next_probe();
    ASSERT_EQ(breaker.permit(now), Permit::Probe);
    breaker.failed(now, {}, true);
    EXPECT_LE(breaker.next_probe() - now, 400ms);
  }
  // The probe is answered: closed, posts go, the back-off starts over.
  now = breaker.next_probe();
  ASSERT_EQ(breaker.permit(now), Permit::Probe);
  breaker.succeeded();
  EXPECT_EQ(breaker.state(), State::Closed);
  EXPECT_EQ(breaker.permit(now), Permit::Post);
  breaker.failed(now);
  EXPECT_LE(breaker.next_probe() - now, 100ms);
}

TEST(CircuitBreakerTest, RetryAfterLengthensTheWaitWithinTheCap) {
  CircuitBreaker breaker(1, 100ms, 5000ms, 1);
  breaker.failed(t0, 2000ms);
  EXPECT_EQ(breaker.next_probe(), t0 + 2000ms);
  ASSERT_EQ(breaker.permit(t0 + 2000ms), Permit::Probe);
  breaker.failed(t0 + 2000ms, std::chrono::milliseconds(24h), true);  // a hostile header
  EXPECT_EQ(breaker.next_probe(), t0 + 2000ms + 5000ms);
}

TEST(CircuitBreakerTest, LateFailuresOfPostsStartedBeforeItOpenedDoNotPostponeTheProbe) {
  CircuitBreaker breaker(2, 100ms, 1000ms, 1);
  breaker.failed(t0);
  breaker.failed(t0);
  const auto probe = breaker.next_probe();
  breaker.failed(t0 + 10ms);
  breaker.failed(t0 + 20ms);
  EXPECT_EQ(breaker.next_probe(), probe);
  EXPECT_EQ(breaker.failures_in_a_row(), 4);
}

TEST(CircuitBreakerTest, ALateFailureWhileTheProbeIsInFlightStartsNoSecondProbe) {
  CircuitBreaker breaker(1, 100ms, 1000ms, 1);
  breaker.failed(t0);
  const auto now = breaker.next_probe();
  ASSERT_EQ(breaker.permit(now), Permit::Probe);
  breaker.failed(now);  // a post from before the circuit opened
  EXPECT_EQ(breaker.state(), State::Probing);
  EXPECT_EQ(breaker.permit(now + 1h), Permit::Wait);
}

TEST(CircuitBreakerTest, AnAbandonedProbeLetsTheNextGoAtOnce) {
  CircuitBreaker breaker(1, 100ms, 1000ms, 1);
  breaker.failed(t0);
  const auto now = breaker.next_probe();
  ASSERT_EQ(breaker.permit(now), Permit::Probe);
  breaker.probe_abandoned();
  EXPECT_EQ(breaker.state(), State::Open);
  EXPECT_EQ(breaker.permit(now), Permit::Probe);
}

TEST(CircuitBreakerTest, ZeroNeverOpens) {
  CircuitBreaker breaker(0, 100ms, 1000ms, 1);
  for (int i = 0; i < 1000; ++i) breaker.failed(t0);
  EXPECT_EQ(breaker.state(), State::Closed);
  EXPECT_EQ(breaker.permit(t0), Permit::Post);
}

}  // namespace
}  // namespace metersync::dispatch
