#include "health/progress_history.hpp"

#include <algorithm>

namespace metersync::health {

void ProgressHistory::record(const std::vector<Observation>& observations, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  for (const Observation& o : observations) {
    auto [slot, first] = memory_.try_emplace(std::pair{o.source, o.destination});
    Memory& memory = slot->second;
    memory.last_error = o.last_error;
    memory.lag = o.lag;
    if (first) {  // a baseline: the counts are since the process started, not since this step
      memory.order = memory_.size() - 1;
      memory.step_began = now;
      memory.committed_then = o.committed;
      continue;
    }
    const std::chrono::duration<double> took = now - memory.step_began;
    if (took < kStep) continue;
    // A count that goes back (a pipeline's counters started again) is no negative rate.
    const int64_t committed = std::max<int64_t>(0, o.committed - memory.committed_then);
    memory.points.push_back({now, static_cast<double>(committed) / took.count(), o.lag});
    if (memory.points.size() > kPoints) memory.points.pop_front();
    memory.step_began = now;
    memory.committed_then = o.committed;
  }
}

std::vector<ProgressHistory::Series> ProgressHistory::series() const {
  std::lock_guard lock(mutex_);
  std::vector<Series> all(memory_.size());
  for (const auto& [key, memory] : memory_) {
    all[memory.order] = Series{key.first, key.second, {memory.points.begin(), memory.points.end()},
                               memory.last_error, memory.lag};
  }
  return all;
}

}  // namespace metersync::health
