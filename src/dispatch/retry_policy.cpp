#include "dispatch/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace metersync::dispatch {

std::string AttemptResult::describe() const {
  if (transport_error) return (timed_out ? "timeout: " : "connection: ") + *transport_error;
  std::string text = "HTTP " + std::to_string(status);
  if (!body_excerpt.empty()) text += ": " + body_excerpt;
  return text;
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::Delivered: return "delivered";
    case Verdict::Retry: return "retry";
    case Verdict::DeadLetter: return "dead-letter";
  }
  return "?";
}

Verdict classify(const AttemptResult& result) {
  if (result.transport_error) return Verdict::Retry;
  const long s = result.status;
  if (s >= 200 && s < 300) return Verdict::Delivered;
  if (s == 408 || s == 429 || (s >= 500 && s < 600)) return Verdict::Retry;
  return Verdict::DeadLetter;
}

// Compared in seconds, before any conversion to milliseconds could overflow.
constexpr int64_t kCeilingSeconds = std::chrono::duration_cast<std::chrono::seconds>(kRetryAfterCeiling).count();

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    // More digits than int64 holds is still a (hostile) number: the longest wait there is.
    if (ec == std::errc::result_out_of_range) return kRetryAfterCeiling;
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    if (seconds >= kCeilingSeconds) return kRetryAfterCeiling;
    return std::chrono::seconds(seconds);
  }
  // IMF-fixdate, the form RFC 9110 requires senders to use.
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  // Compared in whole seconds first: a date centuries away does not fit system_clock's
  // nanoseconds.
  const std::time_t at = timegm(&tm);
  const std::time_t now_seconds = std::chrono::system_clock::to_time_t(now);
  if (at < now_seconds) return std::chrono::milliseconds(0);
  if (at - now_seconds >= kCeilingSeconds) return kRetryAfterCeiling;
  const auto at_time = std::chrono::system_clock::from_time_t(at);
  if (at_time <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at_time - now);
}

RetryPolicy::RetryPolicy(RetrySettings settings, uint64_t seed)
    : settings_(settings), backoff_(settings.initial, settings.max, seed) {}

Decision RetryPolicy::decide(const AttemptResult& result, int attempt,
                             std::chrono::system_clock::time_point now) {
  Verdict verdict = classify(result);
  if (verdict != Verdict::Retry) return {verdict};
  if (attempt >= settings_.max_attempts) return {Verdict::DeadLetter};
  std::chrono::milliseconds wait = backoff_.after(attempt);
  if (result.retry_after) {
    if (auto asked = parse_retry_after(*result.retry_after, now)) {
      wait = std::max(wait, std::min(*asked, settings_.max));
    }
  }
  return {Verdict::Retry, wait};
}

}  // namespace metersync::dispatch
