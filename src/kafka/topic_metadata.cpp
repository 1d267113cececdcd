#include "kafka/topic_metadata.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <memory>

namespace metersync::kafka {

std::expected<TopicMetadata, std::string> describe_topics(const ClientSettings& settings,
                                                          const std::vector<std::string>& topics,
                                                          std::chrono::milliseconds timeout) {
  std::unique_ptr<RdKafka::Conf> conf;
  try {
    conf = make_conf(settings, {}, {{"log_level", "3"}});
  } catch (const ClientConfigError& error) {
    return std::unexpected(error.what());
  }
  std::string error;
  // A producer is the lightest handle that can ask for metadata: no group, no assignment.
  std::unique_ptr<RdKafka::Producer> handle(RdKafka::Producer::create(conf.get(), error));
  if (!handle) return std::unexpected("cannot create a Kafka client: " + error);
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

std::string library_version() { return RdKafka::version_str(); }

}  // namespace metersync::kafka
