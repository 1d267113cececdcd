#include "engine/meter_master.hpp"

namespace metersync::engine {
namespace {

// sink::Sink throws; the engine handles values. Its refusals are turned into values here,
// at the one place the engine meets the sink.
class SinkConnection : public DestinationConnection {
 public:
  explicit SinkConnection(std::unique_ptr<sink::Sink> sink) : sink_(std::move(sink)) {}
  Result<void> apply(const sink::Batch& batch) override { return sink_->try_apply(batch); }
  Result<sink::Offsets> load_offsets(const std::string& pipeline, const std::string& topic) override {
    try {
      return sink_->load_offsets(pipeline, topic);
    } catch (const sink::SinkError& e) {
      return std::unexpected(sink::to_error(e));
    }
  }

 private:
  std::unique_ptr<sink::Sink> sink_;
};

}  // namespace

Result<std::unique_ptr<DestinationConnection>> MeterMaster::connect() {
  try {
    return std::make_unique<SinkConnection>(std::make_unique<sink::Sink>(config_));
  } catch (const sink::SinkError& e) {
    return std::unexpected(sink::to_error(e));
  }
}

}  // namespace metersync::engine
