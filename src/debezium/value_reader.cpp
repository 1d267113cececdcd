#include "debezium/value_reader.hpp"

#include <cstdint>
#include <limits>
#include <optional>

#include "debezium/wire_values.hpp"

namespace metersync::debezium {
namespace {

using simdjson::ondemand::json_type;

// Debezium's default `unavailable.value.placeholder`, and the forms it takes per
// carrier type (UnchangedToastedPlaceholder, OracleValueConverters): the text itself for
// strings, its UTF-8 bytes for bytes/decimals (base64 on the wire), a one-element list
// for arrays and a map onto itself for HSTORE maps / their JSON text.
constexpr std::string_view kUnavailable = "__debezium_unavailable_value";
constexpr std::string_view kUnavailableBase64 = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";
constexpr std::string_view kUnavailableList = R"(["__debezium_unavailable_value"])";
constexpr std::string_view kUnavailableMap =
    R"({"__debezium_unavailable_value":"__debezium_unavailable_value"})";

std::string_view type_name(json_type type) {
  switch (type) {
    case json_type::array:
      return "an array";
    case json_type::object:
      return "an object";
    case json_type::number:
      return "a number";
    case json_type::string:
      return "a string";
    case json_type::boolean:
      return "a boolean";
    case json_type::null:
      return "null";
  }
  return "an unknown JSON value";
}

std::unexpected<std::string> wrong_type(std::string_view expected, json_type got) {
  std::string reason = "expected ";
  reason += expected;
  reason += ", got ";
  reason += type_name(got);
  return std::unexpected(std::move(reason));
}

std::unexpected<std::string> json_failure(simdjson::error_code error) {
  return std::unexpected(std::string("invalid JSON: ") + simdjson::error_message(error));
}

std::string quoted(std::string_view text) {
  constexpr size_t kMaxShown = 64;  // a reason names the value without copying a huge one
  std::string out = "'";
  out.append(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

// An integer field; INCORRECT_TYPE covers fractions, NUMBER_OUT_OF_RANGE huge values.
std::expected<int64_t, std::string> read_integer(simdjson::ondemand::value& value, json_type type,
                                                 std::string_view what) {
  if (type != json_type::number) return wrong_type(what, type);
  int64_t number = 0;
  if (auto error = value.get_int64().get(number)) {
    std::string_view raw = value.raw_json_token();
    while (!raw.empty() &&
           (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t' ||
            raw.back() == ',' || raw.back() == '}' || raw.back() == ']')) {
      raw.remove_suffix(1);
    }
    std::string reason = "expected ";
    reason += what;
    reason += ", got ";
    reason += quoted(raw);
    // An integer literal that still failed is too big (simdjson reports it as
    // NUMBER_OUT_OF_RANGE or, beyond uint64, INCORRECT_TYPE).
    const std::string_view digits = !raw.empty() && raw.front() == '-' ? raw.substr(1) : raw;
    const bool integer_literal =
        !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
    if (error == simdjson::NUMBER_OUT_OF_RANGE || integer_literal)
      reason += " (out of the 64-bit range)";
    return std::unexpected(std::move(reason));
  }
  return number;
}

std::expected<std::string_view, std::string> read_text(simdjson::ondemand::value& value,
                                                       json_type type, std::string_view what) {
  if (type != json_type::string) return wrong_type(what, type);
  std::string_view text;
  if (auto error = value.get_string().get(text)) return json_failure(error);
  return text;
}

std::expected<Value, std::string> raw_json(simdjson::ondemand::value& value, json_type type) {
  std::string_view text;
  simdjson::error_code error = simdjson::SUCCESS;
  if (type == json_type::object) {
    simdjson::ondemand::object object;
    error = value.get_object().get(object);
    if (!error) error = object.raw_json().get(text);
  } else if (type == json_type::array) {
    simdjson::ondemand::array array;
    error = value.get_array().get(array);
    if (!error) error = array.raw_json().get(text);
  } else {
    text = value.raw_json_token();
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                             text.back() == '\t')) {
      text.remove_suffix(1);
    }
  }
  if (error) return json_failure(error);
  if (text == kUnavailableList || text == kUnavailableMap) return Unavailable{};
  return Json{std::string(text)};
}

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerMicro = 1'000;

std::expected<Value, std::string> time_of_day(int64_t count, int64_t nanos_per_unit) {
  int64_t nanos = 0;
  if (__builtin_mul_overflow(count, nanos_per_unit, &nanos)) {
    return std::unexpected("time " + std::to_string(count) + " is out of range");
  }
  return TimeOfDay{nanos};
}

}  // namespace

std::expected<Value, std::string> ValueReader::read(simdjson::ondemand::value& value,
                                                    ColumnType column) {
  json_type type;
  if (auto error = value.type().get(type)) return json_failure(error);
  if (type == json_type::null) {
    bool null = false;
    if (auto error = value.is_null().get(null)) return json_failure(error);
    return Null{};
  }

  switch (column.type) {
    case LogicalType::Int: {
      auto number = read_integer(value, type, "an integer");
      if (!number) return std::unexpected(std::move(number.error()));
      return *number;
    }
    case LogicalType::Float: {
      if (type == json_type::string) {
        // Jackson quotes non-finite doubles (QUOTE_NON_NUMERIC_NUMBERS).
        auto text = read_text(value, type, "a number");
        if (!text) return std::unexpected(std::move(text.error()));
        if (*text == "NaN") return std::numeric_limits<double>::quiet_NaN();
        if (*text == "Infinity") return std::numeric_limits<double>::infinity();
        if (*text == "-Infinity") return -std::numeric_limits<double>::infinity();
        return std::unexpected("expected a number, got the string " + quoted(*text));
      }
      if (type != json_type::number) return wrong_type("a number", type);
      double number = 0;
      if (auto error = value.get_double().get(number)) return json_failure(error);
      return number;
    }
    case LogicalType::String: {
      auto text = read_text(value, type, "a string");
      if (!text) return std::unexpected(std::move(text.error()));
      if (*text == kUnavailable) return Unavailable{};
      return std::string(*text);
    }
    case LogicalType::Boolean: {
      if (type != json_type::boolean) return wrong_type("a boolean", type);
      bool flag = false;
      if (auto error = value.get_bool().get(flag)) return json_failure(error);
      return flag;
    }
    case LogicalType::Bytes: {
      auto text = read_text(value, type, "base64 bytes");
      if (!text) return std::unexpected(std::move(text.error()));
      if (*text == kUnavailableBase64) return Unavailable{};
      if (!wire::base64_decode(*text, bytes_)) {
        return std::unexpected("bytes " + quoted(*text) + " are not valid base64");
      }
      return Bytes{bytes_};
    }
    case LogicalType::Decimal: {
      auto text = read_text(value, type, "base64 Decimal bytes");
      if (!text) return std::unexpected(std::move(text.error()));
      if (*text == kUnavailableBase64) return Unavailable{};
      return read_decimal(*text, column.scale);
    }
    case LogicalType::VariableScaleDecimal:
      if (type != json_type::object)
        return wrong_type("a VariableScaleDecimal {scale, value}", type);
      return read_variable_scale_decimal(value);
    case LogicalType::Date: {
      auto days = read_integer(value, type, "epoch days (int32)");
      if (!days) return std::unexpected(std::move(days.error()));
      if (*days < INT32_MIN || *days > INT32_MAX) {
        return std::unexpected("epoch days " + std::to_string(*days) + " exceed int32");
      }
      return Date{static_cast<int32_t>(*days)};
    }
    case LogicalType::TimeMillis:
    case LogicalType::TimeMicros:
    case LogicalType::TimeNanos: {
      auto count = read_integer(value, type, "a time of day (integer)");
      if (!count) return std::unexpected(std::move(count.error()));
      const int64_t unit = column.type == LogicalType::TimeMillis   ? kNanosPerMilli
                           : column.type == LogicalType::TimeMicros ? kNanosPerMicro
                                                                    : 1;
      return time_of_day(*count, unit);
    }
    case LogicalType::TimestampMillis:
    case LogicalType::TimestampMicros:
    case LogicalType::TimestampNanos: {
      auto count = read_integer(value, type, "an epoch timestamp (integer)");
      if (!count) return std::unexpected(std::move(count.error()));
      const int64_t per_second = column.type == LogicalType::TimestampMillis   ? 1'000
                                 : column.type == LogicalType::TimestampMicros ? 1'000'000
                                                                               : 1'000'000'000;
      return wire::timestamp_from_units(*count, per_second);
    }
    case LogicalType::ZonedTimestamp: {
      auto text = read_text(value, type, "an ISO-8601 timestamp string");
      if (!text) return std::unexpected(std::move(text.error()));
      if (*text == kUnavailable) return Unavailable{};
      std::optional<Timestamp> instant = wire::parse_zoned_timestamp(*text);
      if (!instant) {
        return std::unexpected("ZonedTimestamp " + quoted(*text) +
                               " is not an ISO-8601 date-time with an offset");
      }
      return *instant;
    }
    case LogicalType::ZonedTime: {
      auto text = read_text(value, type, "an ISO-8601 time string");
      if (!text) return std::unexpected(std::move(text.error()));
      if (*text == kUnavailable) return Unavailable{};
      std::optional<TimeOfDay> time = wire::parse_zoned_time(*text);
      if (!time) {
        return std::unexpected("ZonedTime " + quoted(*text) +
                               " is not an ISO-8601 time with an offset");
      }
      return *time;
    }
    case LogicalType::Json: {
      auto text = read_text(value, type, "JSON text in a string");
      if (!text) return std::unexpected(std::move(text.error()));
      if (*text == kUnavailable || *text == kUnavailableMap) return Unavailable{};
      return Json{std::string(*text)};
    }
    case LogicalType::Structured:
      return raw_json(value, type);
  }
  return std::unexpected("unsupported column type");
}

std::expected<Value, std::string> ValueReader::read_untyped(simdjson::ondemand::value& value) {
  json_type type;
  if (auto error = value.type().get(type)) return json_failure(error);
  switch (type) {
    case json_type::null:
      return read(value, ColumnType{LogicalType::String, 0});
    case json_type::boolean:
      return read(value, ColumnType{LogicalType::Boolean, 0});
    case json_type::string:
      return read(value, ColumnType{LogicalType::String, 0});
    case json_type::number: {
      simdjson::ondemand::number_type kind;
      if (auto error = value.get_number_type().get(kind)) return json_failure(error);
      const bool integral = kind != simdjson::ondemand::number_type::floating_point_number;
      return read(value, ColumnType{integral ? LogicalType::Int : LogicalType::Float, 0});
    }
    case json_type::object:
    case json_type::array:
      return raw_json(value, type);
  }
  return wrong_type("a JSON value", type);
}

std::expected<Value, std::string> ValueReader::read_decimal(std::string_view base64,
                                                            int32_t scale) {
  // Bounds that no real column reaches (PostgreSQL's NUMERIC tops out at 16383
  // fractional digits and ~147k digits in all, ~61 KB unscaled) but that keep a poison
  // message from costing seconds of conversion or gigabytes of zeros in to_string().
  constexpr int32_t kMaxScale = 16'383;
  constexpr size_t kMaxBase64 = 90'000;  // ~67 KB of unscaled bytes
  if (scale > kMaxScale || scale < -kMaxScale) {
    return std::unexpected("decimal scale " + std::to_string(scale) + " is outside -16383..16383");
  }
  if (base64.size() > kMaxBase64) {
    return std::unexpected("Decimal of " + std::to_string(base64.size()) +
                           " base64 characters exceeds the 90000-character limit");
  }
  if (!wire::base64_decode(base64, bytes_)) {
    return std::unexpected("Decimal bytes " + quoted(base64) + " are not valid base64");
  }
  Decimal decimal;
  if (!wire::decimal_from_unscaled(bytes_, scale, limbs_, decimal)) {
    return std::unexpected("Decimal bytes are empty");
  }
  return decimal;
}

std::expected<Value, std::string> ValueReader::read_variable_scale_decimal(
    simdjson::ondemand::value& value) {
  // io.debezium.data.VariableScaleDecimal: {"scale": int32, "value": base64 unscaled}.
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object)) return json_failure(error);
  std::optional<int64_t> scale;
  std::optional<std::string_view> unscaled;
  for (auto member : object) {
    std::string_view key;
    if (auto error = member.unescaped_key().get(key)) return json_failure(error);
    simdjson::ondemand::value inner;
    if (auto error = member.value().get(inner)) return json_failure(error);
    json_type type;
    if (auto error = inner.type().get(type)) return json_failure(error);
    if (key == "scale") {
      auto number = read_integer(inner, type, "an integer VariableScaleDecimal scale");
      if (!number) return std::unexpected(std::move(number.error()));
      scale = *number;
    } else if (key == "value") {
      auto text = read_text(inner, type, "base64 VariableScaleDecimal value");
      if (!text) return std::unexpected(std::move(text.error()));
      unscaled = *text;
    }
  }
  if (!scale) return std::unexpected("VariableScaleDecimal has no \"scale\"");
  if (!unscaled) return std::unexpected("VariableScaleDecimal has no \"value\"");
  if (*scale < INT32_MIN || *scale > INT32_MAX) {
    return std::unexpected("VariableScaleDecimal scale " + std::to_string(*scale) +
                           " exceeds int32");
  }
  if (*unscaled == kUnavailableBase64) return Unavailable{};
  return read_decimal(*unscaled, static_cast<int32_t>(*scale));
}

}  // namespace metersync::debezium
