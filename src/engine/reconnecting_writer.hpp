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
  void apply(const sink::Batch& batch) override {
    if (!connection_) connection_ = destination_.connect();
    connection_->apply(batch);
  }
  void disconnect() { connection_.reset(); }

 private:
  Destination& destination_;
  std::unique_ptr<DestinationConnection> connection_;
};

}  // namespace metersync::engine
