// Decoded source values: what a Debezium field means, not how it travels.
//
// The decoder (src/debezium) turns each wire encoding (base64 unscaled decimals,
// epoch-day ints, micro/nano timestamps, ...) into one of these; the mapper and the
// dispatcher only ever see this form.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <variant>

namespace metersync {

struct Null {
  bool operator==(const Null&) const = default;
};

// An exact decimal of any size: sign, unscaled magnitude as decimal digits, scale.
// Canonical form: `digits` has no leading zeros ("0" for zero, which is never
// negative). Value = (negative ? -1 : 1) * digits * 10^-scale. Scale may be 0.
struct Decimal {
  bool negative = false;
  std::string digits = "0";
  int32_t scale = 0;

  // "-12.340", "0.001", "123": exactly `scale` fractional digits.
  std::string to_string() const;
  // The one decimal grammar (numbers kept as text, JSON numbers, a DECIMAL column's
  // text): an optional sign, digits with an optional point ("-12.340", "+7", "1.", ".5"),
  // an optional exponent ("1.5e-3", "-12E2"). Exact, scale >= 0 (a positive exponent
  // becomes trailing zeros); zero is never negative. The reason when malformed, or when
  // the exponent is beyond any column's range (|exponent| > 400).
  static std::expected<Decimal, std::string> parse(std::string_view text);
  bool operator==(const Decimal&) const = default;
};

// A calendar date, days since 1970-01-01 (negative before).
struct Date {
  int32_t days = 0;
  std::string to_iso() const;  // "2026-11-24"
  bool operator==(const Date&) const = default;
};

// An instant in UTC (or a zone-less wall time, which the sources define as UTC).
// `nanos` is always 0..999'999'999, so pre-1970 times have negative seconds.
struct Timestamp {
  int64_t seconds = 0;
  int32_t nanos = 0;
  // ISO 8601 with 'Z' and as many fractional digits as `digits` (0, 3, 6 or 9).
  std::string to_iso(int digits = 6) const;
  bool operator==(const Timestamp&) const = default;
  auto operator<=>(const Timestamp&) const = default;
};

// A time of day without a date, nanoseconds since midnight.
struct TimeOfDay {
  int64_t nanos = 0;
  std::string to_iso() const;  // "13:45:00.123456"
  bool operator==(const TimeOfDay&) const = default;
};

struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

// JSON text as the source holds it (PostgreSQL json/jsonb, io.debezium.data.Json).
struct Json {
  std::string text;
  bool operator==(const Json&) const = default;
};

// Debezium's placeholder for a value the source did not log (an unchanged TOASTed
// column without REPLICA IDENTITY FULL, Oracle LOBs). It must never be written as data.
struct Unavailable {
  bool operator==(const Unavailable&) const = default;
};

using Value = std::variant<Null, bool, int64_t, double, std::string, Decimal, Date,
                           Timestamp, TimeOfDay, Bytes, Json, Unavailable>;

inline bool is_null(const Value& v) { return std::holds_alternative<Null>(v); }

}  // namespace metersync
