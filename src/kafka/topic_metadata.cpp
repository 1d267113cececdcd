#include "kafka/topic_metadata.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <memory>

namespace metersync::kafka {

namespace {

// A producer is the lightest handle that can ask for metadata and watermarks: no group, no
// assignment.
std::expected<std::unique_ptr<RdKafka::Producer>, std::string> metadata_client(
    const ClientSettings& settings) {
  std::unique_ptr<RdKafka::Conf> conf;
  try {
    conf = make_conf(settings, {}, {{"log_level", "3"}});
  } catch (const ClientConfigError& error) {
    return std::unexpected(error.what());
  }
  std::string error;
  std::unique_ptr<RdKafka::Producer> handle(RdKafka::Producer::create(conf.get(), error));
  if (!handle) return std::unexpected("cannot create a Kafka client: " + error);
  return handle;
}

}  // namespace

std::expected<TopicMetadata, std::string> describe_topics(const ClientSettings& settings,
                                                          const std::vector<std::string>& topics,
                                                          std::chrono::milliseconds timeout) {
  auto client = metadata_client(settings);
  if (!client) return std::unexpected(client.error());
  const std::unique_ptr<RdKafka::Producer>& handle = *client;
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode code =
      handle->metadata(true, nullptr, &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (code != RdKafka::ERR_NO_ERROR) {
    return std::unexpected("no answer from " + settings.bootstrap_servers + " within " +
                           std::to_string(timeout.count()) + " ms: " + RdKafka::err2str(code));
  }
  TopicMetadata out;
  out.brokers = static_cast<int>(metadata->brokers()->size());
  for (const std::string& topic : topics) out.partitions[topic] = std::nullopt;
  for (const RdKafka::TopicMetadata* topic : *metadata->topics()) {
    const auto wanted = out.partitions.find(topic->topic());
    if (wanted != out.partitions.end() && topic->err() == RdKafka::ERR_NO_ERROR)
      wanted->second = static_cast<int>(topic->partitions()->size());
  }
  return out;
}

std::expected<std::map<int32_t, int64_t>, std::string> end_offsets(
    const ClientSettings& settings, const std::string& topic, std::chrono::milliseconds timeout) {
  const auto described = describe_topics(settings, {topic}, timeout);
  if (!described) return std::unexpected(described.error());
  const auto partitions = described->partitions.at(topic);
  if (!partitions) return std::unexpected("topic " + topic + " does not exist");
  auto client = metadata_client(settings);
  if (!client) return std::unexpected(client.error());
  const std::unique_ptr<RdKafka::Producer>& handle = *client;
  std::map<int32_t, int64_t> out;
  for (int32_t partition = 0; partition < *partitions; ++partition) {
    int64_t low = 0;
    int64_t high = 0;
    const RdKafka::ErrorCode code = handle->query_watermark_offsets(
        topic, partition, &low, &high, static_cast<int>(timeout.count()));
    if (code != RdKafka::ERR_NO_ERROR)
      return std::unexpected("end offset of " + topic + " [" + std::to_string(partition) +
                             "]: " + RdKafka::err2str(code));
    out[partition] = high;
  }
  return out;
}

std::string library_version() { return RdKafka::version_str(); }

}  // namespace metersync::kafka
