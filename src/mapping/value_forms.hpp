// Text and time forms of decoded values that the mapping rules need: UTF-8 length,
// UUIDs, codes as text, ISO 8601 dates and timestamps, fixed UTC offsets.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "core/value.hpp"

namespace metersync::mapping {

// "string", "integer", "decimal", ... for messages.
std::string_view type_name(const Value& value);

// Code points in valid UTF-8; an error for malformed text.
std::expected<size_t, std::string> utf8_length(std::string_view text);

// Lower-case 8-4-4-4-12 form of a UUID given as text (with or without dashes) or as
// 16 bytes.
std::expected<std::string, std::string> canonical_uuid(const Value& value);

// How a code compares in `map` and `equals`: text as is, integers and decimals in plain
// decimal, booleans as true/false, dates in ISO form. nullopt for other types.
std::optional<std::string> code_text(const Value& value);

// "UTC", "Z", "+01:00", "-05:30" -> seconds east of UTC.
std::optional<int32_t> parse_utc_offset(std::string_view text);

// ISO 8601 "2026-11-24T19:43:00.123456+01:00" (space for T, offset optional; Z, +HH:MM,
// +HHMM or +HH). Without an offset, `default_offset` (seconds east of UTC) applies.
std::expected<Timestamp, std::string> parse_iso_timestamp(std::string_view text,
                                                          int32_t default_offset);
std::expected<Date, std::string> parse_iso_date(std::string_view text);

// Years 0001..9999, what SQL Server's DATE and DATETIME2 hold.
bool in_sql_range(const Date& date);
bool in_sql_range(const Timestamp& timestamp);

int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
int64_t floor_div(int64_t a, int64_t b);

}  // namespace metersync::mapping
