// What a column's JSON value means: the Kafka Connect / Debezium logical type that
// decides how the decoder reads it. Messages with schemas carry it per field; topics
// written without schemas (value.converter.schemas.enable=false) need it declared.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace metersync::debezium {

enum class LogicalType : uint8_t {
  Int,                   // int8/16/32/64 (also io.debezium.time.Year, MicroDuration) -> int64_t
  Float,                 // float32/64 -> double; "NaN"/"Infinity"/"-Infinity" strings accepted
  String,                // string, io.debezium.data.Uuid / Enum / EnumSet / Xml -> std::string
  Boolean,               // boolean -> bool
  Bytes,                 // bytes, io.debezium.data.Bits: base64 -> Bytes
  Decimal,               // org.apache.kafka.connect.data.Decimal: base64 unscaled + fixed scale
  VariableScaleDecimal,  // io.debezium.data.VariableScaleDecimal: {"scale":int,"value":base64}
  Date,                  // org.apache.kafka.connect.data.Date, io.debezium.time.Date: epoch days
  TimeMillis,            // org.apache.kafka.connect.data.Time, io.debezium.time.Time
  TimeMicros,            // io.debezium.time.MicroTime
  TimeNanos,             // io.debezium.time.NanoTime
  TimestampMillis,       // org.apache.kafka.connect.data.Timestamp, io.debezium.time.Timestamp
  TimestampMicros,       // io.debezium.time.MicroTimestamp
  TimestampNanos,        // io.debezium.time.NanoTimestamp
  ZonedTimestamp,        // io.debezium.time.ZonedTimestamp: ISO text with offset -> UTC instant
  ZonedTime,             // io.debezium.time.ZonedTime: ISO time with offset -> UTC time of day
  Json,                  // io.debezium.data.Json -> Json
  Structured,            // any other struct / array / map: kept as its JSON text (Json)
};

struct ColumnType {
  LogicalType type = LogicalType::String;
  int32_t scale = 0;  // Decimal only
  bool operator==(const ColumnType&) const = default;
};

// Column name -> type, for topics without schemas. Columns not declared are read by
// their JSON type (string, integer, float, boolean; objects/arrays as Json), which is
// exact for plain columns but cannot tell a base64 decimal or an epoch-day int apart
// from a string or an integer: declare every such column.
using DeclaredColumns = std::map<std::string, ColumnType, std::less<>>;

// The type a schema field declares: Connect type ("int64", "bytes", "struct", ...),
// the optional logical name, and the Decimal `scale` parameter. Unknown logical names
// fall back to the Connect type, so a new Debezium logical type arrives as its carrier.
ColumnType column_type_for_schema(std::string_view connect_type, std::string_view logical_name,
                                  int32_t scale);

// Parses a declared type as written in configuration: a Connect type ("int64",
// "string", ...), a logical name in full ("io.debezium.time.MicroTimestamp") or as its
// last segment ("MicroTimestamp"), and for decimals the scale in parentheses:
// "Decimal(4)" / "org.apache.kafka.connect.data.Decimal(4)". The error names what is
// accepted.
std::expected<ColumnType, std::string> parse_column_type(std::string_view text);

}  // namespace metersync::debezium
