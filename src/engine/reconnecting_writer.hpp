// The writer thread's connection to the destination: opened on first use, dropped after a
// transient failure so that the next attempt reconnects.
//
// Thread: the writer thread (apply, through BatchCommitter, and disconnect, from its hooks).
#pragma once

#include <memory>

#include "engine/destination.hpp"

namespace metersync::engine {

class ReconnectingWriter : public ChangeWriter {
 public:
  explicit ReconnectingWriter(Destination& destination) : destination_(destination) {}
  Result<void> apply(const sink::Batch& batch) override {
    if (!connection_) {
      auto connected = destination_.connect();
      if (!connected) return std::unexpected(std::move(connected.error()));
      connection_ = std::move(*connected);
    }
    return connection_->apply(batch);
  }
  void disconnect() { connection_.reset(); }

 private:
  Destination& destination_;
  std::unique_ptr<DestinationConnection> connection_;
};

}  // namespace metersync::engine
