// Faults the endpoint service injects into its own ingest routes, per source, so tests
// and demos can show how the dispatcher copes. Set at start-up (--fault) or at runtime
// through the admin route; read by every ingest request.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace metersync::endpoint {

struct Fault {
  enum class Kind {
    Close,   // break the connection without a complete answer
    Status,  // answer `status` (429 adds Retry-After: retry_after_s when set)
    Sleep,   // wait `sleep` before handling the request normally
  };
  Kind kind = Kind::Status;
  int status = 500;
  std::optional<int> retry_after_s;
  std::chrono::milliseconds sleep{0};
  // How many requests it applies to; none = until cleared.
  std::optional<int> remaining;
};

// "close", "status:500", "status:429:retry_after=2", "sleep:1500"; each may end with
// ":count=N". The error names what is wrong.
std::expected<Fault, std::string> parse_fault(std::string_view text);
std::string describe(const Fault& fault);

class FaultTable {
 public:
  void set(const std::string& source, Fault fault);
  void clear(const std::string& source);
  // The fault to apply to one request of `source` (consumes one of `remaining`).
  std::optional<Fault> take(const std::string& source);
  std::map<std::string, Fault> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Fault> faults_;
};

}  // namespace metersync::endpoint
