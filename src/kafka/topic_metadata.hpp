// What the brokers say about topics: for `metersync check`, and librdkafka's version for
// the build-info metric (src/kafka is the only component that includes librdkafka).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client_config.hpp"

namespace metersync::kafka {

struct TopicMetadata {
  int brokers = 0;
  // Each asked topic: its partition count, or nullopt when the cluster does not have it.
  std::map<std::string, std::optional<int>> partitions;
};

// One metadata request for every topic of the cluster (it never creates a topic). The error
// says why the cluster did not answer within `timeout`.
std::expected<TopicMetadata, std::string> describe_topics(const ClientSettings& settings,
                                                          const std::vector<std::string>& topics,
                                                          std::chrono::milliseconds timeout);

// The end offset (high watermark: the offset the next record will get) of every partition of
// `topic`, asked of the partition leaders. The error says why they did not answer.
std::expected<std::map<int32_t, int64_t>, std::string> end_offsets(
    const ClientSettings& settings, const std::string& topic, std::chrono::milliseconds timeout);

// The largest record batch `topic` accepts, in bytes: its max.message.bytes, or, when the
// topic does not exist yet, the broker's message.max.bytes (what a new topic inherits).
// Asked with DescribeConfigs; the error says why the cluster did not answer.
std::expected<int64_t, std::string> message_limit(const ClientSettings& settings,
                                                  const std::string& topic,
                                                  std::chrono::milliseconds timeout);

std::string library_version();  // librdkafka's, e.g. "2.0.2"

}  // namespace metersync::kafka
