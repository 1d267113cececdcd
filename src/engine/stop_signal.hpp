// A pipeline's stop request, and sleeps it cuts short: a back-off never delays a stop.
//
// Thread: request() from any thread; the rest from the pipeline's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace metersync::engine {

class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    wake_.notify_all();
  }
  bool requested() const { return requested_.load(); }
  // Returns false when the stop was requested before `delay` passed.
  bool sleep_for(std::chrono::milliseconds delay) const {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, delay, [this] { return requested_.load(); });
  }

 private:
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
};

}  // namespace metersync::engine
