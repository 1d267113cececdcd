// The Meter Master destination: a sink::Sink connection per thread, each batch's rows and
// the offsets they cover in one of its transactions.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "engine/destination.hpp"

namespace metersync::engine {

class MeterMaster : public Destination {
 public:
  explicit MeterMaster(const config::SinkConfig& config) : config_(config) {}
  Result<std::unique_ptr<DestinationConnection>> connect() override;

 private:
  const config::SinkConfig& config_;
};

}  // namespace metersync::engine
