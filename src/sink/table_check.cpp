#include "sink/table_check.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace metersync::sink {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}


}  // namespace

std::optional<int64_t> integer_cell(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return value;
}


TableCheck check_columns(OdbcConnection& connection, const Dialect& dialect,
                         const std::string& table, std::span<const Column> expected) {
  const auto rows =
      connection.query(dialect.columns_query(),
                       {SqlParam::national(dialect.names().schema), SqlParam::national(table)},
                       "reading INFORMATION_SCHEMA.COLUMNS");
  TableCheck check;
  check.exists = !rows.empty();
  if (!check.exists) return check;
  const std::string qualified = dialect.quote(dialect.names().schema) + "." + dialect.quote(table);
  for (const Column& column : expected) {
    const SqlRow* found = nullptr;
    for (const SqlRow& row : rows) {
      if (row[0] && lower(*row[0]) == lower(column.name)) found = &row;
    }
    const std::string want = dialect.type_sql(column) + (column.nullable ? " NULL" : " NOT NULL");
    if (!found) {
      check.problems += "\n  column " + std::string(column.name) + " is missing; fix: ALTER TABLE " +
                        qualified + " ADD " + dialect.quote(column.name) + " " + want;
      continue;
    }
    const SqlRow& row = *found;
    const std::string type = row[1] ? lower(*row[1]) : "";
    const auto length = integer_cell(row[2]);
    const auto precision = integer_cell(row[3]);
    const auto scale = integer_cell(row[4]);
    const auto fraction = integer_cell(row[5]);
    bool ok = type == dialect.information_schema_type(column.type);
    if (ok && (column.type == ColumnType::Varchar || column.type == ColumnType::NVarchar)) {
      ok = length && (*length == -1 || *length >= column.length);  // -1: (MAX)
    }
    if (ok && column.type == ColumnType::Decimal)
      ok = precision == column.precision && scale == column.scale;
    if (ok && column.type == ColumnType::Timestamp) ok = fraction == column.scale;
    if (!ok) {
      std::string actual = type;
      if (length) {
        actual += "(" + std::to_string(*length) + ")";
      } else if (type == dialect.information_schema_type(ColumnType::Decimal) && precision && scale) {
        actual += "(" + std::to_string(*precision) + "," + std::to_string(*scale) + ")";
      } else if (fraction && column.type == ColumnType::Timestamp) {
        actual += " with " + std::to_string(*fraction) + " fractional digits";
      }
      check.problems += "\n  column " + std::string(column.name) + " is " + actual + ", expected " +
                        want + "; fix: " + dialect.alter_column_sql(qualified, column);
    }
  }
  return check;
}

}  // namespace metersync::sink
