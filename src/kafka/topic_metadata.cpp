#include "kafka/topic_metadata.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <array>
#include <charconv>
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

template <auto Destroy>
struct CDeleter {
  template <typename T>
  void operator()(T* handle) const { Destroy(handle); }
};
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, CDeleter<rd_kafka_AdminOptions_destroy>>;
using Queue = std::unique_ptr<rd_kafka_queue_t, CDeleter<rd_kafka_queue_destroy>>;
using Event = std::unique_ptr<rd_kafka_event_t, CDeleter<rd_kafka_event_destroy>>;
using Resource = std::unique_ptr<rd_kafka_ConfigResource_t, CDeleter<rd_kafka_ConfigResource_destroy>>;

// One DescribeConfigs request for one resource; the value of `key` in the answer.
std::expected<std::string, std::string> describe_config(RdKafka::Producer& handle,
                                                        rd_kafka_ResourceType_t type,
                                                        const std::string& name,
                                                        const std::string& key,
                                                        std::chrono::milliseconds timeout) {
  rd_kafka_t* rk = handle.c_ptr();
  std::array<char, 512> errstr{};
  AdminOptions options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                                errstr.data(), errstr.size()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::unexpected(std::string(errstr.data()));
  }
  Queue queue(rd_kafka_queue_new(rk));
  Resource resource(rd_kafka_ConfigResource_new(type, name.c_str()));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  rd_kafka_DescribeConfigs(rk, resources, 1, options.get(), queue.get());
  Event event(rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000));
  const std::string what = "DescribeConfigs " + name;
  if (!event) return std::unexpected(what + ": no answer within " + std::to_string(timeout.count()) + " ms");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::unexpected(what + ": " + rd_kafka_event_error_string(event.get()));
  }
  const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(event.get());
  std::size_t count = 0;
  const rd_kafka_ConfigResource_t** answered =
      result == nullptr ? nullptr : rd_kafka_DescribeConfigs_result_resources(result, &count);
  if (count != 1) return std::unexpected(what + ": no resource in the answer");
  if (rd_kafka_ConfigResource_error(answered[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::unexpected(what + ": " + rd_kafka_ConfigResource_error_string(answered[0]));
  }
  std::size_t entries = 0;
  const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(answered[0], &entries);
  for (std::size_t i = 0; i < entries; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(configs[i]);
    if (key == rd_kafka_ConfigEntry_name(configs[i]) && value != nullptr) return std::string(value);
  }
  return std::unexpected(what + ": no " + key + " in the answer");
}

std::expected<int64_t, std::string> positive_number(const std::string& text, const std::string& what) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return std::unexpected(what + " is '" + text + "', not a positive number");
  }
  return value;
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

std::expected<int64_t, std::string> message_limit(const ClientSettings& settings,
                                                  const std::string& topic,
                                                  std::chrono::milliseconds timeout) {
  auto client = metadata_client(settings);
  if (!client) return std::unexpected(client.error());
  RdKafka::Producer& handle = **client;
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode code = handle.metadata(true, nullptr, &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (code != RdKafka::ERR_NO_ERROR) {
    return std::unexpected("no metadata from " + settings.bootstrap_servers + " within " +
                           std::to_string(timeout.count()) + " ms: " + RdKafka::err2str(code));
  }
  bool exists = false;
  for (const RdKafka::TopicMetadata* described : *metadata->topics()) {
    if (described->topic() == topic && described->err() == RdKafka::ERR_NO_ERROR) exists = true;
  }
  if (exists) {
    auto value = describe_config(handle, RD_KAFKA_RESOURCE_TOPIC, topic, "max.message.bytes", timeout);
    if (!value) return std::unexpected(value.error());
    return positive_number(*value, topic + " max.message.bytes");
  }
  if (metadata->brokers()->empty()) return std::unexpected("the metadata names no broker");
  const std::string broker = std::to_string(metadata->brokers()->front()->id());
  auto value = describe_config(handle, RD_KAFKA_RESOURCE_BROKER, broker, "message.max.bytes", timeout);
  if (!value) return std::unexpected(value.error());
  return positive_number(*value, "broker " + broker + " message.max.bytes");
}

std::string library_version() { return RdKafka::version_str(); }

}  // namespace metersync::kafka
