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

bool StartingOffsets::wait_for_destination() {
  pipeline::Backoff backoff(retry_.initial, retry_.max);
  while (!stop_.requested()) {
    try {
      if (!connection_) connection_ = destination_.connect();
      return true;
    } catch (const sink::SinkError& e) {
      if (e.kind() != sink::SinkError::Kind::Transient) throw;
      if (retry_.noted) retry_.noted(e.what(), backoff.attempts() + 1);
      stop_.sleep_for(backoff.next());
    }
  }
  return false;
}

std::optional<kafka::Offsets> StartingOffsets::load() {
  pipeline::Backoff backoff(retry_.initial, retry_.max);
  while (!stop_.requested()) {
    try {
      if (!connection_) connection_ = destination_.connect();
      kafka::Offsets stored = connection_->load_offsets(pipeline_, topic_);
      connection_.reset();
      return stored;
    } catch (const sink::SinkError& e) {
      connection_.reset();
      const std::string message = std::string("loading stored offsets: ") + e.what();
      if (e.kind() != sink::SinkError::Kind::Transient) {
        failure_ = message;
        return std::nullopt;
      }
      if (retry_.noted) retry_.noted(message, backoff.attempts() + 1);
      stop_.sleep_for(backoff.next());
    }
  }
  return std::nullopt;
}

}  // namespace metersync::engine
