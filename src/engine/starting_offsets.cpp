#include "engine/starting_offsets.hpp"

#include "pipeline/backoff.hpp"

namespace metersync::engine {

StartingOffsets::StartingOffsets(Destination& destination, std::string pipeline, std::string topic,
                                 const StopSignal& stop, Retry retry)
    : destination_(destination),
      pipeline_(std::move(pipeline)),
      topic_(std::move(topic)),
      stop_(stop),
      retry_(std::move(retry)) {}

Result<bool> StartingOffsets::wait_for_destination() {
  pipeline::Backoff backoff(retry_.initial, retry_.max);
  while (!stop_.requested()) {
    auto connected = destination_.connect();
    if (connected) {
      connection_ = std::move(*connected);
      return true;
    }
    if (connected.error().kind != ErrorKind::Transient) return std::unexpected(connected.error());
    if (retry_.noted) retry_.noted(connected.error().reason, backoff.attempts() + 1);
    stop_.sleep_for(backoff.next());
  }
  return false;
}

Result<kafka::Offsets> StartingOffsets::read() {
  if (!connection_) {
    auto connected = destination_.connect();
    if (!connected) return std::unexpected(std::move(connected.error()));
    connection_ = std::move(*connected);
  }
  return connection_->load_offsets(pipeline_, topic_);
}

std::optional<kafka::Offsets> StartingOffsets::load() {
  pipeline::Backoff backoff(retry_.initial, retry_.max);
  while (!stop_.requested()) {
    Result<kafka::Offsets> stored = read();
    connection_.reset();
    if (stored) return std::move(*stored);
    const std::string message = "loading stored offsets: " + stored.error().reason;
    if (stored.error().kind != ErrorKind::Transient) {
      failure_ = message;
      return std::nullopt;
    }
    if (retry_.noted) retry_.noted(message, backoff.attempts() + 1);
    stop_.sleep_for(backoff.next());
  }
  return std::nullopt;
}

}  // namespace metersync::engine
