// Delivers one batch: posts it, asks the RetryPolicy after every attempt, waits as it
// says, and stops at delivered, dead-letter, or when the dispatcher is stopping.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "dispatch/http_sender.hpp"
#include "dispatch/retry_policy.hpp"

namespace metersync::dispatch {

struct DeliveryOutcome {
  enum class Kind {
    Delivered,
    DeadLetter,  // `last_error` says why (non-retryable answer or attempts used up)
    Stopped,     // the dispatcher is stopping: nothing settled, the batch is sent again later
  };
  Kind kind;
  int attempts = 0;
  std::string last_error;
};

class BatchDeliverer {
 public:
  // `post`: one attempt (HttpSender::post in production, a fake in tests).
  using Post = std::function<AttemptResult(const std::string& body, const std::string& batch_id)>;
  // Called after each failed attempt (for logs and metrics).
  using OnRetry = std::function<void(const AttemptResult&, int attempt, std::chrono::milliseconds wait)>;

  BatchDeliverer(Post post, RetryPolicy policy, const std::atomic<bool>& stopping,
                 OnRetry on_retry = {});

  DeliveryOutcome deliver(const std::string& body, const std::string& batch_id);

 private:
  Post post_;
  RetryPolicy policy_;
  const std::atomic<bool>& stopping_;
  OnRetry on_retry_;
};

}  // namespace metersync::dispatch
