// `metersync check`: everything `run` needs from its surroundings, checked before it starts,
// one finding per line with the fix: the configuration; Kafka and each source's topic;
// Kafka Connect and each source's connector and tasks (connect.url); the sink's login and
// tables; each endpoint (a signed empty batch: an answer that it is empty proves the address
// and the credentials); each source's CDC prerequisites (connection).
#pragma once

#include <chrono>
#include <vector>

#include "check/report.hpp"
#include "config/config.hpp"

namespace metersync::check {

struct Options {
  std::chrono::milliseconds timeout{10000};  // per network call
};

Report preflight(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                 const Options& options = {});

}  // namespace metersync::check
