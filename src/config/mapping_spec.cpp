#include "config/mapping_spec.hpp"

#include <array>

namespace metersync::config {
namespace {

constexpr std::array<std::string_view, 3> kMeterTypes{"electric", "water", "gas"};
constexpr std::array<std::string_view, 3> kStatuses{"active", "inactive", "removed"};

// The SQL Server table of docs/meter-master spec is authoritative for lengths,
// precisions and nullability.
constexpr std::array<TargetColumn, 11> kColumns{{
    {"SourceMeterId",
     "NVARCHAR(64)",
     TargetType::Text,
     false,
     64,
     false,
     0,
     0,
     {},
     "the source primary key as text"},
    {"SerialNumber",
     "NVARCHAR(64)",
     TargetType::Text,
     false,
     64,
     false,
     0,
     0,
     {},
     "the meter's serial number"},
    {"MeterType", "VARCHAR(16)", TargetType::Text, false, 16, true, 0, 0, kMeterTypes,
     "electric, water or gas"},
    {"Manufacturer", "NVARCHAR(100)", TargetType::Text, true, 100, false, 0, 0, {}, "the maker"},
    {"Status", "VARCHAR(16)", TargetType::Text, false, 16, true, 0, 0, kStatuses,
     "active, inactive or removed"},
    {"InstallDate", "DATE", TargetType::Date, true, 0, false, 0, 0, {}, "installation date"},
    {"Multiplier",
     "DECIMAL(9,4)",
     TargetType::Decimal,
     false,
     0,
     false,
     9,
     4,
     {},
     "register multiplier"},
    {"LastReadingValue",
     "DECIMAL(18,3)",
     TargetType::Decimal,
     true,
     0,
     false,
     18,
     3,
     {},
     "latest reading"},
    {"LastReadingAt",
     "DATETIME2(6)",
     TargetType::Timestamp,
     true,
     0,
     false,
     0,
     6,
     {},
     "time of the latest reading, UTC"},
    {"Latitude", "DECIMAL(9,6)", TargetType::Decimal, true, 0, false, 9, 6, {}, "WGS 84 latitude"},
    {"Longitude",
     "DECIMAL(9,6)",
     TargetType::Decimal,
     true,
     0,
     false,
     9,
     6,
     {},
     "WGS 84 longitude"},
}};

struct StepKey {
  std::string_view operator()(const FromColumn&) const { return "from"; }
  std::string_view operator()(const Constant&) const { return "value"; }
  std::string_view operator()(const Cases&) const { return "cases"; }
  std::string_view operator()(const JsonPath&) const { return "json_path"; }
  std::string_view operator()(const Trim&) const { return "trim"; }
  std::string_view operator()(const ValueMap&) const { return "map"; }
  std::string_view operator()(const DatePart&) const { return "date_part"; }
  std::string_view operator()(const Round&) const { return "round"; }
  std::string_view operator()(const Truncate&) const { return "truncate"; }
  std::string_view operator()(const TimeZone&) const { return "time_zone"; }
  std::string_view operator()(const Text&) const { return "text"; }
};

}  // namespace

std::span<const TargetColumn> target_columns() { return kColumns; }

const TargetColumn* find_target_column(std::string_view name) {
  for (const auto& column : kColumns)
    if (column.name == name) return &column;
  return nullptr;
}

std::string_view step_key(const Step& step) { return std::visit(StepKey{}, step); }

}  // namespace metersync::config
