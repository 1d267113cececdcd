// Sends records that could not be written to a dead-letter topic, as they arrived
// (original key and value), with headers naming the error and where the record came from.
//
// Idempotent producer (no duplicates from internal retries, order kept). The caller
// flushes, i.e. waits for every record to be acknowledged by the brokers, before the
// sink commits a batch that skips them: a dead letter is never lost, but after a crash
// between flush and commit it may be sent twice.
//
// Thread: one producer per pipeline thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
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
}  // namespace dlq_header

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
};

class DeadLetterProducer {
 public:
  explicit DeadLetterProducer(ClientSettings settings);
  ~DeadLetterProducer();
  DeadLetterProducer(const DeadLetterProducer&) = delete;
  DeadLetterProducer& operator=(const DeadLetterProducer&) = delete;

  // Queues one record (copied). Fails only when the local queue refuses it.
  // Errors are of stage DeadLetter.
  Result<void> send(const std::string& dead_letter_topic, const DeadLetter& letter);

  // Waits until every queued record is acknowledged. An error means at least one may
  // not have been written: send them again before committing past them.
  Result<void> flush(std::chrono::milliseconds timeout);

 private:
  class DeliveryTracker;
  void create();

  ClientSettings settings_;
  std::unique_ptr<DeliveryTracker> tracker_;  // must outlive producer_
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace metersync::kafka
