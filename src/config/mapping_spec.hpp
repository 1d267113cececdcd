// The mapping rules of one source, as plain data: for each Meter Master column, the
// ordered steps that turn a source row into that column's value.
//
// config parses them from `sources.<name>.mapping` (shape, names, argument types);
// mapping::SourceMapper compiles them against the target columns below (what a step
// can take, constants, zones) and runs them. docs/configuration.md describes the
// language for users; this header is its data model.
//
//   SerialNumber: { from: SerialNo, trim: trailing }
//   MeterType:    { from: MeterTypeCode, map: { E: electric, W: water, G: gas } }
//   Latitude:     { from: location, json_path: lat, round: 6 }
//   Status:
//     cases:
//       - { column: removed_at, is: not_null, value: removed }
//       - { column: active, is: true, value: active }
//       - { value: inactive }
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace metersync::config {

// ---- The Meter Master columns a mapping fills (declared once, here) ----

enum class TargetType { Text, Decimal, Date, Timestamp };

struct TargetColumn {
  std::string_view name;      // "SerialNumber"
  std::string_view sql_type;  // "NVARCHAR(64)", as in the SQL Server table
  TargetType type;
  bool nullable;
  int length = 0;                            // Text: the column's limit
  bool counts_bytes = false;                 // Text: VARCHAR counts bytes, NVARCHAR characters
  int precision = 0;                         // Decimal
  int scale = 0;                             // Decimal; Timestamp: fractional digits kept (6)
  std::span<const std::string_view> domain;  // Text: the only values allowed, if any
  std::string_view help;
};

// The eleven columns a source's mapping fills, in table order. SourceSystem,
// IsDeleted, SourceCommittedAt, SourcePosition and SyncedAt are set by metersync.
std::span<const TargetColumn> target_columns();
const TargetColumn* find_target_column(std::string_view name);

// ---- The rule language ----

// Starts a rule: the value of a source column.
struct FromColumn {
  std::string column;
};
// Starts a rule: a constant (nullopt is SQL NULL), converted to the target type.
struct Constant {
  std::optional<std::string> text;
};
// Starts a rule: the value of the first case whose test holds.
struct Case {
  enum class Test { Always, IsNull, IsNotNull, IsTrue, IsFalse, Equals };
  Test test = Test::Always;
  std::string column;                // empty for Always
  std::string equals;                // Equals: compared with the column's text form
  std::optional<std::string> value;  // the result; nullopt is SQL NULL
};
struct Cases {
  std::vector<Case> cases;
};

// Transforms, applied in the order written.
struct JsonPath {  // a field of a JSON value, "a.b.c"; absent or JSON null -> NULL
  std::vector<std::string> path;
};
struct Trim {
  enum class Side { Leading, Trailing, Both };
  Side side = Side::Trailing;
};
struct ValueMap {  // exact code -> value; a code not listed is a mapping error
  std::vector<std::pair<std::string, std::optional<std::string>>> entries;
};
struct DatePart {};  // timestamp -> its calendar date (UTC)
struct Round {       // half away from zero to `places` fractional digits
  int places = 0;
};
struct Truncate {
  enum class Unit { Seconds, Milliseconds, Microseconds };
  Unit unit = Unit::Microseconds;
};
struct TimeZone {  // zone of wall times without their own: "UTC", "+01:00", "-05:30"
  std::string zone;
};
struct Text {  // a canonical text form
  enum class Form { Decimal, Uuid };
  Form form = Form::Decimal;
};

using Step = std::variant<FromColumn, Constant, Cases, JsonPath, Trim, ValueMap, DatePart, Round,
                          Truncate, TimeZone, Text>;

struct ColumnRule {
  std::string column;       // Meter Master column name
  std::string key_path;     // "sources.postgres.mapping.Latitude", for error messages
  std::vector<Step> steps;  // steps[0] is FromColumn, Constant or Cases
};

struct MappingSpec {
  std::vector<ColumnRule> columns;  // in file order; a column at most once
  const ColumnRule* find(std::string_view column) const {
    for (const auto& rule : columns)
      if (rule.column == column) return &rule;
    return nullptr;
  }
};

// The YAML key of a step ("from", "json_path", ...), for messages and docs.
std::string_view step_key(const Step& step);

}  // namespace metersync::config
