#include "config/mapping_parser.hpp"

#include <array>
#include <charconv>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/suggest.hpp"
#include "config/yaml_reader.hpp"

namespace metersync::config {
namespace {

constexpr std::array<StepDoc, 11> kSteps{{
    {"from", true, "source column name",
     "the column's value; a column missing from the event is a mapping error",
     "`SerialNumber: { from: SerialNo }`, or just `SerialNumber: SerialNo`"},
    {"value", true, "constant or null",
     "the same value for every row, converted to the column type",
     "`Manufacturer: { value: null }`"},
    {"cases", true, "list of cases",
     "the `value` of the first case whose test holds; each case is "
     "`{ column: c, is: null|not_null|true|false, value: v }`, "
     "`{ column: c, equals: x, value: v }`, or a last `{ value: v }` for all other rows; "
     "no case holding is a mapping error",
     "see the postgres Status rule"},
    {"json_path", false, "field name, dotted for nested objects",
     "a field of a JSON value (jsonb, JSON text); absent or JSON null gives NULL; numbers "
     "keep their exact decimal text",
     "`Latitude: { from: location, json_path: lat, round: 6 }`"},
    {"trim", false, "trailing, leading or both", "removes spaces (U+0020) from text",
     "`SerialNumber: { from: SerialNo, trim: trailing }`"},
    {"map", false, "map of code: value",
     "replaces a code by its value; codes compare as text (integers in decimal, booleans as "
     "true/false); a code not listed is a mapping error, NULL stays NULL",
     "`MeterType: { from: MeterTypeCode, map: { E: electric, W: water, G: gas } }`"},
    {"date_part", false, "true", "the calendar date of a timestamp (UTC); a date stays as it is",
     "`InstallDate: { from: installed_at, date_part: true }`"},
    {"round", false, "integer 0 to 18",
     "rounds half away from zero to that many decimal places; a floating-point value is "
     "first written as its shortest exact decimal text (2.0005 rounds to 2.001)",
     "`LastReadingValue: { from: last_reading, round: 3 }`"},
    {"truncate", false, "seconds, milliseconds or microseconds",
     "drops finer digits of a timestamp",
     "`LastReadingAt: { from: LastReadAt, truncate: microseconds }`"},
    {"time_zone", false, "UTC or an offset +HH:MM / -HH:MM",
     "the zone of wall times that carry none (DATETIME, timestamp without time zone, ISO text "
     "without offset), converted to UTC; text with its own offset uses that offset; zoned "
     "source types arrive in UTC already",
     "`LastReadingAt: { from: last_reading_at, time_zone: UTC }`"},
    {"text", false, "decimal or uuid",
     "canonical text: an integer or decimal as plain decimal digits (no exponent, no "
     "trailing fraction zeros); a UUID (text or 16 bytes) in lower-case 8-4-4-4-12 form",
     "`SourceMeterId: { from: meter_id, text: uuid }`"},
}};

std::vector<std::string> step_names() {
  std::vector<std::string> names;
  names.reserve(kSteps.size());
  for (const auto& step : kSteps) names.emplace_back(step.key);
  return names;
}

std::vector<std::string> column_names() {
  std::vector<std::string> names;
  for (const auto& column : target_columns()) names.emplace_back(column.name);
  return names;
}

std::string required_text(const YAML::Node& node, const std::string& path, std::string_view what) {
  auto text = scalar_text(node, path);
  if (!text || text->empty()) throw ConfigError(path + ": expected " + std::string(what));
  return *text;
}

std::string choice(const YAML::Node& node, const std::string& path,
                   std::initializer_list<std::string_view> choices) {
  const std::string text = required_text(node, path, "a value");
  std::string list;
  for (auto c : choices) {
    if (text == c) return text;
    list += list.empty() ? "" : ", ";
    list += c;
  }
  throw ConfigError(path + ": '" + text + "' is not one of " + list);
}

Cases parse_cases(const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence() || node.size() == 0)
    throw ConfigError(path +
                      ": expected a list of cases, e.g. "
                      "[{ column: removed_at, is: not_null, value: removed }, { value: active }]");
  Cases cases;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string case_path = path + "[" + std::to_string(i) + "]";
    if (!cases.cases.empty() && cases.cases.back().test == Case::Test::Always)
      throw ConfigError(case_path +
                        ": follows a case without a test, so it can never apply; "
                        "put the case without `column` last");
    Case c;
    bool has_value = false;
    bool has_is = false;
    bool has_equals = false;
    for (const auto& [key, child] : map_entries(node[i], case_path)) {
      const std::string child_path = join_key(case_path, key);
      if (key == "column") {
        c.column = required_text(child, child_path, "a source column name");
      } else if (key == "is") {
        has_is = true;
        // `is: null` reads as YAML's null, which here can only mean the null test.
        const std::string test =
            child.IsNull() ? std::string("null")
                           : choice(child, child_path, {"null", "not_null", "true", "false"});
        c.test = test == "null"       ? Case::Test::IsNull
                 : test == "not_null" ? Case::Test::IsNotNull
                 : test == "true"     ? Case::Test::IsTrue
                                      : Case::Test::IsFalse;
      } else if (key == "equals") {
        has_equals = true;
        auto text = scalar_text(child, child_path);
        if (!text) throw ConfigError(child_path + ": to test for NULL write `is: null`");
        c.test = Case::Test::Equals;
        c.equals = *text;
      } else if (key == "value") {
        has_value = true;
        c.value = scalar_text(child, child_path);
      } else {
        static const std::vector<std::string> kCaseKeys{"column", "is", "equals", "value"};
        throw ConfigError("unknown key " + child_path + did_you_mean(key, kCaseKeys) +
                          " (a case has column, is or equals, and value)");
      }
    }
    if (!has_value)
      throw ConfigError(case_path + ": a case needs `value:` (the result when it holds)");
    if (has_is && has_equals)
      throw ConfigError(case_path + ": give either `is:` or `equals:`, not both");
    if ((has_is || has_equals) && c.column.empty())
      throw ConfigError(case_path + ": the test needs `column:` (the source column it reads)");
    if (!has_is && !has_equals && !c.column.empty())
      throw ConfigError(case_path + ": `column:` without a test; add `is:` or `equals:`");
    cases.cases.push_back(std::move(c));
  }
  return cases;
}

Step parse_step(const std::string& key, const YAML::Node& node, const std::string& path) {
  if (key == "from") return FromColumn{required_text(node, path, "a source column name")};
  if (key == "value") return Constant{scalar_text(node, path)};
  if (key == "cases") return parse_cases(node, path);
  if (key == "json_path") {
    JsonPath step;
    const std::string text = required_text(node, path, "a JSON field name, e.g. lat or geo.lat");
    size_t start = 0;
    while (true) {
      const size_t dot = text.find('.', start);
      std::string part =
          text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty()) throw ConfigError(path + ": '" + text + "' has an empty field name");
      step.path.push_back(std::move(part));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return step;
  }
  if (key == "trim") {
    const std::string side = choice(node, path, {"trailing", "leading", "both"});
    return Trim{side == "leading" ? Trim::Side::Leading
                : side == "both"  ? Trim::Side::Both
                                  : Trim::Side::Trailing};
  }
  if (key == "map") {
    ValueMap map;
    for (const auto& [code, value] : map_entries(node, path)) {
      if (code.find("${") != std::string::npos)
        throw ConfigError(join_key(path, code) +
                          ": codes are literal; environment variables "
                          "are only substituted in values");
      map.entries.emplace_back(code, scalar_text(value, join_key(path, code)));
    }
    if (map.entries.empty()) throw ConfigError(path + ": the map is empty; list code: value pairs");
    return map;
  }
  if (key == "date_part") {
    if (choice(node, path, {"true"}) != "true")
      throw ConfigError(path + ": write `date_part: true`");
    return DatePart{};
  }
  if (key == "round") {
    const std::string text = required_text(node, path, "a number of decimal places");
    int places = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), places);
    if (ec != std::errc{} || end != text.data() + text.size() || places < 0 || places > 18)
      throw ConfigError(path + ": '" + text + "' is not a number of decimal places from 0 to 18");
    return Round{places};
  }
  if (key == "truncate") {
    const std::string unit = choice(node, path, {"seconds", "milliseconds", "microseconds"});
    return Truncate{unit == "seconds"        ? Truncate::Unit::Seconds
                    : unit == "milliseconds" ? Truncate::Unit::Milliseconds
                                             : Truncate::Unit::Microseconds};
  }
  if (key == "time_zone")
    return TimeZone{required_text(node, path, "UTC or an offset such as +01:00")};
  if (key == "text") {
    return Text{choice(node, path, {"decimal", "uuid"}) == "uuid" ? Text::Form::Uuid
                                                                  : Text::Form::Decimal};
  }
  throw ConfigError("unknown key " + path + did_you_mean(key, step_names()));
}

bool starts_rule(const Step& step) {
  return std::holds_alternative<FromColumn>(step) || std::holds_alternative<Constant>(step) ||
         std::holds_alternative<Cases>(step);
}

ColumnRule parse_column(const std::string& column, const YAML::Node& node,
                        const std::string& path) {
  ColumnRule rule{column, path, {}};
  if (node.IsScalar()) {  // `SerialNumber: serial` is `{ from: serial }`
    rule.steps.push_back(FromColumn{required_text(node, path, "a source column name")});
    return rule;
  }
  if (!node.IsMap())
    throw ConfigError(path +
                      ": expected a source column name or a map of steps such as "
                      "{ from: col, round: 3 }; for a column that is always NULL write "
                      "{ value: null }");
  for (const auto& [key, child] : map_entries(node, path)) {
    Step step = parse_step(key, child, join_key(path, key));
    if (starts_rule(step) && !rule.steps.empty())
      throw ConfigError(join_key(path, key) +
                        ": a rule has one start (from, value or cases), "
                        "written first");
    if (!starts_rule(step) && rule.steps.empty())
      throw ConfigError(join_key(path, key) +
                        ": the rule must start with from, value or cases "
                        "before `" +
                        key + "`");
    rule.steps.push_back(std::move(step));
  }
  if (rule.steps.empty())
    throw ConfigError(path + ": the rule is empty; start it with from, value or cases");
  return rule;
}

}  // namespace

std::span<const StepDoc> step_docs() { return kSteps; }

MappingSpec parse_mapping(const YAML::Node& node, std::string_view key_path) {
  const std::string base(key_path);
  MappingSpec spec;
  for (const auto& [column, child] : map_entries(node, base)) {
    const std::string path = join_key(base, column);
    if (find_target_column(column) == nullptr) {
      static const std::vector<std::string> kSetByMetersync{
          "SourceSystem", "IsDeleted", "SourceCommittedAt", "SourcePosition", "SyncedAt"};
      for (const auto& own : kSetByMetersync)
        if (own == column)
          throw ConfigError(path + ": " + column +
                            " is set by metersync, not by a mapping rule; "
                            "remove it");
      throw ConfigError("unknown key " + path + did_you_mean(column, column_names()) +
                        " (mapping keys are Meter Master columns)");
    }
    spec.columns.push_back(parse_column(column, child, path));
  }
  for (const auto& column : target_columns()) {
    if (!column.nullable && spec.find(column.name) == nullptr)
      throw ConfigError(base + ": no rule for " + std::string(column.name) + " (" +
                        std::string(column.sql_type) + " NOT NULL); add e.g. `" +
                        std::string(column.name) + ": <source column>`");
  }
  return spec;
}

}  // namespace metersync::config
