// The one place that names a source's topics: where its changes are read and where each
// destination keeps the records it could not take.
#pragma once

#include <string>

#include "config/config.hpp"

namespace metersync::pipeline {

struct SourceTopics {
  std::string changes;                // sources.<name>.topic
  std::string dead_letters;           // Meter Master side: configured, or <topic>.dlq
  std::string endpoint_dead_letters;  // endpoint side: configured, or <topic>.endpoint.dlq
};

SourceTopics topics_of(const config::SourceConfig& source);

}  // namespace metersync::pipeline
