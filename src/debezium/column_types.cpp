#include "debezium/column_types.hpp"

#include <array>
#include <charconv>
#include <optional>
#include <utility>

namespace metersync::debezium {
namespace {

struct NamedType {
  std::string_view name;
  LogicalType type;
};

// Logical names from Kafka Connect (org.apache.kafka.connect.data.*) and Debezium
// (io.debezium.data.*, io.debezium.time.*), as documented in Debezium's connector
// reference ("Data type mappings") and defined in debezium-connector-common.
constexpr std::array kLogicalNames{
    NamedType{"org.apache.kafka.connect.data.Decimal", LogicalType::Decimal},
    NamedType{"io.debezium.data.VariableScaleDecimal", LogicalType::VariableScaleDecimal},
    NamedType{"org.apache.kafka.connect.data.Date", LogicalType::Date},
    NamedType{"io.debezium.time.Date", LogicalType::Date},
    NamedType{"org.apache.kafka.connect.data.Time", LogicalType::TimeMillis},
    NamedType{"io.debezium.time.Time", LogicalType::TimeMillis},
    NamedType{"io.debezium.time.MicroTime", LogicalType::TimeMicros},
    NamedType{"io.debezium.time.NanoTime", LogicalType::TimeNanos},
    NamedType{"org.apache.kafka.connect.data.Timestamp", LogicalType::TimestampMillis},
    NamedType{"io.debezium.time.Timestamp", LogicalType::TimestampMillis},
    NamedType{"io.debezium.time.MicroTimestamp", LogicalType::TimestampMicros},
    NamedType{"io.debezium.time.NanoTimestamp", LogicalType::TimestampNanos},
    NamedType{"io.debezium.time.ZonedTimestamp", LogicalType::ZonedTimestamp},
    NamedType{"io.debezium.time.ZonedTime", LogicalType::ZonedTime},
    NamedType{"io.debezium.time.Year", LogicalType::Int},
    NamedType{"io.debezium.time.MicroDuration", LogicalType::Int},
    NamedType{"io.debezium.data.Uuid", LogicalType::String},
    NamedType{"io.debezium.data.Enum", LogicalType::String},
    NamedType{"io.debezium.data.EnumSet", LogicalType::String},
    NamedType{"io.debezium.data.Xml", LogicalType::String},
    NamedType{"io.debezium.data.Json", LogicalType::Json},
    NamedType{"io.debezium.data.Bits", LogicalType::Bytes},
};

// Kafka's JsonConverter spells FLOAT32/FLOAT64 "float"/"double" in schemas; Connect's own
// names are accepted too, for declared columns.
constexpr std::array kConnectTypes{
    NamedType{"float", LogicalType::Float},      NamedType{"double", LogicalType::Float},
    NamedType{"int8", LogicalType::Int},         NamedType{"int16", LogicalType::Int},
    NamedType{"int32", LogicalType::Int},        NamedType{"int64", LogicalType::Int},
    NamedType{"float32", LogicalType::Float},    NamedType{"float64", LogicalType::Float},
    NamedType{"string", LogicalType::String},    NamedType{"boolean", LogicalType::Boolean},
    NamedType{"bytes", LogicalType::Bytes},      NamedType{"struct", LogicalType::Structured},
    NamedType{"array", LogicalType::Structured}, NamedType{"map", LogicalType::Structured},
};

const NamedType* find_logical(std::string_view name) {
  for (const auto& entry : kLogicalNames) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const NamedType* find_connect(std::string_view name) {
  for (const auto& entry : kConnectTypes) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// "MicroTimestamp" matches "io.debezium.time.MicroTimestamp". The first entry wins, and
// entries sharing a last segment ("Date", "Time", "Timestamp") share their type too.
const NamedType* find_short(std::string_view name) {
  for (const auto& entry : kLogicalNames) {
    const size_t dot = entry.name.rfind('.');
    if (entry.name.substr(dot + 1) == name) return &entry;
  }
  return nullptr;
}

}  // namespace

ColumnType column_type_for_schema(std::string_view connect_type, std::string_view logical_name,
                                  int32_t scale) {
  if (!logical_name.empty()) {
    if (const NamedType* logical = find_logical(logical_name)) {
      return ColumnType{logical->type, logical->type == LogicalType::Decimal ? scale : 0};
    }
  }
  if (const NamedType* carrier = find_connect(connect_type)) return ColumnType{carrier->type, 0};
  return ColumnType{LogicalType::Structured, 0};
}

std::expected<ColumnType, std::string> parse_column_type(std::string_view text) {
  std::string_view name = text;
  std::optional<int32_t> scale;
  if (const size_t open = text.find('('); open != std::string_view::npos) {
    if (text.back() != ')') {
      return std::unexpected("type '" + std::string(text) + "': expected a closing ')'");
    }
    name = text.substr(0, open);
    const std::string_view digits = text.substr(open + 1, text.size() - open - 2);
    int32_t parsed = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
      return std::unexpected("type '" + std::string(text) +
                             "': the scale in parentheses must be an integer");
    }
    scale = parsed;
  }
  const NamedType* entry = find_logical(name);
  if (entry == nullptr) entry = find_connect(name);
  if (entry == nullptr) entry = find_short(name);
  if (entry == nullptr || entry->type == LogicalType::Structured) {
    return std::unexpected(
        "type '" + std::string(text) +
        "' is unknown: use a Connect type (int8, int16, int32, int64, float32, float64, string, "
        "boolean, bytes) or a logical name such as Decimal(<scale>), VariableScaleDecimal, Date, "
        "Time, MicroTime, NanoTime, Timestamp, MicroTimestamp, NanoTimestamp, ZonedTimestamp, "
        "ZonedTime, Uuid, Json, Enum, Bits");
  }
  if (entry->type == LogicalType::Decimal) {
    if (!scale) {
      return std::unexpected("type '" + std::string(text) +
                             "': a Decimal needs its scale, e.g. Decimal(4)");
    }
    return ColumnType{LogicalType::Decimal, *scale};
  }
  if (scale) {
    return std::unexpected("type '" + std::string(text) + "': only Decimal takes a scale");
  }
  return ColumnType{entry->type, 0};
}

}  // namespace metersync::debezium
