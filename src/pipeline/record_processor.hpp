// One source's record processor: what a Kafka record of the source's topic becomes, the
// same for every destination (the Meter Master pipeline in src/app and the endpoint
// dispatcher in src/dispatch), so one change never has two fates.
//
//   null value (tombstone)            → Tombstone: skipped by both, covered by progress
//   not decodable                     → Rejected at stage decode: dead-lettered by both
//   an event of another table than
//   the topic's (Debezium's default
//   topic naming <source>.<...>.<table>) → Rejected at stage map: dead-lettered by both
//   refused by the mapping rules      → Rejected at stage map: dead-lettered by both
//   otherwise                         → Processed: the event and its Meter Master change
//
// Thread: one processor per consumer thread (the decoder reuses its parser's buffers).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"
#include "core/change_event.hpp"
#include "core/error.hpp"
#include "core/meter_row.hpp"
#include "debezium/envelope_decoder.hpp"
#include "mapping/source_mapper.hpp"

namespace metersync::pipeline {

// A null Kafka value: nothing to apply or send; the record is covered by the progress.
struct Tombstone {};

// A record no destination can use: it goes to the destination's dead-letter topic.
struct Rejected {
  Stage stage;  // Decode or Map
  std::string reason;
};

// A change every destination takes: the endpoint sends the event (before/after), the
// sink writes the change.
struct Processed {
  ChangeEvent event;
  MeterChange change;
};

using Outcome = std::variant<Processed, Tombstone, Rejected>;

class RecordProcessor {
 public:
  // Compiles the source's decoder and mapper; throws ConfigError naming the key.
  explicit RecordProcessor(const config::SourceConfig& source);

  // `value`: the Kafka record's value, nullopt for a tombstone.
  Outcome process(std::optional<std::string_view> value);

  // See debezium::EnvelopeDecoder::schema_prefix (a held record keeps only what follows it).
  std::shared_ptr<const std::string> schema_prefix() const { return decoder_.schema_prefix(); }

 private:
  debezium::EnvelopeDecoder decoder_;
  mapping::SourceMapper mapper_;
  std::optional<std::string> expected_table_;
};

// The connector named by sources.<name>.connector; throws ConfigError naming the key.
Connector connector_of(const config::SourceConfig& source);

// The table every event on the source's topic belongs to, when the topic follows
// Debezium's default naming (`<source>.<schema...>.<table>`); nullopt for a renamed topic,
// of which nothing is assumed.
std::optional<std::string> expected_table(const config::SourceConfig& source);

}  // namespace metersync::pipeline
