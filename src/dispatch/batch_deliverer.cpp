#include "dispatch/batch_deliverer.hpp"

#include <thread>

namespace metersync::dispatch {

BatchDeliverer::BatchDeliverer(Post post, RetryPolicy policy, const std::atomic<bool>& stopping,
                               OnRetry on_retry)
    : post_(std::move(post)), policy_(policy), stopping_(stopping),
      on_retry_(std::move(on_retry)) {}

DeliveryOutcome BatchDeliverer::deliver(const std::string& body, const std::string& batch_id) {
  using namespace std::chrono;
  for (int attempt = 1;; ++attempt) {
    if (stopping_) return {DeliveryOutcome::Kind::Stopped, attempt - 1, ""};
    AttemptResult result = post_(body, batch_id);
    Decision decision = policy_.decide(result, attempt);
    switch (decision.verdict) {
      case Verdict::Delivered:
        return {DeliveryOutcome::Kind::Delivered, attempt, ""};
      case Verdict::DeadLetter: {
        std::string reason = result.describe();
        if (classify(result) == Verdict::Retry) {
          reason = "gave up after " + std::to_string(attempt) + " attempts; last: " + reason;
        }
        return {DeliveryOutcome::Kind::DeadLetter, attempt, std::move(reason)};
      }
      case Verdict::Retry:
        if (on_retry_) on_retry_(result, attempt, decision.wait);
        // Sleep in slices so a stop request is noticed within a tenth of a second.
        for (auto until = steady_clock::now() + decision.wait;
             steady_clock::now() < until && !stopping_;) {
          std::this_thread::sleep_for(
              std::min<steady_clock::duration>(milliseconds(100), until - steady_clock::now()));
        }
        break;
    }
  }
}

}  // namespace metersync::dispatch
