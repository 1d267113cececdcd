#include "mapping/column_program.hpp"

#include <algorithm>

#include "config/config.hpp"
#include "mapping/decimal_math.hpp"
#include "mapping/json_field.hpp"
#include "mapping/value_forms.hpp"

namespace metersync::mapping {
namespace {

using config::TargetColumn;
using config::TargetType;

std::unexpected<ColumnFailure> fail(std::string reason, bool incomplete = false) {
  return std::unexpected(ColumnFailure{std::move(reason), incomplete});
}

std::string type_label(TargetType type) {
  switch (type) {
    case TargetType::Text:
      return "text";
    case TargetType::Decimal:
      return "a decimal";
    case TargetType::Date:
      return "a date";
    case TargetType::Timestamp:
      return "a timestamp";
  }
  return "?";
}

std::string quoted_list(std::span<const std::string_view> values) {
  std::string out;
  for (auto v : values) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

// Reads a source column for a rule: absent and "not logged" are failures of the image.
std::expected<Value, ColumnFailure> read_column(const Row& row, const std::string& column) {
  const Value* value = row.find(column);
  if (value == nullptr) return fail("column " + column + " is missing from the event", true);
  if (std::holds_alternative<Unavailable>(*value))
    return fail("column " + column +
                    " was not logged by the source (Debezium's unavailable-value placeholder)",
                true);
  return *value;
}

std::expected<Value, ColumnFailure> run_cases(const config::Cases& cases, const Row& row) {
  using Test = config::Case::Test;
  for (const auto& c : cases.cases) {
    bool holds = c.test == Test::Always;
    if (!holds) {
      auto value = read_column(row, c.column);
      if (!value) return std::unexpected(value.error());
      switch (c.test) {
        case Test::IsNull:
          holds = is_null(*value);
          break;
        case Test::IsNotNull:
          holds = !is_null(*value);
          break;
        case Test::IsTrue:
        case Test::IsFalse: {
          if (is_null(*value)) break;
          const auto* flag = std::get_if<bool>(&*value);
          if (flag == nullptr)
            return fail("cases: column " + c.column + " is " + std::string(type_name(*value)) +
                        ", `is: true/false` needs a boolean; compare with `equals:`");
          holds = *flag == (c.test == Test::IsTrue);
          break;
        }
        case Test::Equals: {
          const auto text = code_text(*value);
          holds = text && *text == c.equals;
          break;
        }
        case Test::Always:
          break;
      }
    }
    if (holds) {
      if (c.value) return Value{*c.value};
      return Value{Null{}};
    }
  }
  return fail("no case holds for this row; add a last case `{ value: ... }` for all other rows");
}

struct StepRunner {
  const Row& row;
  Value value;
  int32_t zone_offset;

  std::expected<Value, ColumnFailure> operator()(const config::FromColumn& step) {
    return read_column(row, step.column);
  }
  std::expected<Value, ColumnFailure> operator()(const config::Constant& step) {
    return step.text ? Value{*step.text} : Value{Null{}};
  }
  std::expected<Value, ColumnFailure> operator()(const config::Cases& step) {
    return run_cases(step, row);
  }

  std::expected<Value, ColumnFailure> operator()(const config::JsonPath& step) {
    if (is_null(value)) return value;
    std::string_view text;
    if (const auto* json = std::get_if<Json>(&value))
      text = json->text;
    else if (const auto* s = std::get_if<std::string>(&value))
      text = *s;
    else
      return fail("json_path takes JSON, got " + std::string(type_name(value)));
    auto field = json_field(text, step.path);
    if (!field) return fail(field.error());
    return *field;
  }
  std::expected<Value, ColumnFailure> operator()(const config::Trim& step) {
    if (is_null(value)) return value;
    auto* s = std::get_if<std::string>(&value);
    if (s == nullptr) return fail("trim takes text, got " + std::string(type_name(value)));
    if (step.side != config::Trim::Side::Leading) s->erase(s->find_last_not_of(' ') + 1);
    if (step.side != config::Trim::Side::Trailing)
      s->erase(0, std::min(s->find_first_not_of(' '), s->size()));
    return value;
  }
  std::expected<Value, ColumnFailure> operator()(const config::ValueMap& step) {
    if (is_null(value)) return value;
    const auto code = code_text(value);
    if (!code)
      return fail("map takes a code (text, integer, decimal, boolean), got " +
                  std::string(type_name(value)));
    std::string known;
    for (const auto& [from, to] : step.entries) {
      if (from == *code) return to ? Value{*to} : Value{Null{}};
      known += (known.empty() ? "" : ", ") + from;
    }
    return fail("unknown code '" + *code + "' (the map knows " + known + ")");
  }
  std::expected<Value, ColumnFailure> operator()(const config::DatePart&) {
    if (is_null(value) || std::holds_alternative<Date>(value)) return value;
    const auto* ts = std::get_if<Timestamp>(&value);
    if (ts == nullptr)
      return fail("date_part takes a timestamp, got " + std::string(type_name(value)));
    return Value{Date{static_cast<int32_t>(floor_div(ts->seconds, 86'400))}};
  }
  std::expected<Value, ColumnFailure> operator()(const config::Round& step) {
    if (is_null(value)) return value;
    Decimal exact;
    if (const auto* d = std::get_if<Decimal>(&value))
      exact = *d;
    else if (const auto* i = std::get_if<int64_t>(&value))
      exact = decimal_from_int(*i);
    else if (const auto* f = std::get_if<double>(&value)) {
      auto converted = decimal_from_double(*f);
      if (!converted) return fail(converted.error());
      exact = *converted;
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      // Numbers kept as text, such as a JSON field written "48.8584": the spec's
      // `location->>'lat'` is text too, and rounding it means reading it as a number.
      auto parsed = Decimal::parse(*text);
      if (!parsed) return fail("round takes a number, got text '" + *text + "'");
      exact = std::move(*parsed);
    } else {
      return fail("round takes a number, got " + std::string(type_name(value)));
    }
    return Value{round_half_away(exact, step.places)};
  }
  std::expected<Value, ColumnFailure> operator()(const config::Truncate& step) {
    if (is_null(value)) return value;
    auto* ts = std::get_if<Timestamp>(&value);
    if (ts == nullptr)
      return fail("truncate takes a timestamp, got " + std::string(type_name(value)));
    // nanos is always 0..999999999 after the second, so cutting digits truncates
    // toward the earlier instant also before 1970, as SQL Server does.
    const int32_t unit = step.unit == config::Truncate::Unit::Seconds        ? 1'000'000'000
                         : step.unit == config::Truncate::Unit::Milliseconds ? 1'000'000
                                                                             : 1'000;
    ts->nanos -= ts->nanos % unit;
    return value;
  }
  std::expected<Value, ColumnFailure> operator()(const config::TimeZone&) {
    if (is_null(value)) return value;
    if (const auto* ts = std::get_if<Timestamp>(&value))
      return Value{Timestamp{ts->seconds - zone_offset, ts->nanos}};
    if (const auto* s = std::get_if<std::string>(&value)) {
      auto parsed = parse_iso_timestamp(*s, zone_offset);
      if (!parsed) return fail(parsed.error());
      return Value{*parsed};
    }
    return fail("time_zone takes a timestamp or ISO 8601 text, got " +
                std::string(type_name(value)));
  }
  std::expected<Value, ColumnFailure> operator()(const config::Text& step) {
    if (is_null(value)) return value;
    if (step.form == config::Text::Form::Uuid) {
      auto uuid = canonical_uuid(value);
      if (!uuid) return fail(uuid.error());
      return Value{*uuid};
    }
    if (const auto* i = std::get_if<int64_t>(&value)) return Value{std::to_string(*i)};
    if (const auto* d = std::get_if<Decimal>(&value)) return Value{canonical_text(*d)};
    return fail("text: decimal takes an integer or a decimal, got " +
                std::string(type_name(value)));
  }
};

// What kind of value a step always produces, when that is fixed.
std::optional<TargetType> output_type(const config::Step& step) {
  if (std::holds_alternative<config::Round>(step)) return TargetType::Decimal;
  if (std::holds_alternative<config::DatePart>(step)) return TargetType::Date;
  if (std::holds_alternative<config::Truncate>(step) ||
      std::holds_alternative<config::TimeZone>(step))
    return TargetType::Timestamp;
  if (std::holds_alternative<config::Trim>(step) || std::holds_alternative<config::Text>(step))
    return TargetType::Text;
  return std::nullopt;
}

}  // namespace

ColumnProgram::ColumnProgram(const config::ColumnRule& rule, const TargetColumn& target)
    : target_(&target), steps_(rule.steps) {
  const std::string& path = rule.key_path.empty() ? rule.column : rule.key_path;
  if (steps_.empty())
    throw ConfigError(path + ": the rule is empty; start it with from, value or cases");
  for (const auto& step : steps_) {
    if (const auto* from = std::get_if<config::FromColumn>(&step))
      columns_read_.push_back(from->column);
    if (const auto* cases = std::get_if<config::Cases>(&step))
      for (const auto& c : cases->cases)
        if (!c.column.empty() &&
            std::find(columns_read_.begin(), columns_read_.end(), c.column) == columns_read_.end())
          columns_read_.push_back(c.column);
    if (const auto* zone = std::get_if<config::TimeZone>(&step)) {
      const auto offset = parse_utc_offset(zone->zone);
      if (!offset)
        throw ConfigError(
            path + ".time_zone: '" + zone->zone +
            "' is not UTC or a fixed offset such as +01:00 (named zones are not supported)");
      zone_offset_ = *offset;
    }
    if (const auto* round = std::get_if<config::Round>(&step);
        round && target.type == TargetType::Decimal && round->places > target.scale)
      throw ConfigError(path + ".round: " + std::to_string(round->places) + " places, but " +
                        std::string(target.name) + " is " + std::string(target.sql_type) +
                        "; use at most " + std::to_string(target.scale));
  }
  const auto produced = output_type(steps_.back());
  if (produced && *produced != target.type)
    throw ConfigError(path + "." + std::string(config::step_key(steps_.back())) + ": gives " +
                      type_label(*produced) + ", but " + std::string(target.name) + " is " +
                      std::string(target.sql_type));
  check_outputs(rule);
  if (columns_read_.empty()) {  // a constant: wrong once is wrong for every row
    auto result = run(Row{});
    if (!result) throw ConfigError(path + ": " + result.error().reason);
  }
}

// Literal results (map values, case values, constants) that reach the column as they
// are must be allowed there: a typo in the configuration is a start-up error, not a
// dead-lettered row.
void ColumnProgram::check_outputs(const config::ColumnRule& rule) const {
  const std::string& path = rule.key_path.empty() ? rule.column : rule.key_path;
  std::vector<std::pair<std::string, std::optional<std::string>>> literals;  // key path, value
  const config::Step& last = steps_.back();
  if (const auto* map = std::get_if<config::ValueMap>(&last))
    for (const auto& [code, value] : map->entries)
      literals.emplace_back(path + ".map." + code, value);
  if (const auto* cases = std::get_if<config::Cases>(&last))
    for (size_t i = 0; i < cases->cases.size(); ++i)
      literals.emplace_back(path + ".cases[" + std::to_string(i) + "].value",
                            cases->cases[i].value);
  for (const auto& [where, value] : literals) {
    if (!value) {
      if (!target_->nullable)
        throw ConfigError(where + ": null, but " + std::string(target_->name) + " is NOT NULL");
      continue;
    }
    if (!target_->domain.empty() &&
        std::find(target_->domain.begin(), target_->domain.end(), *value) == target_->domain.end())
      throw ConfigError(where + ": '" + *value + "' is not a " + std::string(target_->name) +
                        " value (" + quoted_list(target_->domain) + ")");
    if (auto checked = to_target(Value{*value}); !checked)
      throw ConfigError(where + ": " + checked.error().reason);
  }
}

std::expected<Value, ColumnFailure> ColumnProgram::evaluate(const Row& row) const {
  StepRunner runner{row, Value{Null{}}, zone_offset_};
  for (const auto& step : steps_) {
    auto next = std::visit(runner, step);
    if (!next) return std::unexpected(next.error());
    runner.value = std::move(*next);
  }
  return std::move(runner.value);
}

std::expected<Value, ColumnFailure> ColumnProgram::run(const Row& row) const {
  auto value = evaluate(row);
  if (!value) {
    value.error().reason = std::string(target_->name) + ": " + value.error().reason;
    return value;
  }
  auto result = to_target(std::move(*value));
  if (!result) result.error().reason = std::string(target_->name) + ": " + result.error().reason;
  return result;
}

// The value in the column's own type, or why it cannot be: never rounded, cut or
// guessed here (that is what the rule's steps are for).
std::expected<Value, ColumnFailure> ColumnProgram::to_target(Value value) const {
  const TargetColumn& t = *target_;
  if (std::holds_alternative<Unavailable>(value))
    return fail("the value was not logged by the source (Debezium's unavailable-value placeholder)",
                true);
  if (is_null(value)) {
    if (t.nullable) return value;
    return fail("NULL, but the column is NOT NULL", true);
  }
  const std::string got(type_name(value));
  switch (t.type) {
    case TargetType::Text: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) {
        const bool numeric =
            std::holds_alternative<int64_t>(value) || std::holds_alternative<Decimal>(value);
        return fail("got " + got + ", the column takes text" +
                    (numeric ? "; add `text: decimal`" : ""));
      }
      size_t length = text->size();
      if (!t.counts_bytes) {
        auto characters = utf8_length(*text);
        if (!characters) return fail(characters.error());
        length = *characters;
      }
      if (length > static_cast<size_t>(t.length))
        return fail(std::to_string(length) + (t.counts_bytes ? " bytes" : " characters") +
                    ", the column holds " + std::to_string(t.length));
      if (!t.domain.empty() && std::find(t.domain.begin(), t.domain.end(), *text) == t.domain.end())
        return fail("'" + *text + "' is not one of " + quoted_list(t.domain));
      return value;
    }
    case TargetType::Decimal: {
      Decimal exact;
      if (const auto* d = std::get_if<Decimal>(&value))
        exact = *d;
      else if (const auto* i = std::get_if<int64_t>(&value))
        exact = decimal_from_int(*i);
      else if (const auto* f = std::get_if<double>(&value)) {
        auto converted = decimal_from_double(*f);
        if (!converted) return fail(converted.error());
        exact = *converted;
      } else if (const auto* s = std::get_if<std::string>(&value)) {
        auto parsed = Decimal::parse(*s);
        if (!parsed) return fail(parsed.error());
        exact = *parsed;
      } else {
        return fail("got " + got + ", the column takes a number");
      }
      auto fitted = fit_decimal(exact, t.precision, t.scale);
      if (!fitted) return fail(fitted.error());
      return Value{*fitted};
    }
    case TargetType::Date: {
      Date date;
      if (const auto* d = std::get_if<Date>(&value))
        date = *d;
      else if (const auto* s = std::get_if<std::string>(&value)) {
        auto parsed = parse_iso_date(*s);
        if (!parsed) return fail(parsed.error());
        date = *parsed;
      } else if (std::holds_alternative<Timestamp>(value)) {
        return fail("got a timestamp, the column takes a date; add `date_part: true`");
      } else {
        return fail("got " + got + ", the column takes a date");
      }
      if (!in_sql_range(date)) return fail(date.to_iso() + " is outside the years 0001 to 9999");
      return Value{date};
    }
    case TargetType::Timestamp: {
      Timestamp ts;
      if (const auto* v = std::get_if<Timestamp>(&value))
        ts = *v;
      else if (const auto* s = std::get_if<std::string>(&value)) {
        auto parsed = parse_iso_timestamp(*s, 0);  // the sources' zone-less times are UTC
        if (!parsed) return fail(parsed.error());
        ts = *parsed;
      } else {
        return fail("got " + got + ", the column takes a timestamp");
      }
      if (!in_sql_range(ts)) return fail(ts.to_iso(9) + " is outside the years 0001 to 9999");
      int32_t unit = 1;
      for (int i = t.scale; i < 9; ++i) unit *= 10;
      if (ts.nanos % unit != 0)
        return fail(ts.to_iso(9) + " is finer than the column's " + std::to_string(t.scale) +
                    " fractional digits; add `truncate: microseconds`");
      return Value{ts};
    }
  }
  return fail("unsupported column type");
}

}  // namespace metersync::mapping
