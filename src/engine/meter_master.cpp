#include "engine/meter_master.hpp"

namespace metersync::engine {
namespace {

class SinkConnection : public DestinationConnection {
 public:
  explicit SinkConnection(const config::SinkConfig& config) : sink_(config) {}
  void apply(const sink::Batch& batch) override { sink_.apply(batch); }
  sink::Offsets load_offsets(const std::string& pipeline, const std::string& topic) override {
    return sink_.load_offsets(pipeline, topic);
  }

 private:
  sink::Sink sink_;
};

}  // namespace

std::unique_ptr<DestinationConnection> MeterMaster::connect() {
  return std::make_unique<SinkConnection>(config_);
}

}  // namespace metersync::engine
