// PostgreSQL (psqlODBC): Meter Master with the spec's mixed-case names as quoted
// identifiers ("MeterMaster"."SourceSystem"), so every dialect shares one set of names.
// Upserts use INSERT ... ON CONFLICT DO UPDATE ... WHERE <newer>; writers of one source
// serialize on a transaction-scoped advisory lock (pg_advisory_xact_lock).
#pragma once

#include "sink/dialect.hpp"

namespace metersync::sink {

class PostgresDialect final : public Dialect, public DocumentStatements {
 public:
  explicit PostgresDialect(TableNames names) : Dialect(std::move(names)) {}

  config::Dialect id() const override { return config::Dialect::Postgres; }
  std::string_view name() const override { return "postgres"; }
  std::string quote(std::string_view identifier) const override;

  // psqlODBC's default rolls back only the failed statement, which it implements with a
  // SAVEPOINT sent before every statement of a transaction: one more round trip each.
  // The sink rolls the whole transaction back after any error anyway, so it asks for
  // transaction-level rollback (7.4-1) unless sink.connection chooses.
  std::vector<std::pair<std::string, std::string>> driver_defaults() const override {
    return {{"Protocol", "7.4-1"}};
  }
  // The writer lock waits 30 s at most, as SQL Server's sp_getapplock does; then the
  // batch is retried (55P03, Transient). It bounds row-lock waits the same way.
  std::vector<std::string> session_setup() const override { return {"SET lock_timeout = '30s'"}; }
  bool explicit_transactions() const override { return false; }
  std::string lock_sql() const override;

  std::vector<std::string> create_tables() const override;
  std::string default_schema_sql() const override { return "SELECT current_schema()"; }
  std::string alter_column_sql(std::string_view table, const Column& column) const override;

  const DocumentStatements* documents() const override { return this; }
  std::string upsert_document_sql() const override;
  std::string flag_document_sql() const override;
  std::string truncate_sql() const override;
  std::string truncate_watermark_sql() const override;
  std::string offsets_upsert_all_sql(std::size_t partitions) const override;
  bool bind_wide(const Column&) const override { return true; }

  // The database's current UTC time, as timestamp without time zone.
  static constexpr std::string_view kNow = "(clock_timestamp() AT TIME ZONE 'UTC')";

 protected:
  const TypeSpellings& types() const override;

 private:
  std::string column_definitions(std::span<const Column> columns) const;
  // The rows of the bound document as a derived table with document_columns()' names.
  std::string document_rows() const;
};

}  // namespace metersync::sink
