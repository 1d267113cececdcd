#include "kafka/dead_letter_producer.hpp"

#include <spdlog/spdlog.h>

namespace metersync::kafka {

// Counts acknowledgements; runs inside flush()/poll() on the owning thread.
class DeadLetterProducer::DeliveryTracker : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR && !first_error) {
      first_error = KafkaError::from(message.err(), "dead letter to " + message.topic_name() + ": " +
                                                        message.errstr());
    }
  }
  std::optional<KafkaError> first_error;
};

DeadLetterProducer::DeadLetterProducer(ClientSettings settings)
    : settings_(std::move(settings)), tracker_(std::make_unique<DeliveryTracker>()) {
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
  if (conf->set("dr_cb", tracker_.get(), error) != RdKafka::Conf::CONF_OK) {
    throw ClientConfigError("kafka producer delivery callback: " + error);
  }
  producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (!producer_) throw ClientConfigError("kafka dead-letter producer: " + error);
}

Result<void> DeadLetterProducer::send(const std::string& dead_letter_topic, const DeadLetter& letter) {
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  headers->add(dlq_header::kReason, std::string(letter.reason));
  headers->add(dlq_header::kStage, std::string(stage_name(letter.stage)));
  headers->add(dlq_header::kTopic, std::string(letter.topic));
  headers->add(dlq_header::kPartition, std::to_string(letter.partition));
  headers->add(dlq_header::kOffset, std::to_string(letter.offset));
  headers->add(dlq_header::kTimestamp, std::to_string(letter.timestamp_ms));

  const auto* value = letter.value ? letter.value->data() : nullptr;
  const std::size_t value_len = letter.value ? letter.value->size() : 0;
  const auto* key = letter.key ? letter.key->data() : nullptr;
  const std::size_t key_len = letter.key ? letter.key->size() : 0;
  for (;;) {
    RdKafka::ErrorCode err = producer_->produce(
        dead_letter_topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value), value_len, key, key_len, 0, headers.get(), nullptr);
    if (err == RdKafka::ERR_NO_ERROR) {
      (void)headers.release();  // librdkafka owns the headers once produce() succeeded
      producer_->poll(0);
      return {};
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
