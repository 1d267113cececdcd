#include "app/periodic_verify.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "metrics/metrics.hpp"
#include "sink/odbc_environment.hpp"
#include "verify/verify_command.hpp"

namespace metersync::app {

PeriodicVerify::PeriodicVerify(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                               metrics::Metrics* metrics)
    : config_(config), metrics_(metrics) {
  for (const auto* source : sources)
    if (!source->connection.empty()) sources_.push_back(source);
}

PeriodicVerify::~PeriodicVerify() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicVerify::start() {
  if (sources_.empty()) {
    spdlog::warn("verify.every_ms is set, but no selected source has a connection to verify it through");
    return;
  }
  thread_ = std::thread([this] { run(); });
}

std::vector<VerifySummary> PeriodicVerify::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void PeriodicVerify::run() {
  const sink::OdbcEnvironment environment;
  verify::CommandOptions options;
  options.stop = &stopping_;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, config_.verify.every, [this] { return stopping_.load(); })) return;
    }
    for (const auto* source : sources_) {
      if (stopping_) return;
      const verify::SourceReport report = verify::verify_one(config_, *source, environment, options);
      if (stopping_) return;  // cut short: not a result
      VerifySummary summary{source->name,
                            report.error.empty(),
                            report.equal(),
                            static_cast<int64_t>(report.differences.size()) + report.unmappable_rows,
                            report.error,
                            std::chrono::system_clock::now(),
                            report.seconds};
      if (!summary.verified)
        spdlog::warn("verify {}: not verified: {}", source->name, summary.error);
      else if (!summary.equal)
        spdlog::warn("verify {}: {} row(s) differ from the source (`metersync verify --source {}` lists them)",
                     source->name, summary.differences, source->name);
      else
        spdlog::info("verify {}: equal ({:.1f} s)", source->name, summary.seconds);
      if (metrics_ != nullptr) metrics_->verify_result(source->name, summary.verified, summary.differences, summary.ended);
      std::lock_guard lock(mutex_);
      auto found = std::find_if(latest_.begin(), latest_.end(), [&](const auto& s) { return s.source == source->name; });
      if (found != latest_.end()) *found = std::move(summary);
      else latest_.push_back(std::move(summary));
    }
  }
}

}  // namespace metersync::app
