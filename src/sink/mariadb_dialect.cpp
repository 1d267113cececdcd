#include "sink/mariadb_dialect.hpp"

namespace metersync::sink {

std::string MariaDbDialect::quote(std::string_view identifier) const {
  return "`" + std::string(identifier) + "`";
}

const TypeSpellings& MariaDbDialect::types() const {
  // utf8mb4 VARCHAR(n) holds n characters: NVARCHAR's equivalent. DATETIME, not
  // TIMESTAMP: no session time-zone conversion, years 1000..9999. BOOLEAN is TINYINT(1).
  static constexpr TypeSpellings kTypes{{
      TypeSpelling{"VARCHAR", TypeSpelling::Suffix::Length, "varchar"},          // Varchar
      TypeSpelling{"VARCHAR", TypeSpelling::Suffix::Length, "varchar"},          // NVarchar
      TypeSpelling{"DATE", TypeSpelling::Suffix::None, "date"},                  // Date
      TypeSpelling{"DECIMAL", TypeSpelling::Suffix::PrecisionScale, "decimal"},  // Decimal
      TypeSpelling{"DATETIME", TypeSpelling::Suffix::Scale, "datetime"},         // Timestamp
      TypeSpelling{"BOOLEAN", TypeSpelling::Suffix::None, "tinyint"},            // Bit
      TypeSpelling{"INT", TypeSpelling::Suffix::None, "int"},                    // Int
      TypeSpelling{"BIGINT", TypeSpelling::Suffix::None, "bigint"},              // BigInt
      TypeSpelling{"CHAR", TypeSpelling::Suffix::Length, "char"},                // Char
  }};
  return kTypes;
}

std::vector<std::string> MariaDbDialect::session_setup() const {
  // Strict mode: a value that does not fit is an error (Data), never silently clipped.
  return {
      "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
      "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
      "SET SESSION time_zone = '+00:00'"};
}

std::string MariaDbDialect::column_definitions(std::span<const Column> columns) const {
  std::string out;
  for (const Column& column : columns) {
    out += "  " + quote(column.name) + " " + type_sql(column);
    out += column.nullable ? " NULL" : " NOT NULL";
    if (column.type == ColumnType::Bit) out += " DEFAULT 0";
    if (column.name == "records_applied") out += " DEFAULT 0";
    out += ",\n";
  }
  return out;
}

std::vector<std::string> MariaDbDialect::create_tables() const {
  std::string meter = "CREATE TABLE IF NOT EXISTS " + meter_table() + " (\n" +
                      column_definitions(meter_columns()) + "  CONSTRAINT " +
                      quote("PK_" + names().table) + " PRIMARY KEY (" + quote("SourceSystem") +
                      ", " + quote("SourceMeterId") + ")\n)" + std::string(kTableOptions);
  std::string offsets = "CREATE TABLE IF NOT EXISTS " + offsets_table() + " (\n" +
                        column_definitions(offsets_columns()) + "  CONSTRAINT " +
                        quote("PK_" + names().offsets_table) + " PRIMARY KEY (" +
                        quote("pipeline") + ", " + quote("topic") + ", " + quote("partition") +
                        ")\n)" + std::string(kTableOptions);
  std::string truncates = "CREATE TABLE IF NOT EXISTS " + truncates_table() + " (\n" +
                          column_definitions(truncates_columns()) + "  CONSTRAINT " +
                          quote("PK_" + names().truncates_table) + " PRIMARY KEY (" +
                          quote("SourceSystem") + ")\n)" + std::string(kTableOptions);
  return {meter, offsets, truncates};
}

std::string MariaDbDialect::document_rows() const {
  // JSON_TABLE's columns take the server's default character set unless told, and it
  // clips or nulls a value that does not fit with only a warning, even in strict mode.
  // So every column is utf8mb4 text one character longer than its table column (an
  // over-long value stays over-long), and the strict INSERT/UPDATE converts it into the
  // table's types: a value that does not fit is refused there (1406, 1264, 1292: Data).
  std::string out = "JSON_TABLE(?, '$[*]' COLUMNS (";
  std::size_t index = 0;
  for (const Column& column : document_columns()) {
    if (index > 0) out += ",";
    out += "\n  " + quote(column.name) + " ";
    if (column.type == ColumnType::Bit) {
      out += "INT";
    } else {
      const int length = column.length > 0 ? column.length + 1 : 40;
      out += "VARCHAR(" + std::to_string(length) + ") CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
    }
    out += " PATH '$[" + std::to_string(index++) + "]'";
  }
  out += "))";
  return out;
}

std::string MariaDbDialect::newer(std::string_view stored, std::string_view incoming) {
  return "CAST(" + std::string(stored) + " AS BINARY) < CAST(" + std::string(incoming) +
         " AS BINARY)";
}

std::string MariaDbDialect::upsert_document_sql() const {
  const std::string table = meter_table();
  // Target columns are qualified: the SELECT's columns carry the same names.
  const auto target = [&](std::string_view column) { return table + "." + quote(column); };
  const std::string guard =
      newer(target("SourcePosition"), "VALUES(" + quote("SourcePosition") + ")");

  std::string values;
  for (const Column& column : meter_columns()) {
    if (!values.empty()) values += ", ";
    if (column.name == "SyncedAt") {
      values += "UTC_TIMESTAMP(6)";
    } else if (column.name == "IsDeleted") {
      // Older than its source's latest truncate: the source dropped it (values kept).
      values += "s." + quote(column.name) + " OR COALESCE(" +
                newer("s." + quote("SourcePosition"), "w." + quote("SourcePosition")) + ", 0)";
    } else {
      values += "s." + quote(column.name);
    }
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
  return "INSERT INTO " + table + " (" + column_list(meter_columns()) + ")\nSELECT " + values +
         "\nFROM " + document_rows() + " AS s\nLEFT JOIN " + truncates_table() + " AS w ON w." +
         quote("SourceSystem") + " = s." + quote("SourceSystem") + "\nON DUPLICATE KEY UPDATE\n" +
         assignments;
}

std::string MariaDbDialect::flag_document_sql() const {
  // Key-only deletes flag the stored row; an unknown key gets nothing.
  return "UPDATE " + meter_table() + " AS t INNER JOIN " + document_rows() + " AS s ON t." +
         quote("SourceSystem") + " = s." + quote("SourceSystem") + " AND t." +
         quote("SourceMeterId") + " = s." + quote("SourceMeterId") + "\nSET t." +
         quote("IsDeleted") + " = 1, t." + quote("SourceCommittedAt") + " = s." +
         quote("SourceCommittedAt") + ", t." + quote("SyncedAt") + " = UTC_TIMESTAMP(6), t." +
         quote("SourcePosition") + " = s." + quote("SourcePosition") + "\nWHERE " +
         newer("t." + quote("SourcePosition"), "s." + quote("SourcePosition"));
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

std::string MariaDbDialect::lock_sql() const {
  // GET_LOCK answers 1 (granted), 0 (not within 30 s) or NULL (an error), turned into
  // 0 and -1 (not granted: Transient, the batch is retried). The name is hashed to stay
  // within the 64 characters a lock name may have.
  return "SELECT COALESCE(GET_LOCK(CONCAT('metersync:', MD5(?)), 30), 0) - 1 AS lock_status";
}

std::string MariaDbDialect::unlock_sql() const { return "SELECT RELEASE_ALL_LOCKS()"; }

std::string MariaDbDialect::truncate_sql() const {
  return "UPDATE " + meter_table() + " SET " + quote("IsDeleted") + " = 1, " +
         quote("SourcePosition") + " = ?, " + quote("SourceCommittedAt") + " = ?, " +
         quote("SyncedAt") + " = UTC_TIMESTAMP(6)\nWHERE " + quote("SourceSystem") + " = ? AND " +
         newer(quote("SourcePosition"), "?");
}

std::string MariaDbDialect::offsets_upsert_all_sql(std::size_t partitions) const {
  std::string rows;
  for (std::size_t i = 0; i < partitions; ++i) {
    if (i > 0) rows += ", ";
    rows += "(?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";
  }
  // Offsets only move forward: a batch retried after its COMMIT's acknowledgement was lost
  // changes nothing (its rows are no-ops by the position guard), so records_applied is not
  // counted twice. MariaDB assigns left to right, each assignment seeing the ones before:
  // next_offset is compared before it is assigned, last.
  const std::string ahead =
      "VALUES(" + quote("next_offset") + ") > " + quote("next_offset");
  return "INSERT INTO " + offsets_table() + " (" + column_list(offsets_columns()) + ")\nVALUES " +
         rows + "\nON DUPLICATE KEY UPDATE " + quote("records_applied") + " = IF(" + ahead +
         ", " + quote("records_applied") + " + VALUES(" + quote("records_applied") + "), " +
         quote("records_applied") + "), " + quote("updated_at") + " = IF(" + ahead +
         ", VALUES(" + quote("updated_at") + "), " + quote("updated_at") + "), " +
         quote("next_offset") + " = GREATEST(" + quote("next_offset") + ", VALUES(" +
         quote("next_offset") + "))";
}

std::string MariaDbDialect::alter_column_sql(std::string_view table, const Column& column) const {
  return "ALTER TABLE " + std::string(table) + " MODIFY " + quote(column.name) + " " +
         type_sql(column) + (column.nullable ? " NULL" : " NOT NULL");
}

}  // namespace metersync::sink
