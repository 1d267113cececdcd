#include "mapping/json_field.hpp"

#include <simdjson.h>

#include "mapping/decimal_math.hpp"

namespace metersync::mapping {
namespace {

std::string pointer_of(const std::vector<std::string>& path) {
  std::string pointer;
  for (const auto& part : path) {
    pointer.push_back('/');
    for (char c : part) {  // RFC 6901 escapes
      if (c == '~')
        pointer += "~0";
      else if (c == '/')
        pointer += "~1";
      else
        pointer.push_back(c);
    }
  }
  return pointer;
}

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& part : path) out += (out.empty() ? "" : ".") + part;
  return out;
}

}  // namespace

std::expected<Value, std::string> json_field(std::string_view json_text,
                                             const std::vector<std::string>& path) {
  thread_local simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(json_text);
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS)
    return std::unexpected(std::string("the JSON value cannot be parsed"));
  simdjson::ondemand::json_type root_type;
  if (document.type().get(root_type) != simdjson::SUCCESS)
    return std::unexpected(std::string("the JSON value cannot be parsed"));
  if (root_type == simdjson::ondemand::json_type::null) return Null{};
  if (root_type != simdjson::ondemand::json_type::object)
    return std::unexpected("json_path " + dotted(path) + ": the JSON value is not an object");

  simdjson::ondemand::value field;
  const auto error = document.at_pointer(pointer_of(path)).get(field);
  if (error == simdjson::NO_SUCH_FIELD) return Null{};
  if (error == simdjson::INCORRECT_TYPE)
    return std::unexpected("json_path " + dotted(path) +
                           ": a part of the path is not a JSON object");
  if (error != simdjson::SUCCESS)
    return std::unexpected("json_path " + dotted(path) + ": the JSON value cannot be parsed (" +
                           std::string(simdjson::error_message(error)) + ")");

  simdjson::ondemand::json_type type;
  if (field.type().get(type) != simdjson::SUCCESS)
    return std::unexpected("json_path " + dotted(path) + ": the JSON value cannot be parsed");
  switch (type) {
    case simdjson::ondemand::json_type::null:
      return Null{};
    case simdjson::ondemand::json_type::boolean: {
      bool flag = false;
      if (field.get_bool().get(flag) != simdjson::SUCCESS) break;
      return flag;
    }
    case simdjson::ondemand::json_type::number: {
      std::string_view token = field.raw_json_token();
      while (!token.empty() && (token.back() == ' ' || token.back() == '\n' ||
                                token.back() == '\t' || token.back() == '\r' ||
                                token.back() == ',' || token.back() == '}' || token.back() == ']'))
        token.remove_suffix(1);
      auto decimal = Decimal::parse(token);
      if (!decimal) return std::unexpected("json_path " + dotted(path) + ": " + decimal.error());
      return *decimal;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view text;
      if (field.get_string().get(text) != simdjson::SUCCESS) break;
      return std::string(text);
    }
    case simdjson::ondemand::json_type::object:
    case simdjson::ondemand::json_type::array: {
      std::string_view raw;
      if (simdjson::to_json_string(field).get(raw) != simdjson::SUCCESS) break;
      return Json{std::string(raw)};
    }
  }
  return std::unexpected("json_path " + dotted(path) + ": the JSON value cannot be parsed");
}

}  // namespace metersync::mapping
