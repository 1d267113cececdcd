// SQL Server, the authoritative sink. Only T-SQL that also runs on Babelfish
// (notes in docs/sink.md): no MERGE, no CREATE OR ALTER, no SERIALIZABLE, no lock
// hints; DDL guarded by OBJECT_ID; writers of one source serialize on sp_getapplock.
#pragma once

#include "sink/dialect.hpp"

namespace metersync::sink {

class SqlServerDialect final : public Dialect, public StageStatements {
 public:
  explicit SqlServerDialect(TableNames names) : Dialect(std::move(names)) {}

  config::Dialect id() const override { return config::Dialect::SqlServer; }
  std::string_view name() const override { return "sqlserver"; }
  std::string quote(std::string_view identifier) const override;

  std::vector<std::string> session_setup() const override;
  bool explicit_transactions() const override { return true; }
  std::string begin_sql() const override;
  std::string commit_sql() const override;
  std::string rollback_sql() const override;

  std::vector<std::string> create_tables() const override;
  std::string default_schema_sql() const override;
  std::string alter_column_sql(std::string_view table, const Column& column) const override;

  std::string lock_sql() const override;
  const StageStatements* stage() const override { return this; }

  // StageStatements. The lock piece raises kLockNotGranted (Transient).
  std::string lock_or_raise_sql(std::size_t index) const override;
  std::vector<std::string> prepare_stage() const override;
  // 131 rows: 16 stage columns each, under SQL Server's 2,100 parameters per request.
  std::size_t max_stage_rows() const override;
  // The JSON stage (sink.sqlserver_stage json): OPENJSON reads the documents into the
  // stage, so the server parses one statement per segment instead of one per 131 rows.
  std::string stage_json_sql(std::size_t full_documents,
                             std::size_t key_only_documents) const override;
  // Answers when OPENJSON works on this server and database (SQL Server 2016+ at
  // compatibility level 130+); anything else is an error. The one value it returns is
  // kJsonProbeText when OPENJSON decodes JSON string escapes, as SQL Server does;
  // Babelfish 4.3 returns them undecoded (a\"b for a"b).
  static std::string_view json_probe_sql();
  static constexpr std::string_view kJsonProbeText = "a\"b\\cA\n";
  // One row: product version, the database's compatibility level, @@VERSION.
  static std::string_view server_facts_sql();
  // The offsets of `partitions` partitions: one table variable, one UPDATE, one INSERT
  // of the missing ones; Dialect::offsets_upsert_all_sql's params.
  std::string offsets_upsert_all_sql(std::size_t partitions) const override;
  std::string stage_insert(std::size_t rows) const override;
  // A segment of mostly inserted rows runs the INSERT of missing keys before the UPDATE.
  std::vector<std::string> apply_stage(const StagedRows& staged) const override;
  std::string stage_truncated_sql() const override;
  std::string truncate_sql() const override;
  std::string truncate_watermark_sql() const override;
  bool bind_wide(const Column& column) const override;

  // The stage: a session temp table, collated like the database so joins with
  // Meter Master never meet a tempdb collation conflict.
  static constexpr std::string_view kStage = "#MeterSyncStage";
  // The error number lock_or_raise_sql() raises (user errors start at 50000).
  static constexpr long kLockNotGranted = 51001;

 protected:
  const TypeSpellings& types() const override;

 private:
  // Byte-order comparison of positions whatever the database's collation.
  static std::string newer(std::string_view stored, std::string_view incoming);
  std::string guarded_object_id(std::string_view table) const;
};

}  // namespace metersync::sink
