// Turns one change into the JSON object the endpoint receives (docs/endpoints.md,
// "What is sent"): decoded values, never Debezium's wire encodings.
//
//   Null → null, bool → true/false, integers → numbers, doubles → numbers (NaN and
//   infinities, which JSON cannot hold, → "NaN" / "Infinity" / "-Infinity"),
//   Decimal → exact string ("12.340"), Date → "2026-11-24", Timestamp → ISO 8601 UTC
//   with 6 fractional digits (9 when the source had nanoseconds), TimeOfDay →
//   "13:45:00.123456", Bytes → base64 string, Json → the JSON itself embedded
//   (a string when the source text is not valid JSON), Unavailable → {"unavailable":true}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/change_event.hpp"
#include "core/meter_row.hpp"
#include "core/value.hpp"

namespace metersync::dispatch {

// One change, ready to be placed in a batch.
struct EncodedEvent {
  std::string id;    // <source>:<position>:<key>
  std::string json;  // the event object
  int32_t partition = 0;
  int64_t offset = 0;  // the Kafka record it came from
  int64_t timestamp_ms = -1;  // that record's Kafka timestamp (-1: none); for the lag in seconds
};

// Where the change came from in Kafka; names the event when it has no meter key.
struct RecordRef {
  int32_t partition = 0;
  int64_t offset = 0;
};

// `change`: the event's Meter Master change (pipeline::RecordProcessor; a change the
// mapper refuses never gets here, it is dead-lettered as on the Meter Master side).
// A truncate has "meter": null (it concerns every meter of the source).
EncodedEvent encode_event(const std::string& source, const ChangeEvent& event,
                          const MeterChange& change, RecordRef ref);

// The event id: "<source>:<position>:<source meter id>"; when there is no meter id
// (truncate) "<source>:<position>:@<partition>.<offset>".
// Identical on every retry and after a restart, since both parts come from the record.
std::string event_id(const std::string& source, const Position& position,
                     const std::optional<std::string>& meter_id, RecordRef ref);

// Value and row encodings, also used by the tests.
// `text` as a JSON string literal, quotes and escapes included.
std::string json_string(std::string_view text);
std::string value_json(const Value& value);
std::string row_json(const Row& row);
std::string meter_json(const MeterChange& change);

}  // namespace metersync::dispatch
