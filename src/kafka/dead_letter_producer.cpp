#include "kafka/dead_letter_producer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "kafka/topic_metadata.hpp"

namespace metersync::kafka {
namespace {

using namespace std::chrono_literals;

// librdkafka's bounds for message.max.bytes.
constexpr int64_t kSmallestProducerLimit = 1000;
constexpr int64_t kLargestProducerLimit = 1000000000;
// librdkafka's default batch.size: kept unless the topic accepts less.
constexpr int64_t kDefaultBatchSize = 1000000;

std::size_t size_of(const std::optional<std::string_view>& bytes) { return bytes ? bytes->size() : 0; }

// Bytes the headers take in a record: names, values and their varint lengths.
int64_t header_bytes(const std::vector<std::pair<std::string, std::string>>& headers) {
  int64_t total = 0;
  for (const auto& [name, value] : headers) total += static_cast<int64_t>(name.size() + value.size()) + 10;
  return total;
}

}  // namespace

std::string dead_letter_id(const DeadLetter& letter) {
  std::string id = std::string(letter.topic) + "/" + std::to_string(letter.partition) + "/" +
                   std::to_string(letter.offset);
  if (letter.last_offset >= 0) id += "-" + std::to_string(letter.last_offset);
  return id;
}

// Counts acknowledgements; runs inside flush()/poll() on the owning thread.
class DeadLetterProducer::DeliveryTracker : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) return;
    const std::string what = "dead letter to " + message.topic_name() + ": " + message.errstr();
    if (message.err() == RdKafka::ERR_MSG_SIZE_TOO_LARGE) {
      // The topic accepts less than we were told (its configuration changed since): remember
      // a limit below this record, so that sent again it goes as a reference.
      const auto bytes = static_cast<int64_t>(message.len() + (message.key() ? message.key()->size() : 0));
      auto [at, inserted] = too_large.try_emplace(message.topic_name(), bytes);
      if (!inserted) at->second = std::min(at->second, bytes);
      if (!first_error) first_error = KafkaError{message.err(), what, ErrorAction::Retry};
      return;
    }
    if (!first_error) first_error = KafkaError::from(message.err(), what);
  }
  std::optional<KafkaError> first_error;
  std::map<std::string, int64_t> too_large;  // topic -> bytes of the smallest refused record
};

DeadLetterProducer::DeadLetterProducer(ClientSettings settings)
    : settings_(std::move(settings)), tracker_(std::make_unique<DeliveryTracker>()) {
  producer_limit_ = kFallbackMessageLimit;
  create();
}

DeadLetterProducer::DeadLetterProducer(ClientSettings settings, int64_t message_limit)
    : settings_(std::move(settings)), fixed_limit_(message_limit), tracker_(std::make_unique<DeliveryTracker>()) {
  producer_limit_ = message_limit;
  create();
}

DeadLetterProducer::~DeadLetterProducer() {
  if (producer_ && producer_->outq_len() > 0) producer_->flush(2000);
}

void DeadLetterProducer::create() {
  auto conf = make_conf(settings_, {
                                       {"enable.idempotence", "true"},
                                       {"acks", "all"},
                                       {"linger.ms", "5"},
                                   });
  std::string error;
  // Sized for the topic, whatever kafka.properties says for the other clients: librdkafka
  // refuses a record above message.max.bytes, and a batch above the topic's limit is
  // refused by the broker.
  const int64_t limit = std::clamp(producer_limit_, kSmallestProducerLimit, kLargestProducerLimit);
  const int64_t batch = std::clamp(producer_limit_ - kRecordOverheadBytes, int64_t{1}, kDefaultBatchSize);
  for (const auto& [key, value] :
       {std::pair<std::string, std::string>{"message.max.bytes", std::to_string(limit)},
        std::pair<std::string, std::string>{"batch.size", std::to_string(batch)}}) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      throw ClientConfigError("kafka dead-letter producer " + key + "=" + value + ": " + error);
    }
  }
  if (conf->set("dr_cb", tracker_.get(), error) != RdKafka::Conf::CONF_OK) {
    throw ClientConfigError("kafka producer delivery callback: " + error);
  }
  producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (!producer_) throw ClientConfigError("kafka dead-letter producer: " + error);
}

int64_t DeadLetterProducer::message_limit(const std::string& topic) {
  if (fixed_limit_) {
    auto found = limits_.find(topic);
    return found == limits_.end() ? *fixed_limit_ : found->second;
  }
  const auto now = std::chrono::steady_clock::now();
  auto found = limits_.find(topic);
  if (found != limits_.end() && !(fallback_since_ && now - *fallback_since_ > 1min)) return found->second;
  // Short: a healthy cluster answers in milliseconds, and this runs on a pipeline's thread.
  auto asked = kafka::message_limit(settings_, topic, 3s);
  if (asked) {
    limits_[topic] = *asked;
    fallback_since_.reset();
    spdlog::info("dead-letter topic {}: records up to {} bytes", topic, *asked);
    return *asked;
  }
  if (!fallback_since_) {
    spdlog::warn("dead-letter topic {}: cannot read its size limit ({}); assuming {} bytes", topic,
                 asked.error(), kFallbackMessageLimit);
  }
  fallback_since_ = now;
  limits_[topic] = kFallbackMessageLimit;
  return kFallbackMessageLimit;
}

Result<void> DeadLetterProducer::send(const std::string& dead_letter_topic, const DeadLetter& letter) {
  const int64_t limit = message_limit(dead_letter_topic);
  if (limit > producer_limit_ && producer_->outq_len() == 0) {
    // A larger topic than the producer was made for: a new producer (nothing is queued).
    producer_limit_ = limit;
    producer_.reset();
    create();
  }

  std::vector<std::pair<std::string, std::string>> fields{
      {dlq_header::kReason, std::string(letter.reason)},
      {dlq_header::kStage, std::string(stage_name(letter.stage))},
      {dlq_header::kTopic, std::string(letter.topic)},
      {dlq_header::kPartition, std::to_string(letter.partition)},
      {dlq_header::kOffset, std::to_string(letter.offset)},
      {dlq_header::kTimestamp, std::to_string(letter.timestamp_ms)},
      {dlq_header::kSize, std::to_string(size_of(letter.value))},
      {dlq_header::kId, dead_letter_id(letter)},
  };
  // What the broker and librdkafka will accept: the topic's limit and the producer's.
  const int64_t room = std::min(limit, producer_limit_) - kRecordOverheadBytes;
  auto value = letter.value;
  auto key = letter.key;
  const auto whole = static_cast<int64_t>(size_of(key) + size_of(value)) + header_bytes(fields);
  if (whole > room) {
    const std::string where = std::string(letter.topic) + " partition " + std::to_string(letter.partition) +
                              " offset " + std::to_string(letter.offset);
    fields.emplace_back(dlq_header::kOmitted,
                        "a record of " + std::to_string(whole) + " bytes does not fit " + dead_letter_topic +
                            " (" + std::to_string(limit) + " bytes); the original is at " + where);
    value.reset();
    if (static_cast<int64_t>(size_of(key)) + header_bytes(fields) > room) {
      fields.back().second += " (key omitted too)";
      key.reset();
    }
  }

  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  for (const auto& [name, text] : fields) headers->add(name, text);
  const auto* value_data = value ? value->data() : nullptr;
  const auto* key_data = key ? key->data() : nullptr;
  for (;;) {
    RdKafka::ErrorCode err = producer_->produce(
        dead_letter_topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value_data), size_of(value), key_data, size_of(key), 0, headers.get(), nullptr);
    if (err == RdKafka::ERR_NO_ERROR) {
      (void)headers.release();  // librdkafka owns the headers once produce() succeeded
      producer_->poll(0);
      return {};
    }
    if (err == RdKafka::ERR_MSG_SIZE_TOO_LARGE && value) {
      // Our estimate was short of librdkafka's count: below it, the next send is a reference.
      limits_[dead_letter_topic] = std::min(limit, whole - 1);
      return send(dead_letter_topic, letter);
    }
    if (err != RdKafka::ERR__QUEUE_FULL) {
      return std::unexpected(
          KafkaError::from(err, "dead letter to " + dead_letter_topic).to_error(Stage::DeadLetter));
    }
    producer_->poll(100);  // let deliveries drain the local queue, then try again
  }
}

Result<void> DeadLetterProducer::flush(std::chrono::milliseconds timeout) {
  RdKafka::ErrorCode err = producer_->flush(static_cast<int>(timeout.count()));
  for (const auto& [topic, bytes] : tracker_->too_large) {
    const auto known = limits_.find(topic);
    const int64_t lowered = std::min(known == limits_.end() ? producer_limit_ : known->second,
                                     bytes + kRecordOverheadBytes - 1);
    spdlog::warn("dead-letter topic {} refused a record of {} bytes as too large; larger ones go as references",
                 topic, bytes);
    limits_[topic] = lowered;
  }
  tracker_->too_large.clear();
  std::string fatal_reason;
  if (producer_->fatal_error(fatal_reason) != RdKafka::ERR_NO_ERROR) {
    // An idempotent producer that lost its guarantees must be replaced; the caller
    // sends its dead letters again to the new one.
    spdlog::warn("dead-letter producer: fatal error, recreating it: {}", fatal_reason);
    producer_.reset();
    tracker_->first_error.reset();
    create();
    return std::unexpected(
        KafkaError{RdKafka::ERR__FATAL, fatal_reason, ErrorAction::Retry}.to_error(Stage::DeadLetter));
  }
  if (auto& first_error = tracker_->first_error) {
    Error error = first_error->to_error(Stage::DeadLetter);
    first_error.reset();
    return std::unexpected(std::move(error));
  }
  if (err != RdKafka::ERR_NO_ERROR) {
    // A timeout here is not "nothing happened" (as it is for consume): records are
    // still unacknowledged, so the batch must wait.
    return std::unexpected(KafkaError{err,
                                      "dead-letter flush: " + std::to_string(producer_->outq_len()) +
                                          " records unacknowledged",
                                      ErrorAction::Retry}
                               .to_error(Stage::DeadLetter));
  }
  return {};
}

}  // namespace metersync::kafka
