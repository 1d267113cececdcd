#include "sink/postgres_dialect.hpp"

namespace metersync::sink {

std::string PostgresDialect::quote(std::string_view identifier) const {
  return "\"" + std::string(identifier) + "\"";
}

std::string PostgresDialect::type_sql(const Column& column) const {
  switch (column.type) {
    // The database encoding is UTF-8, so VARCHAR(n) holds n Unicode characters:
    // NVARCHAR's equivalent.
    case ColumnType::Varchar:
    case ColumnType::NVarchar:
      return "VARCHAR(" + std::to_string(column.length) + ")";
    case ColumnType::Char:
      return "CHAR(" + std::to_string(column.length) + ")";
    case ColumnType::Date:
      return "DATE";
    case ColumnType::Decimal:
      return "NUMERIC(" + std::to_string(column.precision) + "," + std::to_string(column.scale) +
             ")";
    // Zone-less like DATETIME2; values are UTC by contract.
    case ColumnType::Timestamp:
      return "TIMESTAMP(" + std::to_string(column.scale) + ")";
    case ColumnType::Bit:
      return "BOOLEAN";
    case ColumnType::Int:
      return "INTEGER";
    case ColumnType::BigInt:
      return "BIGINT";
  }
  return {};
}

std::string PostgresDialect::column_definitions(std::span<const Column> columns, bool stage) const {
  std::string out;
  for (const Column& column : columns) {
    out += "  " + quote(column.name) + " " + type_sql(column);
    // Positions compare byte-wise whatever the database's collation.
    if (column.name == "SourcePosition") out += " COLLATE \"C\"";
    out += column.nullable ? " NULL" : " NOT NULL";
    if (!stage && column.type == ColumnType::Bit) out += " DEFAULT FALSE";
    if (!stage && column.name == "records_applied") out += " DEFAULT 0";
    out += ",\n";
  }
  return out;
}

std::vector<std::string> PostgresDialect::create_tables() const {
  std::string meter = "CREATE TABLE IF NOT EXISTS " + meter_table() + " (\n" +
                      column_definitions(meter_columns(), false) + "  CONSTRAINT " +
                      quote("PK_" + names().table) + " PRIMARY KEY (" + quote("SourceSystem") +
                      ", " + quote("SourceMeterId") + ")\n)";
  std::string offsets = "CREATE TABLE IF NOT EXISTS " + offsets_table() + " (\n" +
                        column_definitions(offsets_columns(), false) + "  CONSTRAINT " +
                        quote("PK_" + names().offsets_table) + " PRIMARY KEY (" +
                        quote("pipeline") + ", " + quote("topic") + ", " + quote("partition") +
                        ")\n)";
  std::string truncates = "CREATE TABLE IF NOT EXISTS " + truncates_table() + " (\n" +
                          column_definitions(truncates_columns(), false) + "  CONSTRAINT " +
                          quote("PK_" + names().truncates_table) + " PRIMARY KEY (" +
                          quote("SourceSystem") + ")\n)";
  return {meter, offsets, truncates};
}

std::string PostgresDialect::information_schema_type(ColumnType type) const {
  switch (type) {
    case ColumnType::Varchar:
    case ColumnType::NVarchar:
      return "character varying";
    case ColumnType::Char:
      return "character";
    case ColumnType::Date:
      return "date";
    case ColumnType::Decimal:
      return "numeric";
    case ColumnType::Timestamp:
      return "timestamp without time zone";
    case ColumnType::Bit:
      return "boolean";
    case ColumnType::Int:
      return "integer";
    case ColumnType::BigInt:
      return "bigint";
  }
  return {};
}

std::vector<std::string> PostgresDialect::prepare_stage() const {
  // Created once per session (ON COMMIT DELETE ROWS empties it at every commit); the
  // DELETE empties it between the segments a truncate splits a batch into.
  return {"CREATE TEMP TABLE IF NOT EXISTS metersync_stage (\n" +
              column_definitions(stage_columns(), true) + "  PRIMARY KEY (" +
              quote("SourceSystem") + ", " + quote("SourceMeterId") + ", " + quote("ChangeKind") +
              ")\n) ON COMMIT DELETE ROWS",
          "DELETE FROM " + std::string(kStage)};
}

std::string PostgresDialect::param_marker(const Column& column) const {
  switch (column.type) {
    case ColumnType::Date:
    case ColumnType::Decimal:
    case ColumnType::Timestamp:
    case ColumnType::Bit:
      return "CAST(? AS " + type_sql(column) + ")";
    default:
      return "?";
  }
}

std::string PostgresDialect::stage_insert(std::size_t rows) const {
  return "INSERT INTO " + std::string(kStage) + " (" + column_list(stage_columns()) + ") VALUES\n" +
         values_rows(rows);
}

std::vector<std::string> PostgresDialect::apply_stage() const {
  const std::string table = meter_table();
  const std::string stage(kStage);
  const std::string position = quote("SourcePosition");

  std::string staged_values;
  std::string assignments;
  for (const Column& column : meter_columns()) {
    const std::string name = quote(column.name);
    if (!staged_values.empty()) staged_values += ", ";
    staged_values += column.name == "SyncedAt" ? std::string(kNow) : "s." + name;
    if (column.name == "SourceSystem" || column.name == "SourceMeterId") continue;
    if (!assignments.empty()) assignments += ",\n";
    assignments += "  " + name + " = EXCLUDED." + name;
  }
  // Full rows: insert new keys, update existing ones only when the staged position is
  // newer (a stale event changes nothing).
  std::string upsert = "INSERT INTO " + table + " AS t (" + column_list(meter_columns()) +
                       ")\nSELECT " + staged_values + "\nFROM " + stage + " AS s WHERE s." +
                       quote("ChangeKind") + " = 'U'\nON CONFLICT (" + quote("SourceSystem") +
                       ", " + quote("SourceMeterId") + ") DO UPDATE SET\n" + assignments +
                       "\nWHERE t." + position + " COLLATE \"C\" < EXCLUDED." + position +
                       " COLLATE \"C\"";
  // Key-only deletes flag the stored row; an unknown key gets nothing.
  std::string flag = "UPDATE " + table + " AS t SET " + quote("IsDeleted") + " = TRUE, " +
                     quote("SourceCommittedAt") + " = s." + quote("SourceCommittedAt") + ", " +
                     position + " = s." + position + ", " + quote("SyncedAt") + " = " +
                     std::string(kNow) + "\nFROM " + stage + " AS s\nWHERE t." +
                     quote("SourceSystem") + " = s." + quote("SourceSystem") + " AND t." +
                     quote("SourceMeterId") + " = s." + quote("SourceMeterId") + " AND s." +
                     quote("ChangeKind") + " = 'K' AND t." + position + " COLLATE \"C\" < s." +
                     position + " COLLATE \"C\"";
  return {upsert, flag};
}

std::string PostgresDialect::stage_truncated_sql() const {
  const std::string position = quote("SourcePosition");
  return "UPDATE " + std::string(kStage) + " AS s SET " + quote("IsDeleted") + " = TRUE\nFROM " +
         truncates_table() + " AS w\nWHERE w." + quote("SourceSystem") + " = s." +
         quote("SourceSystem") + " AND s." + quote("ChangeKind") + " = 'U' AND s." + position +
         " COLLATE \"C\" < w." + position + " COLLATE \"C\"";
}

std::string PostgresDialect::truncate_watermark_sql() const {
  const std::string position = quote("SourcePosition");
  const std::string committed = quote("SourceCommittedAt");
  return "INSERT INTO " + truncates_table() + " AS w (" + column_list(truncates_columns()) +
         ")\nVALUES (?, ?, CAST(? AS TIMESTAMP(3)), " + std::string(kNow) + ")\nON CONFLICT (" +
         quote("SourceSystem") + ") DO UPDATE SET " + position + " = EXCLUDED." + position + ", " +
         committed + " = EXCLUDED." + committed + ", " + quote("updated_at") + " = EXCLUDED." +
         quote("updated_at") + "\nWHERE w." + position + " COLLATE \"C\" < EXCLUDED." + position +
         " COLLATE \"C\"";
}

std::string PostgresDialect::truncate_sql() const {
  const std::string position = quote("SourcePosition");
  return "UPDATE " + meter_table() + " SET " + quote("IsDeleted") + " = TRUE, " + position +
         " = ?, " + quote("SourceCommittedAt") + " = CAST(? AS TIMESTAMP(3)), " +
         quote("SyncedAt") + " = " + std::string(kNow) + "\nWHERE " + quote("SourceSystem") +
         " = ? AND " + position + " COLLATE \"C\" < CAST(? AS VARCHAR(100)) COLLATE \"C\"";
}

std::string PostgresDialect::offsets_upsert_sql() const {
  return "INSERT INTO " + offsets_table() + " AS o (" + column_list(offsets_columns()) +
         ")\nVALUES (?, ?, CAST(? AS INTEGER), ?, ?, " + std::string(kNow) + ")\nON CONFLICT (" +
         quote("pipeline") + ", " + quote("topic") + ", " + quote("partition") +
         ") DO UPDATE SET " + quote("next_offset") + " = EXCLUDED." + quote("next_offset") + ", " +
         quote("records_applied") + " = o." + quote("records_applied") + " + EXCLUDED." +
         quote("records_applied") + ", " + quote("updated_at") + " = EXCLUDED." +
         quote("updated_at");
}

std::string PostgresDialect::alter_column_sql(std::string_view table, const Column& column) const {
  return "ALTER TABLE " + std::string(table) + " ALTER COLUMN " + quote(column.name) + " TYPE " +
         type_sql(column);
}

}  // namespace metersync::sink
