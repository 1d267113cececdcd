// Small readers for nullable scalar fields of a simdjson On-Demand value, shared by the
// envelope and the source block. Errors are reason text naming the field's path, which
// is only assembled when there is an error.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace metersync::debezium::json_fields {

struct FieldPath {
  std::string_view parent;  // "" or e.g. "source"
  std::string_view key;
  std::string text() const {
    return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
  }
};

inline std::string invalid(std::string_view where, simdjson::error_code error) {
  std::string reason(where);
  reason += ": invalid JSON: ";
  reason += simdjson::error_message(error);
  return reason;
}

inline std::expected<std::optional<int64_t>, std::string> optional_int(
    simdjson::ondemand::value& value, const FieldPath& where) {
  simdjson::ondemand::json_type type;
  if (auto error = value.type().get(type)) return std::unexpected(invalid(where.text(), error));
  if (type == simdjson::ondemand::json_type::null) return std::nullopt;
  int64_t number = 0;
  if (type != simdjson::ondemand::json_type::number ||
      value.get_int64().get(number) != simdjson::SUCCESS) {
    return std::unexpected(where.text() + ": expected an integer");
  }
  return number;
}

inline std::expected<std::optional<std::string_view>, std::string> optional_string(
    simdjson::ondemand::value& value, const FieldPath& where) {
  simdjson::ondemand::json_type type;
  if (auto error = value.type().get(type)) return std::unexpected(invalid(where.text(), error));
  if (type == simdjson::ondemand::json_type::null) return std::nullopt;
  std::string_view text;
  if (type != simdjson::ondemand::json_type::string ||
      value.get_string().get(text) != simdjson::SUCCESS) {
    return std::unexpected(where.text() + ": expected a string");
  }
  return text;
}

}  // namespace metersync::debezium::json_fields
