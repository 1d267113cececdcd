#include "verify/source_values.hpp"

#include <sql.h>
#include <sqlext.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "mapping/value_forms.hpp"

namespace metersync::verify {
namespace {

// Case-insensitive, without the copy a lowered string would cost on every cell.
bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

bool has_unsigned(std::string_view name) {
  constexpr std::string_view word = "unsigned";
  for (size_t i = 0; i + word.size() <= name.size(); ++i)
    if (same_name(name.substr(i, word.size()), word)) return true;
  return false;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Error unreadable(const sink::ResultColumn& column, const std::string& text, const std::string& why) {
  return Error::data(Stage::Decode, "column " + column.name + " (" + column.type_name + "): '" +
                                        text + "' " + why);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Value> source_value(const sink::ResultColumn& column, const std::optional<std::string>& text) {
  if (!text) return Value{Null{}};
  const std::string& s = *text;
  const std::string_view type_name = column.type_name;

  if (same_name(type_name, "bool") || same_name(type_name, "boolean") || column.sql_type == SQL_BIT) {
    // psqlODBC shows a boolean as '1'/'0' (BoolsAsChar) or 't'/'f'; SQL Server's BIT as 1/0.
    if (s == "1" || s == "t" || s == "true" || s == "TRUE") return Value{true};
    if (s == "0" || s == "f" || s == "false" || s == "FALSE") return Value{false};
    return std::unexpected(unreadable(column, s, "is not a boolean"));
  }
  if (same_name(type_name, "json") || same_name(type_name, "jsonb")) return Value{Json{s}};
  // psqlODBC shows a PostgreSQL uuid (SQL_GUID) in upper case; Debezium sends PostgreSQL's own
  // lower-case text. (SQL Server's uniqueidentifier is upper case in both.)
  if (same_name(type_name, "uuid")) return Value{lower(s)};

  switch (column.sql_type) {
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT: {
      // Debezium's precise mode gives BIGINT UNSIGNED as a Decimal whatever its value.
      const bool as_decimal = column.sql_type == SQL_BIGINT &&
                              (column.is_unsigned || has_unsigned(type_name));
      int64_t number = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
      if (!as_decimal && ec == std::errc{} && end == s.data() + s.size()) return Value{number};
      auto decimal = Decimal::parse(s);
      if (!decimal || decimal->scale != 0) return std::unexpected(unreadable(column, s, "is not an integer"));
      return Value{std::move(*decimal)};
    }
    case SQL_DECIMAL:
    case SQL_NUMERIC: {
      auto decimal = Decimal::parse(s);
      if (!decimal) return std::unexpected(unreadable(column, s, "is not a decimal: " + decimal.error()));
      return Value{std::move(*decimal)};
    }
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE: {
      double number = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
      if (ec != std::errc{} || end != s.data() + s.size())
        return std::unexpected(unreadable(column, s, "is not a floating-point number"));
      return Value{number};
    }
    case SQL_TYPE_DATE:
    case SQL_DATE: {
      auto date = mapping::parse_iso_date(s);
      if (!date) return std::unexpected(unreadable(column, s, date.error()));
      return Value{*date};
    }
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
    case -155: {  // SQL_SS_TIMESTAMPOFFSET: SQL Server's DATETIMEOFFSET, printed with its offset
      auto ts = mapping::parse_iso_timestamp(s, 0);
      if (!ts) return std::unexpected(unreadable(column, s, ts.error()));
      return Value{*ts};
    }
    case SQL_TYPE_TIME:
    case SQL_TIME: {
      auto ts = mapping::parse_iso_timestamp("1970-01-01 " + s, 0);
      if (!ts) return std::unexpected(unreadable(column, s, ts.error()));
      return Value{TimeOfDay{ts->seconds * 1'000'000'000 + ts->nanos}};
    }
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY: {
      // Binary columns read as text come as hex digits.
      std::string_view hex = s;
      if (hex.starts_with("\\x") || hex.starts_with("0x")) hex.remove_prefix(2);
      if (hex.size() % 2 != 0) return std::unexpected(unreadable(column, s, "is not hex"));
      Bytes bytes;
      for (size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::unexpected(unreadable(column, s, "is not hex"));
        bytes.data.push_back(static_cast<char>(hi * 16 + lo));
      }
      return Value{std::move(bytes)};
    }
    default:
      return Value{s};
  }
}

Result<Row> source_row(const std::vector<sink::ResultColumn>& columns, const sink::SqlRow& row) {
  Row out;
  out.columns.reserve(columns.size());
  for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
    auto value = source_value(columns[i], row[i]);
    if (!value) return std::unexpected(value.error());
    out.columns.emplace_back(columns[i].name, std::move(*value));
  }
  return out;
}

}  // namespace metersync::verify
