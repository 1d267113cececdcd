#include "verify/repair.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace metersync::verify {
namespace {

using KeyJson = nlohmann::ordered_json;  // member order kept: the key bytes must be the connector's

Error refused(std::string reason) { return Error::data(Stage::Map, std::move(reason)); }

bool binlog(const std::string& connector) { return connector == "mysql" || connector == "mariadb"; }

bool all_digits(std::string_view text) {
  if (text.starts_with('-')) text.remove_prefix(1);
  return !text.empty() && text.size() <= 38 && text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string quoted_name(const std::string& connector, const std::string& name) {
  if (binlog(connector)) {
    std::string out;
    for (char c : name) out += c == '`' ? std::string("``") : std::string(1, c);
    return "`" + out + "`";
  }
  std::string out;
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return "\"" + out + "\"";
}

std::string signal_data(const std::string& data_collection, const std::string& filter) {
  KeyJson data{{"data-collections", KeyJson::array({data_collection})},
            {"type", "incremental"},
            {"additional-conditions", KeyJson::array({KeyJson{{"data-collection", data_collection}, {"filter", filter}}})}};
  return data.dump();
}

std::string base64(const std::vector<unsigned char>& bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t chunk = (uint32_t{bytes[i]} << 16) | (i + 1 < bytes.size() ? uint32_t{bytes[i + 1]} << 8 : 0) |
                           (i + 2 < bytes.size() ? uint32_t{bytes[i + 2]} : 0);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

// The unscaled value of a Decimal as Connect writes it: the shortest big-endian two's
// complement (1 -> 01, 128 -> 00 80, -1 -> ff). Keys within BIGINT UNSIGNED and BIGINT.
std::optional<std::vector<unsigned char>> twos_complement(std::string_view digits) {
  const bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  uint64_t magnitude = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (negative && magnitude > (uint64_t{1} << 63)) return std::nullopt;
  const uint64_t value = negative ? ~magnitude + 1 : magnitude;
  // A ninth byte carries the sign: 00 for a positive value, ff for a negative one.
  std::vector<unsigned char> bytes{static_cast<unsigned char>(negative ? 0xff : 0x00)};
  for (int shift = 56; shift >= 0; shift -= 8) bytes.push_back(static_cast<unsigned char>(value >> shift));
  const unsigned char fill = negative ? 0xff : 0x00;
  size_t start = 0;
  // Drop a leading byte while the next one still carries the sign.
  while (start + 1 < bytes.size() && bytes[start] == fill && ((bytes[start + 1] & 0x80) != 0) == negative) ++start;
  return std::vector<unsigned char>(bytes.begin() + static_cast<std::ptrdiff_t>(start), bytes.end());
}

KeyJson field_schema(const std::string& type, const std::string& field, bool optional) {
  return KeyJson{{"type", type}, {"optional", optional}, {"field", field}};
}

}  // namespace

Result<std::vector<std::string>> snapshot_signals(const std::string& connector,
                                                  const std::string& data_collection,
                                                  const std::string& key_column,
                                                  const std::vector<std::string>& keys, size_t max_data) {
  const std::string column = quoted_name(connector, key_column);
  // PostgreSQL casts a quoted literal to the column's type (uuid, bigint, text alike); MySQL
  // and MariaDB would compare an integer column with a string as doubles, so digits stay numbers.
  const auto literal = [&](const std::string& key) { return binlog(connector) && all_digits(key) ? key : sql_literal(key); };
  std::vector<std::string> out;
  std::vector<std::string> literals;
  std::string fitting;  // the data of the keys taken so far
  const auto filter = [&] {
    std::string list;
    for (const auto& literal : literals) list += (list.empty() ? "" : ", ") + literal;
    return column + " IN (" + list + ")";
  };
  for (const auto& key : keys) {
    literals.push_back(literal(key));
    std::string data = signal_data(data_collection, filter());
    if (data.size() <= max_data) {
      fitting = std::move(data);
      continue;
    }
    literals.pop_back();
    if (literals.empty())
      return std::unexpected(refused("the key " + key + " does not fit one signal of " + std::to_string(max_data) +
                                     " characters"));
    out.push_back(std::move(fitting));
    literals = {literal(key)};
    fitting = signal_data(data_collection, filter());
    if (fitting.size() > max_data)
      return std::unexpected(refused("the key " + key + " does not fit one signal of " + std::to_string(max_data) +
                                     " characters"));
  }
  if (!literals.empty()) out.push_back(std::move(fitting));
  return out;
}

std::string signal_insert_sql(const std::string& connector, const std::string& signal_collection) {
  std::string name;
  size_t at = 0;
  while (true) {
    const size_t dot = signal_collection.find('.', at);
    name += (name.empty() ? "" : ".") + quoted_name(connector, signal_collection.substr(at, dot == std::string::npos ? dot : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  return "INSERT INTO " + name + " (" + quoted_name(connector, "id") + ", " + quoted_name(connector, "type") +
         ", " + quoted_name(connector, "data") + ") VALUES (?, ?, ?)";
}

std::string source_position_sql(const std::string& connector) {
  // pg_lsn minus pg_lsn is the byte distance: the LSN as the connector's int64 `lsn`.
  if (connector == "postgres") return "SELECT CAST(pg_current_wal_lsn() - CAST('0/0' AS pg_lsn) AS TEXT)";
  if (binlog(connector)) return "SHOW MASTER STATUS";
  return {};
}

Result<SourcePoint> parse_source_point(const std::string& connector,
                                       const std::vector<std::optional<std::string>>& row) {
  SourcePoint point;
  const auto number = [](const std::optional<std::string>& text, auto& into) {
    if (!text) return false;
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), into);
    return error == std::errc() && end == text->data() + text->size();
  };
  if (connector == "postgres") {
    uint64_t lsn = 0;
    if (row.empty() || !number(row[0], lsn))
      return std::unexpected(refused("the source's WAL position could not be read"));
    point.lsn = lsn;
    return point;
  }
  if (binlog(connector)) {
    const std::optional<std::string> file = row.empty() ? std::nullopt : row[0];
    if (row.size() < 2 || !file || file->empty() || !number(row[1], point.pos) || point.pos <= 0)
      return std::unexpected(refused("SHOW MASTER STATUS gave no binlog position (is the binary log on, and "
                                     "may the user of the source connection read it: BINLOG MONITOR?)"));
    point.file = *file;
    return point;
  }
  return std::unexpected(refused("repair is built for postgres, mysql and mariadb sources, not " + connector));
}

Result<KeyTemplate> key_template(std::string_view key_record) {
  const KeyJson parsed = KeyJson::parse(key_record, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("schema") || !parsed["schema"].is_object())
    return std::unexpected(refused("the topic's key record has no schema (key.converter.schemas.enable must be true)"));
  const KeyJson& schema = parsed["schema"];
  if (!schema.contains("fields") || !schema["fields"].is_array() || schema["fields"].size() != 1)
    return std::unexpected(refused("the topic's key has " +
                                   std::to_string(schema.contains("fields") ? schema["fields"].size() : 0) +
                                   " fields; repair builds keys of one field"));
  const KeyJson& field = schema["fields"][0];
  KeyTemplate out;
  out.schema = schema.dump();
  out.field_schema = field.dump();
  out.field = field.value("field", "");
  out.type = field.value("type", "");
  if (out.field.empty()) return std::unexpected(refused("the topic's key field has no name"));
  if (out.type == "bytes") {
    const bool decimal = field.value("name", "") == "org.apache.kafka.connect.data.Decimal";
    const std::string scale = decimal && field.contains("parameters") ? field["parameters"].value("scale", "") : "";
    if (!decimal || scale != "0")
      return std::unexpected(refused("the topic's key field " + out.field +
                                     " is bytes other than an integer Decimal; repair cannot build it"));
    out.decimal_scale = 0;
  } else if (out.type != "string" && out.type != "int8" && out.type != "int16" && out.type != "int32" &&
             out.type != "int64") {
    return std::unexpected(refused("the topic's key field " + out.field + " is of type " + out.type +
                                   "; repair builds string, integer and integer Decimal keys"));
  }
  return out;
}

Result<std::string> key_value_json(const KeyTemplate& key, const std::string& key_text) {
  if (key.type == "string") return KeyJson(key_text).dump();
  if (!all_digits(key_text))
    return std::unexpected(refused("the key '" + key_text + "' is not an integer, as the key field " + key.field +
                                   " is"));
  if (key.decimal_scale) {
    const auto bytes = twos_complement(key_text);
    if (!bytes) return std::unexpected(refused("the key " + key_text + " is out of range"));
    return KeyJson(base64(*bytes)).dump();
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(key_text.data(), key_text.data() + key_text.size(), value);
  if (error != std::errc() || end != key_text.data() + key_text.size())
    return std::unexpected(refused("the key " + key_text + " is out of range"));
  return std::to_string(value);
}

std::string key_record(const KeyTemplate& key, const std::string& value_json) {
  return "{\"schema\":" + key.schema + ",\"payload\":{" + KeyJson(key.field).dump() + ":" + value_json + "}}";
}

Result<std::string> delete_record_value(const DeleteRecordSpec& spec, const KeyTemplate& key,
                                        const std::string& value_json) {
  if (spec.table.empty()) return std::unexpected(refused("the topic " + spec.topic + " names no table"));
  const std::string prefix = spec.topic.substr(0, spec.topic.find('.'));
  KeyJson source_fields = KeyJson::array({field_schema("string", "version", false), field_schema("string", "connector", false),
                                    field_schema("string", "name", false), field_schema("int64", "ts_ms", false),
                                    field_schema("string", "snapshot", true), field_schema("string", "table", true)});
  KeyJson source{{"version", "metersync-verify-repair"}, {"connector", spec.connector == "postgres" ? "postgresql" : spec.connector},
              {"name", prefix}, {"ts_ms", spec.ts_ms}, {"snapshot", "false"}};
  if (spec.connector == "postgres") {
    if (!spec.at.lsn) return std::unexpected(refused("no WAL position for the delete record"));
    if (spec.table.size() < 2) return std::unexpected(refused("the topic " + spec.topic + " names no schema"));
    source_fields.push_back(field_schema("string", "schema", false));
    source_fields.push_back(field_schema("int64", "lsn", true));
    source["schema"] = spec.table[spec.table.size() - 2];
    source["table"] = spec.table.back();
    source["lsn"] = *spec.at.lsn;
  } else if (binlog(spec.connector)) {
    if (spec.at.file.empty() || spec.at.pos <= 0) return std::unexpected(refused("no binlog position for the delete record"));
    source_fields.push_back(field_schema("string", "db", false));
    source_fields.push_back(field_schema("string", "file", false));
    source_fields.push_back(field_schema("int64", "pos", false));
    source_fields.push_back(field_schema("int32", "row", false));
    source["db"] = spec.table.front();
    source["table"] = spec.table.back();
    source["file"] = spec.at.file;
    // Every event written before the read starts before the binlog's end (an event is at
    // least 19 bytes); every later one starts at or after it: one byte before the end sorts
    // between the two.
    source["pos"] = spec.at.pos - 1;
    source["row"] = 0;
  } else {
    return std::unexpected(refused("repair is built for postgres, mysql and mariadb sources, not " + spec.connector));
  }
  const KeyJson row_schema{{"type", "struct"},
                        {"fields", KeyJson::array({KeyJson::parse(key.field_schema)})},
                        {"optional", true},
                        {"name", spec.topic + ".Value"}};
  KeyJson before_schema = row_schema;
  before_schema["field"] = "before";
  KeyJson after_schema = row_schema;
  after_schema["field"] = "after";
  const KeyJson schema{{"type", "struct"},
                    {"fields", KeyJson::array({before_schema, after_schema,
                                            KeyJson{{"type", "struct"}, {"fields", source_fields}, {"optional", false},
                                                 {"name", "io.debezium.connector." + spec.connector + ".Source"},
                                                 {"field", "source"}},
                                            field_schema("string", "op", false), field_schema("int64", "ts_ms", true)})},
                    {"optional", false},
                    {"name", spec.topic + ".Envelope"},
                    {"version", 2}};
  KeyJson before = KeyJson::object();
  before[key.field] = KeyJson::parse(value_json);
  const KeyJson value{{"schema", schema},
                   {"payload", KeyJson{{"before", before}, {"after", nullptr}, {"source", source}, {"op", "d"},
                                    {"ts_ms", spec.ts_ms}}}};
  return value.dump();
}

Result<std::string> source_key_of(const config::SourceConfig& source, const std::string& source_meter_id) {
  const config::ColumnRule* rule = source.mapping.find("SourceMeterId");
  bool plain = rule != nullptr && !rule->steps.empty() && std::holds_alternative<config::FromColumn>(rule->steps[0]);
  for (size_t i = 1; plain && i < rule->steps.size(); ++i)
    plain = std::holds_alternative<config::Text>(rule->steps[i]);
  if (!plain)
    return std::unexpected(refused("sources." + source.name +
                                   ".mapping.SourceMeterId transforms the key column, so a Meter Master key does "
                                   "not name a source row; repair needs a rule of `from` (and `text`) only"));
  return source_meter_id;
}

}  // namespace metersync::verify
