// Whether each destination of each source is progressing: what /readyz answers.
//
// The supervisor hands over one Observation per destination every second; Readiness
// remembers since when each has had work (records pending on the broker, records read and
// not committed, a failing sink or endpoint, partitions not yet assigned) without making
// progress (its committed count not moving), and judges a destination not ready once that
// has lasted `stall_after` (http.stall_after_ms). A pipeline stopped after an error is not
// ready at once. One stalled destination marks itself only, never the others.
//
// Threads: observe() from the supervisor's thread, verdicts()/ready()/body() from the
// listener's; a mutex between them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace metersync::health {

using Clock = std::chrono::system_clock;

enum class Phase {
  Starting,  // connecting, or waiting for partitions
  Running,
  Failing,   // the last attempt failed; retrying after a back-off
  Failed,    // ended by an error; a new attempt starts after a back-off
  Stopped,   // shut down on request
};

struct Observation {
  std::string source;
  std::string destination;  // meter_master | endpoint
  Phase phase = Phase::Starting;
  int64_t committed = 0;        // records settled so far (written, dead-lettered, skipped)
  int64_t in_flight = 0;        // records read and not yet settled
  std::optional<int64_t> lag;   // records on the broker after the committed position
  std::string last_error;       // "" = none
  std::optional<long> last_http_status;  // endpoints: the last answer's status
  // Endpoints: set while the circuit breaker holds the endpoint unavailable (since when),
  // after `failures_in_a_row` failed posts. Not ready at once: the run of failures was the wait.
  std::optional<Clock::time_point> unavailable_since{};
  int failures_in_a_row = 0;
};

struct Verdict {
  std::string source;
  std::string destination;
  bool ready = true;
  std::string reason;                   // why not ready ("" when ready)
  std::optional<Clock::time_point> since;  // since when the reason holds
};

class Readiness {
 public:
  explicit Readiness(std::chrono::milliseconds stall_after);

  void observe(const std::vector<Observation>& observations, Clock::time_point now);

  std::vector<Verdict> verdicts() const;
  bool ready() const;  // every destination ready, and at least one observation made
  // /readyz's JSON body: {"ready": bool, "destinations": [{source, destination, ready,
  // reason, since}, ...]}
  std::string body() const;

 private:
  struct Memory {
    int64_t committed = -1;
    std::optional<Clock::time_point> stuck_since;  // work waiting and no progress since
    std::optional<Clock::time_point> failed_since;
  };
  Verdict judge(const Observation& o, Memory& memory, Clock::time_point now) const;

  std::chrono::milliseconds stall_after_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Memory> memory_;
  std::vector<Verdict> verdicts_;
  bool observed_ = false;
};

std::string iso_utc(Clock::time_point at);

}  // namespace metersync::health
