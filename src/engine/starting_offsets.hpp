// Where each assigned partition starts: the offsets the destination stored with the rows
// (exactly once). Read on a connection of the pipeline thread's own (the writer's is busy
// writing), opened for an assignment and closed after it: assignments are rare, an idle
// connection in between is not worth keeping. Unreachable destinations are waited for
// with a back-off; any other failure ends the pipeline's run.
//
// Thread: the pipeline thread (load() runs inside kafka::Consumer::poll()).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/destination.hpp"
#include "engine/stop_signal.hpp"
#include "kafka/consumer.hpp"

namespace metersync::engine {

class StartingOffsets {
 public:
  struct Retry {
    std::chrono::milliseconds initial{200};
    std::chrono::milliseconds max{10000};
    // Told of each transient failure before the back-off (message, attempt from 1).
    std::function<void(const std::string& message, int attempt)> noted;
  };

  StartingOffsets(Destination& destination, std::string pipeline, std::string topic,
                  const StopSignal& stop, Retry retry);

  // Blocks until the destination answers; the connection then serves the first
  // assignment. False when stopped first; the error when it is not transient.
  Result<bool> wait_for_destination();

  // The stored offsets of every partition of the topic; nullopt when stopped or failed
  // (failure() then says why). Never throws: it runs inside a librdkafka callback.
  std::optional<kafka::Offsets> load();
  const std::optional<std::string>& failure() const { return failure_; }

 private:
  Result<kafka::Offsets> read();

  Destination& destination_;
  std::string pipeline_;
  std::string topic_;
  const StopSignal& stop_;
  Retry retry_;
  std::unique_ptr<DestinationConnection> connection_;
  std::optional<std::string> failure_;
};

}  // namespace metersync::engine
