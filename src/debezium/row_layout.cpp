#include "debezium/row_layout.hpp"

#include <simdjson.h>

#include <charconv>

namespace metersync::debezium {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::string_view string_member(object obj, std::string_view key) {
  std::string_view text;
  if (obj[key].get_string().get(text) != simdjson::SUCCESS) return {};
  return text;
}

std::expected<ColumnSpec, std::string> compile_field(object field) {
  ColumnSpec spec;
  spec.name = std::string(string_member(field, "field"));
  if (spec.name.empty()) return std::unexpected("a row field of the schema has no \"field\" name");
  const std::string_view connect_type = string_member(field, "type");
  const std::string_view logical_name = string_member(field, "name");
  int32_t scale = 0;
  spec.type = column_type_for_schema(connect_type, logical_name, 0);
  if (spec.type.type == LogicalType::Decimal) {
    // Kafka Connect's Decimal keeps its scale as a string parameter: {"scale":"4"}.
    object parameters;
    std::string_view scale_text;
    if (field["parameters"].get_object().get(parameters) != simdjson::SUCCESS ||
        parameters["scale"].get_string().get(scale_text) != simdjson::SUCCESS) {
      return std::unexpected("schema of column " + spec.name +
                             ": Decimal without a \"scale\" parameter");
    }
    auto [end, ec] =
        std::from_chars(scale_text.data(), scale_text.data() + scale_text.size(), scale);
    if (ec != std::errc{} || end != scale_text.data() + scale_text.size()) {
      return std::unexpected("schema of column " + spec.name + ": Decimal scale '" +
                             std::string(scale_text) + "' is not an integer");
    }
    spec.type.scale = scale;
  }
  return spec;
}

}  // namespace

std::expected<RowLayout, std::string> RowLayout::from_envelope_schema(
    std::string_view schema_json, simdjson::dom::parser& parser) {
  element root;
  if (auto error = parser.parse(schema_json.data(), schema_json.size()).get(root)) {
    return std::unexpected(std::string("schema is not valid JSON: ") +
                           simdjson::error_message(error));
  }
  simdjson::dom::array envelope_fields;
  if (root["fields"].get_array().get(envelope_fields) != simdjson::SUCCESS) {
    return std::unexpected("schema is not a Debezium envelope (no \"fields\" array)");
  }
  object row_schema;
  bool found = false;
  for (element member : envelope_fields) {
    object candidate;
    if (member.get_object().get(candidate) != simdjson::SUCCESS) continue;
    const std::string_view name = string_member(candidate, "field");
    if (name == "after" || (name == "before" && !found)) {
      row_schema = candidate;
      found = true;
    }
  }
  if (!found) {
    return std::unexpected("schema is not a Debezium envelope (no \"before\"/\"after\" field)");
  }
  simdjson::dom::array columns;
  if (row_schema["fields"].get_array().get(columns) != simdjson::SUCCESS) {
    return std::unexpected("schema of \"after\" is not a struct with \"fields\"");
  }
  RowLayout layout;
  for (element column : columns) {
    object field;
    if (column.get_object().get(field) != simdjson::SUCCESS) {
      return std::unexpected("schema of \"after\" lists a field that is not an object");
    }
    auto spec = compile_field(field);
    if (!spec) return std::unexpected(std::move(spec.error()));
    layout.columns_.push_back(std::move(*spec));
  }
  return layout;
}

RowLayout RowLayout::from_declared(const DeclaredColumns& declared) {
  RowLayout layout;
  layout.columns_.reserve(declared.size());
  for (const auto& [name, type] : declared) layout.columns_.push_back(ColumnSpec{name, type});
  return layout;
}

const ColumnSpec* RowLayout::find(std::string_view name, size_t& hint) const {
  if (hint < columns_.size() && columns_[hint].name == name) return &columns_[hint++];
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name == name) {
      hint = i + 1;
      return &columns_[i];
    }
  }
  return nullptr;
}

}  // namespace metersync::debezium
