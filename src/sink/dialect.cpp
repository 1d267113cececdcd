#include "sink/dialect.hpp"

#include <array>
#include <stdexcept>

#include "sink/mariadb_dialect.hpp"
#include "sink/postgres_dialect.hpp"
#include "sink/sqlserver_dialect.hpp"

namespace metersync::sink {
namespace {

using T = ColumnType;

// The spec's Meter Master table (docs/meter-master.md), in its column order.
constexpr std::array kMeterColumns{
    Column{"SourceSystem", T::Varchar, 16, 0, 0, false},
    Column{"SourceMeterId", T::NVarchar, 64, 0, 0, false},
    Column{"SerialNumber", T::NVarchar, 64, 0, 0, false},
    Column{"MeterType", T::Varchar, 16, 0, 0, false},
    Column{"Manufacturer", T::NVarchar, 100, 0, 0, true},
    Column{"Status", T::Varchar, 16, 0, 0, false},
    Column{"InstallDate", T::Date, 0, 0, 0, true},
    Column{"Multiplier", T::Decimal, 0, 9, 4, false},
    Column{"LastReadingValue", T::Decimal, 0, 18, 3, true},
    Column{"LastReadingAt", T::Timestamp, 0, 0, 6, true},
    Column{"Latitude", T::Decimal, 0, 9, 6, true},
    Column{"Longitude", T::Decimal, 0, 9, 6, true},
    Column{"IsDeleted", T::Bit, 0, 0, 0, false},
    Column{"SourceCommittedAt", T::Timestamp, 0, 0, 3, false},
    Column{"SourcePosition", T::Varchar, 100, 0, 0, false},
    Column{"SyncedAt", T::Timestamp, 0, 0, 6, false},
};

// Key-only deletes carry no values, so every data column of the stage is nullable.
constexpr std::array kStageColumns{
    Column{"SourceSystem", T::Varchar, 16, 0, 0, false},
    Column{"SourceMeterId", T::NVarchar, 64, 0, 0, false},
    Column{"SerialNumber", T::NVarchar, 64, 0, 0, true},
    Column{"MeterType", T::Varchar, 16, 0, 0, true},
    Column{"Manufacturer", T::NVarchar, 100, 0, 0, true},
    Column{"Status", T::Varchar, 16, 0, 0, true},
    Column{"InstallDate", T::Date, 0, 0, 0, true},
    Column{"Multiplier", T::Decimal, 0, 9, 4, true},
    Column{"LastReadingValue", T::Decimal, 0, 18, 3, true},
    Column{"LastReadingAt", T::Timestamp, 0, 0, 6, true},
    Column{"Latitude", T::Decimal, 0, 9, 6, true},
    Column{"Longitude", T::Decimal, 0, 9, 6, true},
    Column{"IsDeleted", T::Bit, 0, 0, 0, true},
    Column{"SourceCommittedAt", T::Timestamp, 0, 0, 3, false},
    Column{"SourcePosition", T::Varchar, 100, 0, 0, false},
    Column{"ChangeKind", T::Char, 1, 0, 0, false},
};

// Kafka allows topic names up to 249 characters.
constexpr std::array kOffsetsColumns{
    Column{"pipeline", T::Varchar, 200, 0, 0, false},
    Column{"topic", T::Varchar, 249, 0, 0, false},
    Column{"partition", T::Int, 0, 0, 0, false},
    Column{"next_offset", T::BigInt, 0, 0, 0, false},
    Column{"records_applied", T::BigInt, 0, 0, 0, false},
    Column{"updated_at", T::Timestamp, 0, 0, 6, false},
};

// Meter Master's types for the columns it shares, so comparisons need no conversion.
constexpr std::array kTruncatesColumns{
    Column{"SourceSystem", T::Varchar, 16, 0, 0, false},
    Column{"SourcePosition", T::Varchar, 100, 0, 0, false},
    Column{"SourceCommittedAt", T::Timestamp, 0, 0, 3, false},
    Column{"updated_at", T::Timestamp, 0, 0, 6, false},
};

bool identifier_char(char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') return true;
  return !first && c >= '0' && c <= '9';
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string with_driver_defaults(std::string connection, const Dialect& dialect) {
  const std::string configured = lower(connection);
  for (const auto& [key, value] : dialect.driver_defaults()) {
    const std::string needle = lower(key) + "=";
    bool named = false;
    for (std::size_t at = configured.find(needle); at != std::string::npos;
         at = configured.find(needle, at + 1)) {
      // A keyword starts the string or follows a ';' (spaces allowed between).
      std::size_t before = at;
      while (before > 0 && configured[before - 1] == ' ') --before;
      if (before == 0 || configured[before - 1] == ';') named = true;
    }
    if (named) continue;
    if (!connection.empty() && connection.back() != ';') connection += ';';
    connection += key + "=" + value;
  }
  return connection;
}

std::span<const Column> meter_columns() { return kMeterColumns; }
std::span<const Column> stage_columns() { return kStageColumns; }
std::span<const Column> document_columns() {
  return std::span<const Column>(kStageColumns).first(kStageColumns.size() - 1);
}
std::span<const Column> offsets_columns() { return kOffsetsColumns; }
std::span<const Column> truncates_columns() { return kTruncatesColumns; }

void validate_identifier(std::string_view key, std::string_view name, bool allow_empty) {
  if (name.empty()) {
    if (allow_empty) return;
    throw ConfigError(std::string(key) + ": must not be empty");
  }
  bool ok = name.size() <= 64;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = identifier_char(name[i], i == 0);
  if (!ok) {
    throw ConfigError(std::string(key) + ": '" + std::string(name) +
                      "' is not a plain identifier: use letters, digits and underscores, "
                      "starting with a letter or underscore, at most 64 characters");
  }
}

std::unique_ptr<Dialect> Dialect::create(config::Dialect dialect, TableNames names) {
  validate_identifier("sink.schema", names.schema, /*allow_empty=*/true);
  validate_identifier("sink.table", names.table);
  validate_identifier("sink.offsets_table", names.offsets_table);
  validate_identifier("sink.truncates_table", names.truncates_table);
  switch (dialect) {
    case config::Dialect::SqlServer:
      return std::make_unique<SqlServerDialect>(std::move(names));
    case config::Dialect::Postgres:
      return std::make_unique<PostgresDialect>(std::move(names));
    case config::Dialect::MariaDb:
      return std::make_unique<MariaDbDialect>(std::move(names));
  }
  throw std::logic_error("unknown sink dialect");
}

std::string Dialect::qualified(std::string_view table) const {
  if (names_.schema.empty()) return quote(table);
  return quote(names_.schema) + "." + quote(table);
}

std::string Dialect::meter_table() const { return qualified(names_.table); }
std::string Dialect::offsets_table() const { return qualified(names_.offsets_table); }
std::string Dialect::truncates_table() const { return qualified(names_.truncates_table); }

std::string Dialect::column_list(std::span<const Column> columns, std::string_view alias) const {
  std::string out;
  for (const Column& column : columns) {
    if (!out.empty()) out += ", ";
    if (!alias.empty()) out += std::string(alias) + ".";
    out += quote(column.name);
  }
  return out;
}

std::string Dialect::type_sql(const Column& column) const {
  const TypeSpelling& spelling = types()[static_cast<std::size_t>(column.type)];
  std::string out(spelling.ddl);
  switch (spelling.suffix) {
    case TypeSpelling::Suffix::None:
      break;
    case TypeSpelling::Suffix::Length:
      out += "(" + std::to_string(column.length) + ")";
      break;
    case TypeSpelling::Suffix::PrecisionScale:
      out += "(" + std::to_string(column.precision) + "," + std::to_string(column.scale) + ")";
      break;
    case TypeSpelling::Suffix::Scale:
      out += "(" + std::to_string(column.scale) + ")";
      break;
  }
  return out;
}

std::string Dialect::information_schema_type(ColumnType type) const {
  return std::string(types()[static_cast<std::size_t>(type)].information_schema);
}

std::string Dialect::columns_query() const {
  // Upper-case unquoted names work on all three: PostgreSQL folds them to the
  // lower-case information_schema names.
  return "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, "
         "NUMERIC_SCALE, DATETIME_PRECISION FROM INFORMATION_SCHEMA.COLUMNS "
         "WHERE UPPER(TABLE_SCHEMA) = UPPER(?) AND UPPER(TABLE_NAME) = UPPER(?)";
}

std::string Dialect::offsets_select_sql() const {
  return "SELECT " + quote("partition") + ", " + quote("next_offset") + " FROM " + offsets_table() +
         " WHERE " + quote("pipeline") + " = ? AND " + quote("topic") + " = ? ORDER BY " +
         quote("partition");
}

std::string Dialect::records_applied_sql() const {
  return "SELECT COALESCE(SUM(" + quote("records_applied") + "), 0) FROM " + offsets_table() +
         " WHERE " + quote("pipeline") + " = ?";
}

}  // namespace metersync::sink
