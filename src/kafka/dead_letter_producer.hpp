// Sends records that could not be written to a dead-letter topic, as they arrived
// (original key and value), with headers naming the error and where the record came from.
//
// Idempotent producer (no duplicates from internal retries, order kept). The caller
// flushes, i.e. waits for every record to be acknowledged by the brokers, before the
// sink commits a batch that skips them: a dead letter is never lost, but after a crash
// between flush and commit it may be sent twice, with the same identity (header
// metersync.dead_letter.id), so a consumer that de-duplicates on it sees it once.
//
// Sized from the dead-letter topic: its max.message.bytes (or the broker's
// message.max.bytes before the topic exists), asked once per topic. A record that would
// not fit whole is dead-lettered as a reference: the headers, no value (and no key if even
// that is too large), and `metersync.value.omitted` saying why and where the original is.
// A dead letter must never stop the pipeline that could not write the record.
//
// Thread: one producer per pipeline thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <librdkafka/rdkafkacpp.h>

#include "kafka/client_config.hpp"
#include "kafka/error_classifier.hpp"

namespace metersync::kafka {

// Where processing failed (core/error.hpp): Decode, Map, Sink or Endpoint on a dead letter.
// The header value is stage_name().
using metersync::Stage;
using metersync::stage_name;

// Header names on every dead letter.
namespace dlq_header {
inline constexpr const char* kReason = "metersync.error.reason";
inline constexpr const char* kStage = "metersync.error.stage";
inline constexpr const char* kTopic = "metersync.original.topic";
inline constexpr const char* kPartition = "metersync.original.partition";  // decimal text
inline constexpr const char* kOffset = "metersync.original.offset";        // decimal text
inline constexpr const char* kTimestamp = "metersync.original.timestamp";  // ms since epoch, text
inline constexpr const char* kSize = "metersync.original.size";  // bytes of the value, text
// The dead letter's identity: "<topic>/<partition>/<offset>" of the record, or for an endpoint
// batch "<topic>/<partition>/<first offset>-<last offset>". A crash between a dead letter's
// flush and the commit past it sends it again with the same identity (and key, value and
// the other headers): consumers of a dead-letter topic, `metersync replay` among them,
// de-duplicate on it.
inline constexpr const char* kId = "metersync.dead_letter.id";
// Only on a reference: why the value (and perhaps the key) is not in the dead letter.
inline constexpr const char* kOmitted = "metersync.value.omitted";
}  // namespace dlq_header

// Bytes a record batch of one record takes beyond its key, value and headers (batch header
// 61, record framing and varints), rounded up: a dead letter whose key, value and headers
// add up to more than the topic's limit minus this is sent as a reference.
inline constexpr int64_t kRecordOverheadBytes = 512;
// What the producer assumes when the cluster cannot say (librdkafka's default
// message.max.bytes, below Kafka's default topic limit of 1,048,588).
inline constexpr int64_t kFallbackMessageLimit = 1000000;

// Views into the original record: valid for the duration of send() only.
struct DeadLetter {
  Stage stage;
  std::string_view reason;
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  int64_t last_offset = -1;  // an endpoint batch's last offset (`offset` is its first); -1: one record
};

// The value of dlq_header::kId for `letter`.
std::string dead_letter_id(const DeadLetter& letter);

class DeadLetterProducer {
 public:
  explicit DeadLetterProducer(ClientSettings settings);
  // `message_limit` known beforehand (tests): no DescribeConfigs request.
  DeadLetterProducer(ClientSettings settings, int64_t message_limit);
  ~DeadLetterProducer();
  DeadLetterProducer(const DeadLetterProducer&) = delete;
  DeadLetterProducer& operator=(const DeadLetterProducer&) = delete;

  // Queues one record (copied), or its reference when it is too large for the topic.
  // Fails only when the local queue refuses it. Errors are of stage DeadLetter.
  Result<void> send(const std::string& dead_letter_topic, const DeadLetter& letter);

  // Waits until every queued record is acknowledged. An error means at least one may
  // not have been written: send them again before committing past them. A record the
  // broker refused as too large lowers that topic's limit below it and is a transient
  // error: sent again, it goes as a reference.
  Result<void> flush(std::chrono::milliseconds timeout);

  // The limit in use for `topic` (asked of the cluster on first use).
  int64_t message_limit(const std::string& topic);

 private:
  class DeliveryTracker;
  void create();

  ClientSettings settings_;
  std::optional<int64_t> fixed_limit_;
  std::map<std::string, int64_t> limits_;  // per dead-letter topic
  std::optional<std::chrono::steady_clock::time_point> fallback_since_;  // asked again after a minute
  int64_t producer_limit_ = 0;  // message.max.bytes of producer_
  std::unique_ptr<DeliveryTracker> tracker_;  // must outlive producer_
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace metersync::kafka
