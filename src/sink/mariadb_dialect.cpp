#include "sink/mariadb_dialect.hpp"

namespace metersync::sink {

std::string MariaDbDialect::quote(std::string_view identifier) const {
  return "`" + std::string(identifier) + "`";
}

std::string MariaDbDialect::type_sql(const Column& column) const {
  switch (column.type) {
    // utf8mb4 VARCHAR(n) holds n characters: NVARCHAR's equivalent.
    case ColumnType::Varchar:
    case ColumnType::NVarchar:
      return "VARCHAR(" + std::to_string(column.length) + ")";
    case ColumnType::Char:
      return "CHAR(" + std::to_string(column.length) + ")";
    case ColumnType::Date:
      return "DATE";
    case ColumnType::Decimal:
      return "DECIMAL(" + std::to_string(column.precision) + "," + std::to_string(column.scale) +
             ")";
    // DATETIME, not TIMESTAMP: no session time-zone conversion, years 1000..9999.
    case ColumnType::Timestamp:
      return "DATETIME(" + std::to_string(column.scale) + ")";
    case ColumnType::Bit:
      return "BOOLEAN";
    case ColumnType::Int:
      return "INT";
    case ColumnType::BigInt:
      return "BIGINT";
  }
  return {};
}

std::vector<std::string> MariaDbDialect::session_setup() const {
  // Strict mode: a value that does not fit is an error (Data), never silently clipped.
  return {
      "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
      "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
      "SET SESSION time_zone = '+00:00'"};
}

std::string MariaDbDialect::column_definitions(std::span<const Column> columns, bool stage) const {
  std::string out;
  for (const Column& column : columns) {
    out += "  " + quote(column.name) + " " + type_sql(column);
    out += column.nullable ? " NULL" : " NOT NULL";
    if (!stage && column.type == ColumnType::Bit) out += " DEFAULT 0";
    if (!stage && column.name == "records_applied") out += " DEFAULT 0";
    out += ",\n";
  }
  return out;
}

std::vector<std::string> MariaDbDialect::create_tables() const {
  std::string meter = "CREATE TABLE IF NOT EXISTS " + meter_table() + " (\n" +
                      column_definitions(meter_columns(), false) + "  CONSTRAINT " +
                      quote("PK_" + names().table) + " PRIMARY KEY (" + quote("SourceSystem") +
                      ", " + quote("SourceMeterId") + ")\n)" + std::string(kTableOptions);
  std::string offsets = "CREATE TABLE IF NOT EXISTS " + offsets_table() + " (\n" +
                        column_definitions(offsets_columns(), false) + "  CONSTRAINT " +
                        quote("PK_" + names().offsets_table) + " PRIMARY KEY (" +
                        quote("pipeline") + ", " + quote("topic") + ", " + quote("partition") +
                        ")\n)" + std::string(kTableOptions);
  std::string truncates = "CREATE TABLE IF NOT EXISTS " + truncates_table() + " (\n" +
                          column_definitions(truncates_columns(), false) + "  CONSTRAINT " +
                          quote("PK_" + names().truncates_table) + " PRIMARY KEY (" +
                          quote("SourceSystem") + ")\n)" + std::string(kTableOptions);
  return {meter, offsets, truncates};
}

std::string MariaDbDialect::information_schema_type(ColumnType type) const {
  switch (type) {
    case ColumnType::Varchar:
    case ColumnType::NVarchar:
      return "varchar";
    case ColumnType::Char:
      return "char";
    case ColumnType::Date:
      return "date";
    case ColumnType::Decimal:
      return "decimal";
    case ColumnType::Timestamp:
      return "datetime";
    case ColumnType::Bit:
      return "tinyint";
    case ColumnType::Int:
      return "int";
    case ColumnType::BigInt:
      return "bigint";
  }
  return {};
}

std::string MariaDbDialect::stage_table() const {
  // Qualified, so it works when the connection has no default database.
  return names().schema.empty() ? quote("metersync_stage")
                                : quote(names().schema) + "." + quote("metersync_stage");
}

std::vector<std::string> MariaDbDialect::prepare_stage() const {
  // A TEMPORARY table neither commits the open transaction nor is seen by other
  // sessions; it lives as long as the connection.
  return {"CREATE TEMPORARY TABLE IF NOT EXISTS " + stage_table() + " (\n" +
              column_definitions(stage_columns(), true) + "  PRIMARY KEY (" +
              quote("SourceSystem") + ", " + quote("SourceMeterId") + ", " + quote("ChangeKind") +
              ")\n)" + std::string(kTableOptions),
          "DELETE FROM " + stage_table()};
}

std::string MariaDbDialect::stage_insert(std::size_t rows) const {
  return "INSERT INTO " + stage_table() + " (" + column_list(stage_columns()) + ") VALUES\n" +
         values_rows(rows);
}

std::string MariaDbDialect::newer(std::string_view stored, std::string_view incoming) {
  return "CAST(" + std::string(stored) + " AS BINARY) < CAST(" + std::string(incoming) +
         " AS BINARY)";
}

std::vector<std::string> MariaDbDialect::apply_stage() const {
  const std::string table = meter_table();
  const std::string stage = stage_table();
  // Target columns are qualified: the SELECT's stage columns carry the same names.
  const auto target = [&](std::string_view column) { return table + "." + quote(column); };
  const std::string guard =
      newer(target("SourcePosition"), "VALUES(" + quote("SourcePosition") + ")");

  std::string staged_values;
  for (const Column& column : meter_columns()) {
    if (!staged_values.empty()) staged_values += ", ";
    staged_values += column.name == "SyncedAt" ? "UTC_TIMESTAMP(6)" : "s." + quote(column.name);
  }
  // ON DUPLICATE KEY UPDATE assigns left to right and later expressions see earlier
  // assignments, so SourcePosition, which every guard reads, is assigned last.
  std::string assignments;
  for (const Column& column : meter_columns()) {
    if (column.name == "SourceSystem" || column.name == "SourceMeterId" ||
        column.name == "SourcePosition") {
      continue;
    }
    assignments += "  " + target(column.name) + " = IF(" + guard + ", VALUES(" +
                   quote(column.name) + "), " + target(column.name) + "),\n";
  }
  assignments += "  " + target("SourcePosition") + " = IF(" + guard + ", VALUES(" +
                 quote("SourcePosition") + "), " + target("SourcePosition") + ")";
  std::string upsert = "INSERT INTO " + table + " (" + column_list(meter_columns()) + ")\nSELECT " +
                       staged_values + "\nFROM " + stage + " AS s WHERE s." + quote("ChangeKind") +
                       " = 'U'\nON DUPLICATE KEY UPDATE\n" + assignments;

  // Key-only deletes flag the stored row; an unknown key gets nothing.
  std::string flag = "UPDATE " + table + " AS t INNER JOIN " + stage + " AS s ON t." +
                     quote("SourceSystem") + " = s." + quote("SourceSystem") + " AND t." +
                     quote("SourceMeterId") + " = s." + quote("SourceMeterId") + "\nSET t." +
                     quote("IsDeleted") + " = 1, t." + quote("SourceCommittedAt") + " = s." +
                     quote("SourceCommittedAt") + ", t." + quote("SyncedAt") +
                     " = UTC_TIMESTAMP(6), t." + quote("SourcePosition") + " = s." +
                     quote("SourcePosition") + "\nWHERE s." + quote("ChangeKind") + " = 'K' AND " +
                     newer("t." + quote("SourcePosition"), "s." + quote("SourcePosition"));
  return {upsert, flag};
}

std::string MariaDbDialect::stage_truncated_sql() const {
  return "UPDATE " + stage_table() + " AS s INNER JOIN " + truncates_table() + " AS w ON w." +
         quote("SourceSystem") + " = s." + quote("SourceSystem") + "\nSET s." + quote("IsDeleted") +
         " = 1\nWHERE s." + quote("ChangeKind") + " = 'U' AND " +
         newer("s." + quote("SourcePosition"), "w." + quote("SourcePosition"));
}

std::string MariaDbDialect::truncate_watermark_sql() const {
  // Assignments run left to right and see earlier ones, so SourcePosition, which the
  // guard reads, is assigned last.
  const std::string guard =
      newer(quote("SourcePosition"), "VALUES(" + quote("SourcePosition") + ")");
  std::string assignments;
  for (const std::string_view column : {"SourceCommittedAt", "updated_at", "SourcePosition"}) {
    if (!assignments.empty()) assignments += ", ";
    assignments += quote(column) + " = IF(" + guard + ", VALUES(" + quote(column) + "), " +
                   quote(column) + ")";
  }
  return "INSERT INTO " + truncates_table() + " (" + column_list(truncates_columns()) +
         ")\nVALUES (?, ?, ?, UTC_TIMESTAMP(6))\nON DUPLICATE KEY UPDATE " + assignments;
}

std::string MariaDbDialect::truncate_sql() const {
  return "UPDATE " + meter_table() + " SET " + quote("IsDeleted") + " = 1, " +
         quote("SourcePosition") + " = ?, " + quote("SourceCommittedAt") + " = ?, " +
         quote("SyncedAt") + " = UTC_TIMESTAMP(6)\nWHERE " + quote("SourceSystem") + " = ? AND " +
         newer(quote("SourcePosition"), "?");
}

std::string MariaDbDialect::offsets_upsert_sql() const {
  return "INSERT INTO " + offsets_table() + " (" + column_list(offsets_columns()) +
         ")\nVALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))\nON DUPLICATE KEY UPDATE " +
         quote("next_offset") + " = VALUES(" + quote("next_offset") + "), " +
         quote("records_applied") + " = " + quote("records_applied") + " + VALUES(" +
         quote("records_applied") + "), " + quote("updated_at") + " = VALUES(" +
         quote("updated_at") + ")";
}

std::string MariaDbDialect::alter_column_sql(std::string_view table, const Column& column) const {
  return "ALTER TABLE " + std::string(table) + " MODIFY " + quote(column.name) + " " +
         type_sql(column) + (column.nullable ? " NULL" : " NOT NULL");
}

}  // namespace metersync::sink
