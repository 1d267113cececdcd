// SQL Server, the authoritative sink. Only T-SQL that also runs on Babelfish
// (notes in docs/sink.md): no MERGE, no CREATE OR ALTER, no SERIALIZABLE, no lock
// hints; DDL guarded by OBJECT_ID; writers of one source serialize on sp_getapplock.
#pragma once

#include "sink/dialect.hpp"

namespace metersync::sink {

class SqlServerDialect final : public Dialect {
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
  std::vector<std::string> prepare_stage() const override;
  std::string stage_insert(std::size_t rows) const override;
  std::vector<std::string> apply_stage() const override;
  std::string stage_truncated_sql() const override;
  std::string truncate_sql() const override;
  std::string truncate_watermark_sql() const override;
  std::string offsets_upsert_sql() const override;
  bool bind_wide(const Column& column) const override;

  // The stage: a session temp table, collated like the database so joins with
  // Meter Master never meet a tempdb collation conflict.
  static constexpr std::string_view kStage = "#MeterSyncStage";

 protected:
  const TypeSpellings& types() const override;

 private:
  // Byte-order comparison of positions whatever the database's collation.
  static std::string newer(std::string_view stored, std::string_view incoming);
  std::string guarded_object_id(std::string_view table) const;
};

}  // namespace metersync::sink
