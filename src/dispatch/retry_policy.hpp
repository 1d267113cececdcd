// The one place that decides what happens after an attempt to post a batch: delivered,
// try again later (and when), or dead-letter now. Pinned by a table test
// (tests/retry_policy_test.cpp).
//
// Rules (docs/endpoints.md): 2xx delivered; connection failures, timeouts, 408, 429 and
// 5xx retried after pipeline::Backoff (the one backoff), Retry-After honoured; every
// other answer (1xx/3xx are not expected from an API endpoint, other 4xx) dead-letters
// at once; retries stop after max_attempts and the batch is dead-lettered.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "pipeline/backoff.hpp"

namespace metersync::dispatch {

// What one HTTP attempt produced.
struct AttemptResult {
  // Set when no HTTP answer came (connect refused, reset, timeout, TLS failure).
  std::optional<std::string> transport_error;
  bool timed_out = false;  // transport_error was a connect or request timeout
  long status = 0;         // HTTP status when an answer came
  std::optional<std::string> retry_after;  // the Retry-After header as sent
  std::string body_excerpt;                // start of the response body, for the reason

  // "HTTP 400: {...}" / "connection: Failed to connect to ..." — the dead-letter reason.
  std::string describe() const;
};

enum class Verdict { Delivered, Retry, DeadLetter };
std::string_view verdict_name(Verdict verdict);

// Delivered / Retry / DeadLetter for one attempt, ignoring the attempt limit.
Verdict classify(const AttemptResult& result);

// What parse_retry_after gives at most: far beyond any cap (retry_max_ms is at most a day),
// and small enough that arithmetic on clocks never overflows.
inline constexpr std::chrono::milliseconds kRetryAfterCeiling = std::chrono::hours(24 * 365);

// Seconds ("120") or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT") → a wait from `now`.
// nullopt when malformed; a date in the past gives zero; a value beyond kRetryAfterCeiling
// (a number of any length, a date in the year 9999) gives kRetryAfterCeiling. The caller
// clamps it to its own maximum (RetryPolicy, CircuitBreaker: retry_max_ms).
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

struct RetrySettings {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30000};
  int max_attempts = 10;  // attempts in all, the first included
};

struct Decision {
  Verdict verdict;
  std::chrono::milliseconds wait{0};  // before the next attempt (Retry only)
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetrySettings settings, uint64_t seed = std::random_device{}());

  // `attempt` counts from 1 (the attempt that produced `result`). A retryable result on
  // the last allowed attempt becomes DeadLetter. The wait is pipeline::Backoff's after
  // `attempt` failures: uniform in [d/2, d], d = min(max, initial * 2^(attempt-1)); a
  // Retry-After longer than that wins (capped at `max` so a hostile header cannot park
  // the pipeline for a day).
  Decision decide(const AttemptResult& result, int attempt,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  const RetrySettings& settings() const { return settings_; }

 private:
  RetrySettings settings_;
  pipeline::Backoff backoff_;
};

}  // namespace metersync::dispatch
