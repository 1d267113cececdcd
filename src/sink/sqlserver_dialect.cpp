#include "sink/sqlserver_dialect.hpp"

namespace metersync::sink {

std::string SqlServerDialect::quote(std::string_view identifier) const {
  return "[" + std::string(identifier) + "]";
}

const TypeSpellings& SqlServerDialect::types() const {
  // The spec's types.
  static constexpr TypeSpellings kTypes{{
      TypeSpelling{"VARCHAR", TypeSpelling::Suffix::Length, "varchar"},          // Varchar
      TypeSpelling{"NVARCHAR", TypeSpelling::Suffix::Length, "nvarchar"},        // NVarchar
      TypeSpelling{"DATE", TypeSpelling::Suffix::None, "date"},                  // Date
      TypeSpelling{"DECIMAL", TypeSpelling::Suffix::PrecisionScale, "decimal"},  // Decimal
      TypeSpelling{"DATETIME2", TypeSpelling::Suffix::Scale, "datetime2"},       // Timestamp
      TypeSpelling{"BIT", TypeSpelling::Suffix::None, "bit"},                    // Bit
      TypeSpelling{"INT", TypeSpelling::Suffix::None, "int"},                    // Int
      TypeSpelling{"BIGINT", TypeSpelling::Suffix::None, "bigint"},              // BigInt
      TypeSpelling{"CHAR", TypeSpelling::Suffix::Length, "char"},                // Char
  }};
  return kTypes;
}

std::vector<std::string> SqlServerDialect::session_setup() const {
  // XACT_ABORT: any runtime error dooms the whole transaction (no half-applied batch);
  // NOCOUNT: no row-count results between the statements of a batch.
  return {"SET XACT_ABORT ON;", "SET NOCOUNT ON;"};
}

// XACT_ABORT again at every transaction: the new-keys INSERT turns it off for itself alone
// (apply_stage), and an error the TRY cannot catch there (one found when the statement is
// compiled, such as a table dropped meanwhile) would leave the session without it.
std::string SqlServerDialect::begin_sql() const { return "SET XACT_ABORT ON;\nBEGIN TRANSACTION;"; }
std::string SqlServerDialect::commit_sql() const { return "COMMIT TRANSACTION;"; }
// After XACT_ABORT or a lock timeout the server has already rolled back; a bare
// ROLLBACK would then raise 3903.
std::string SqlServerDialect::rollback_sql() const {
  return "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;";
}

std::string SqlServerDialect::guarded_object_id(std::string_view table) const {
  // Identifiers are validated plain names, so they can sit inside the literal.
  std::string name =
      names().schema.empty() ? std::string(table) : names().schema + "." + std::string(table);
  return "IF OBJECT_ID(N'" + name + "', N'U') IS NULL\n";
}

std::vector<std::string> SqlServerDialect::create_tables() const {
  // The spec's DDL, with the configured schema and table names.
  std::string meter = guarded_object_id(names().table) + "CREATE TABLE " + meter_table() + " (\n";
  for (const Column& column : meter_columns()) {
    std::string line = "  " + std::string(column.name);
    line.resize(std::max<size_t>(line.size() + 1, 21), ' ');
    std::string type = type_sql(column);
    type.resize(std::max<size_t>(type.size() + 1, 15), ' ');
    line += type;
    line += column.nullable ? "NULL" : "NOT NULL";
    if (column.type == ColumnType::Bit) line += " DEFAULT 0";
    meter += line + ",\n";
  }
  meter += "  CONSTRAINT " + quote("PK_" + names().table) +
           " PRIMARY KEY (SourceSystem, SourceMeterId)\n);";

  std::string offsets =
      guarded_object_id(names().offsets_table) + "CREATE TABLE " + offsets_table() + " (\n";
  for (const Column& column : offsets_columns()) {
    offsets += "  " + quote(column.name) + " " + type_sql(column) + " NOT NULL";
    if (column.name == "records_applied") offsets += " DEFAULT 0";
    offsets += ",\n";
  }
  offsets += "  CONSTRAINT " + quote("PK_" + names().offsets_table) + " PRIMARY KEY (" +
             quote("pipeline") + ", " + quote("topic") + ", " + quote("partition") + ")\n);";

  std::string truncates =
      guarded_object_id(names().truncates_table) + "CREATE TABLE " + truncates_table() + " (\n";
  for (const Column& column : truncates_columns()) {
    truncates += "  " + quote(column.name) + " " + type_sql(column) + " NOT NULL,\n";
  }
  truncates += "  CONSTRAINT " + quote("PK_" + names().truncates_table) + " PRIMARY KEY (" +
               quote("SourceSystem") + ")\n);";
  return {meter, offsets, truncates};
}

std::string SqlServerDialect::default_schema_sql() const { return "SELECT SCHEMA_NAME();"; }

std::string SqlServerDialect::lock_sql() const {
  // Two writers of the same keys (a consumer-group hand-over, a second process) would
  // otherwise both see a key missing and both INSERT it. The lock is owned by the
  // transaction, so COMMIT or ROLLBACK releases it. The status comes back as a row:
  // below 0 (timeout, cancel, deadlock) the sink raises a Transient error.
  return "DECLARE @metersync_lock INT;\n"
         "EXEC @metersync_lock = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', "
         "@LockOwner = 'Transaction', @LockTimeout = 30000;\n"
         "SELECT @metersync_lock AS lock_status;";
}

std::string SqlServerDialect::lock_or_raise_sql(std::size_t index) const {
  const std::string status = "@metersync_lock_" + std::to_string(index);
  return "DECLARE " + status + " INT;\nEXEC " + status +
         " = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', "
         "@LockOwner = 'Transaction', @LockTimeout = 30000;\nIF " +
         status + " < 0 THROW " + std::to_string(kLockNotGranted) +
         ", N'metersync: sp_getapplock was not granted within 30 s: another writer holds the "
         "lock; the batch is retried', 1;";
}

std::string SqlServerDialect::stage_json_sql(std::size_t full_documents,
                                             std::size_t key_only_documents) const {
  // Every value is read as text and converted by the INSERT into the stage's typed
  // column, exactly as a bound text parameter was: a value too long for its column, a
  // decimal out of range or a bad date is refused there (a Data error that bisection
  // pins on its row), never silently cut. NVARCHAR(4000) and not (MAX): LOB columns cost
  // more per row, and a value cut at 4,000 characters is still too long for any stage
  // column, so it is still refused. IsDeleted is a JSON number.
  //
  // All documents in one statement, each a row of a VALUES list with its ChangeKind:
  // Babelfish compiles a request's text on every execution and pays a cost per OPENJSON
  // call; one INSERT per document made a 5,000-row transaction about 35% slower there
  // (docs/sqlserver.md).
  std::string with;
  std::string select;
  std::size_t index = 0;
  for (const Column& column : document_columns()) {
    if (!with.empty()) {
      with += ",\n  ";
      select += ", ";
    }
    const std::string name = quote(column.name);
    const std::string type = column.type == ColumnType::Bit ? "BIT" : "NVARCHAR(4000)";
    with += name + " " + type + " '$[" + std::to_string(index++) + "]'";
    select += "j." + name;
  }
  std::string values;
  values.reserve((full_documents + key_only_documents) * 11);
  for (std::size_t i = 0; i < full_documents + key_only_documents; ++i) {
    if (i > 0) values += ", ";
    values += i < full_documents ? "(?, 'U')" : "(?, 'K')";
  }
  return "INSERT INTO " + std::string(kStage) + " (" + column_list(stage_columns()) +
         ")\nSELECT " + select + ", d.[kind]\nFROM (VALUES " + values +
         ") AS d([document], [kind])\nCROSS APPLY OPENJSON(d.[document]) WITH (\n  " + with +
         "\n) AS j;";
}

std::string_view SqlServerDialect::json_probe_sql() {
  // The JSON text ["a\"b\\c\u0041\n"] holds each kind of escape the stage document uses.
  // The stage's own shape: a document from a VALUES row through CROSS APPLY.
  return "SELECT j.v FROM (VALUES (N'[[\"a\\\"b\\\\c\\u0041\\n\"]]')) AS d([document]) CROSS APPLY "
         "OPENJSON(d.[document]) WITH (v NVARCHAR(20) '$[0]') AS j;";
}

std::string_view SqlServerDialect::server_facts_sql() {
  return "SELECT CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128)) AS product_version, "
         "(SELECT compatibility_level FROM sys.databases WHERE name = DB_NAME()) AS "
         "compatibility_level, @@VERSION AS version;";
}

std::vector<std::string> SqlServerDialect::prepare_stage() const {
  std::string create = "CREATE TABLE " + std::string(kStage) + " (\n";
  for (const Column& column : stage_columns()) {
    create += "  " + quote(column.name) + " " + type_sql(column);
    if (column.type == ColumnType::Varchar || column.type == ColumnType::NVarchar ||
        column.type == ColumnType::Char) {
      create += " COLLATE DATABASE_DEFAULT";
    }
    create += column.nullable ? " NULL,\n" : " NOT NULL,\n";
  }
  // The meter id leads the key: a segment holds one source's rows, so a key led by
  // SourceSystem compares two equal values (a collation-aware compare each) before reaching
  // the one that differs, on every step of every insert into the index.
  create += "  PRIMARY KEY (" + quote("SourceMeterId") + ", " + quote("SourceSystem") + ", " +
            quote("ChangeKind") + ")\n);";
  return {"DROP TABLE IF EXISTS " + std::string(kStage) + ";", create};
}

std::size_t SqlServerDialect::max_stage_rows() const {
  return 2100 / stage_columns().size();
}

std::string SqlServerDialect::stage_insert(std::size_t rows) const {
  std::string row = "(";
  for (std::size_t i = 0; i < stage_columns().size(); ++i) row += i == 0 ? "?" : ", ?";
  row += ")";
  std::string values;
  values.reserve(rows * (row.size() + 2));
  for (std::size_t i = 0; i < rows; ++i) {
    if (i > 0) values += ",\n";
    values += row;
  }
  return "INSERT INTO " + std::string(kStage) + " (" + column_list(stage_columns()) + ") VALUES\n" +
         values + ";";
}

std::string SqlServerDialect::newer(std::string_view stored, std::string_view incoming) {
  return std::string(stored) + " COLLATE Latin1_General_BIN2 < " + std::string(incoming) +
         " COLLATE Latin1_General_BIN2";
}

std::vector<std::string> SqlServerDialect::apply_stage(const StagedRows& staged) const {
  const std::string table = meter_table();
  const std::string stage(kStage);
  const std::string join =
      " AS t\nINNER JOIN " + stage +
      " AS s ON t.[SourceSystem] = s.[SourceSystem] AND t.[SourceMeterId] = s.[SourceMeterId]\n";

  // Keys that exist: take the staged full row where it is newer.
  std::string update = "UPDATE t SET\n";
  for (const Column& column : meter_columns()) {
    if (column.name == "SourceSystem" || column.name == "SourceMeterId") continue;
    const std::string name = quote(column.name);
    update += "  " + name + " = " + (column.name == "SyncedAt" ? "SYSUTCDATETIME()" : "s." + name);
    update += column.name == "SyncedAt" ? "\n" : ",\n";
  }
  update += "FROM " + table + join + "WHERE s.[ChangeKind] = 'U' AND " +
            newer("t.[SourcePosition]", "s.[SourcePosition]") + ";";

  // Keys that do not exist yet.
  std::string staged_values;
  for (const Column& column : meter_columns()) {
    if (!staged_values.empty()) staged_values += ", ";
    staged_values += column.name == "SyncedAt" ? "SYSUTCDATETIME()" : "s." + quote(column.name);
  }
  const std::string insert_all = "INSERT INTO " + table + " (" + column_list(meter_columns()) +
                                 ")\nSELECT " + staged_values + "\nFROM " + stage +
                                 " AS s\nWHERE s.[ChangeKind] = 'U'";
  const std::string insert = insert_all + " AND NOT EXISTS (SELECT 1 FROM " + table +
                             " AS t WHERE t.[SourceSystem] = s.[SourceSystem] AND t.[SourceMeterId] "
                             "= s.[SourceMeterId]);";

  // The second of the two is skipped when the first wrote every staged full row: each
  // probes the table's key once per staged row, which on Babelfish is 10-20% of a
  // 5,000-row transaction even when it writes nothing (docs/sqlserver.md). A source's
  // steady state is updates of known meters (UPDATE first, the INSERT skipped). Both are
  // one piece so nothing can come between the first and @@ROWCOUNT.
  const std::string all_written =
      "IF @@ROWCOUNT < (SELECT COUNT(*) FROM " + stage + " WHERE [ChangeKind] = 'U')\nBEGIN\n";
  const bool new_keys_first = 2 * staged.inserted > staged.full;
  std::string upsert = update + "\n" + all_written + insert + "\nEND;";
  if (new_keys_first) {
    // A snapshot or a burst of creates is new keys: every staged full row is INSERTed as it
    // is, the table's primary key the only probe (the NOT EXISTS probe and the INSERT's own
    // would be two; on Babelfish the first is 15-18% of such a transaction). A key that is
    // stored already (a re-created meter, a batch replayed after a crash) fails that INSERT
    // with a duplicate key, 2627 (2601 from a unique index): with XACT_ABORT off for it
    // alone, the failure undoes that statement only, and the CATCH writes the segment
    // the general way, the INSERT of missing keys first (then the UPDATE unless it wrote
    // every row: the rows it wrote hold the staged position, which the guard leaves alone).
    // Any other error is thrown on as raised, XACT_ABORT on again, so it ends the
    // transaction and reaches the sink like any other (a Data error is bisected as usual).
    upsert = "SET XACT_ABORT OFF;\nBEGIN TRY\n" + insert_all + ";\nSET XACT_ABORT ON;\nEND TRY\n" +
             "BEGIN CATCH\nSET XACT_ABORT ON;\nIF ERROR_NUMBER() NOT IN (2601, 2627) BEGIN THROW; END;\n" +
             insert + "\n" + all_written + update + "\nEND;\nEND CATCH;";
  }

  // Key-only deletes flag the stored row and keep its values; an unknown key gets
  // nothing (there are no values to insert).
  const std::string flag =
      "UPDATE t SET\n  [IsDeleted] = 1,\n  [SourceCommittedAt] = s.[SourceCommittedAt],\n"
      "  [SourcePosition] = s.[SourcePosition],\n  [SyncedAt] = SYSUTCDATETIME()\nFROM " +
      table + join + "WHERE s.[ChangeKind] = 'K' AND " +
      newer("t.[SourcePosition]", "s.[SourcePosition]") + ";";
  std::vector<std::string> statements;
  if (staged.full > 0) statements.push_back(upsert);
  if (staged.key_only > 0) statements.push_back(flag);
  return statements;
}

std::string SqlServerDialect::stage_truncated_sql() const {
  return "UPDATE s SET [IsDeleted] = 1\nFROM " + std::string(kStage) + " AS s\nINNER JOIN " +
         truncates_table() +
         " AS w ON w.[SourceSystem] = s.[SourceSystem]\nWHERE s.[ChangeKind] = 'U' AND " +
         newer("s.[SourcePosition]", "w.[SourcePosition]") + ";";
}

std::string SqlServerDialect::truncate_watermark_sql() const {
  // The UPDATE; IF NOT EXISTS INSERT pair (no MERGE) is safe because the row of a source
  // is only written under that source's applock, taken at the start of the transaction.
  const std::string table = truncates_table();
  return "DECLARE @system VARCHAR(16) = ?, @position VARCHAR(100) = ?, @committed DATETIME2(3) = "
         "?;\n"
         "UPDATE " +
         table +
         " SET [SourcePosition] = @position, [SourceCommittedAt] = @committed, [updated_at] = "
         "SYSUTCDATETIME()\n"
         "WHERE [SourceSystem] = @system AND " +
         newer("[SourcePosition]", "@position") +
         ";\n"
         "IF NOT EXISTS (SELECT 1 FROM " +
         table +
         " WHERE [SourceSystem] = @system)\n"
         "  INSERT INTO " +
         table +
         " ([SourceSystem], [SourcePosition], [SourceCommittedAt], [updated_at])\n"
         "  VALUES (@system, @position, @committed, SYSUTCDATETIME());";
}

std::string SqlServerDialect::truncate_sql() const {
  return "UPDATE " + meter_table() +
         " SET [IsDeleted] = 1, [SourcePosition] = ?, [SourceCommittedAt] = ?, [SyncedAt] = "
         "SYSUTCDATETIME()\n"
         "WHERE [SourceSystem] = ? AND " +
         newer("[SourcePosition]", "?") + ";";
}

std::string SqlServerDialect::offsets_upsert_all_sql(std::size_t partitions) const {
  // A table variable, not DECLAREd scalars: the statement is one piece of the
  // transaction's batch, whose variables share one scope. The rows are only ever written
  // under the pipeline's applock, so UPDATE then INSERT of the missing is safe. Offsets only
  // move forward: a batch retried after its COMMIT's acknowledgement was lost is a no-op
  // here (its rows are by the position guard), so records_applied is not counted twice.
  const std::string table = offsets_table();
  std::string rows;
  for (std::size_t i = 0; i < partitions; ++i) {
    if (i > 0) rows += ", ";
    rows += "(?, ?, ?, ?, ?)";
  }
  const std::string match =
      "o.[pipeline] = v.[pipeline] AND o.[topic] = v.[topic] AND o.[partition] = v.[partition]";
  return "DECLARE @metersync_offsets TABLE ([pipeline] VARCHAR(200) NOT NULL, [topic] "
         "VARCHAR(249) NOT NULL, [partition] INT NOT NULL, [next_offset] BIGINT NOT NULL, "
         "[records] BIGINT NOT NULL);\n"
         "INSERT INTO @metersync_offsets ([pipeline], [topic], [partition], [next_offset], "
         "[records]) VALUES " +
         rows +
         ";\n"
         "UPDATE o SET [next_offset] = v.[next_offset], [records_applied] = o.[records_applied] "
         "+ v.[records], [updated_at] = SYSUTCDATETIME()\nFROM " +
         table + " AS o\nINNER JOIN @metersync_offsets AS v ON " + match +
         " AND o.[next_offset] < v.[next_offset];\n"
         "INSERT INTO " +
         table +
         " ([pipeline], [topic], [partition], [next_offset], [records_applied], [updated_at])\n"
         "SELECT v.[pipeline], v.[topic], v.[partition], v.[next_offset], v.[records], "
         "SYSUTCDATETIME()\nFROM @metersync_offsets AS v\nWHERE NOT EXISTS (SELECT 1 FROM " +
         table + " AS o WHERE " + match + ");";
}

bool SqlServerDialect::bind_wide(const Column& column) const {
  // VARCHAR columns get narrow parameters: an NVARCHAR parameter compared with a
  // VARCHAR key would convert the column and lose the index seek.
  return column.type == ColumnType::NVarchar;
}

std::string SqlServerDialect::alter_column_sql(std::string_view table, const Column& column) const {
  return "ALTER TABLE " + std::string(table) + " ALTER COLUMN " + quote(column.name) + " " +
         type_sql(column) + (column.nullable ? " NULL" : " NOT NULL");
}

}  // namespace metersync::sink
