// PostgreSQL (psqlODBC): Meter Master with the spec's mixed-case names as quoted
// identifiers ("MeterMaster"."SourceSystem"), so every dialect shares one set of names.
// Upserts use INSERT ... ON CONFLICT DO UPDATE ... WHERE <newer>, which is safe with
// concurrent writers without extra locking.
#pragma once

#include "sink/dialect.hpp"

namespace metersync::sink {

class PostgresDialect final : public Dialect {
 public:
  explicit PostgresDialect(TableNames names) : Dialect(std::move(names)) {}

  config::Dialect id() const override { return config::Dialect::Postgres; }
  std::string_view name() const override { return "postgres"; }
  std::string quote(std::string_view identifier) const override;
  std::string type_sql(const Column& column) const override;

  std::vector<std::string> session_setup() const override { return {}; }
  bool explicit_transactions() const override { return false; }

  std::vector<std::string> create_tables() const override;
  std::string default_schema_sql() const override { return "SELECT current_schema()"; }
  std::string information_schema_type(ColumnType type) const override;
  std::string alter_column_sql(std::string_view table, const Column& column) const override;

  std::vector<std::string> prepare_stage() const override;
  std::string stage_insert(std::size_t rows) const override;
  std::vector<std::string> apply_stage() const override;
  std::string stage_truncated_sql() const override;
  std::string truncate_sql() const override;
  std::string truncate_watermark_sql() const override;
  std::string offsets_upsert_sql() const override;
  bool bind_wide(const Column&) const override { return true; }

  static constexpr std::string_view kStage = "pg_temp.metersync_stage";
  // The database's current UTC time, as timestamp without time zone.
  static constexpr std::string_view kNow = "(clock_timestamp() AT TIME ZONE 'UTC')";

 protected:
  // psqlODBC sends text parameters as varchar; PostgreSQL has no implicit cast from
  // varchar to numeric/date/timestamp/boolean, so those are cast in the statement.
  std::string param_marker(const Column& column) const override;

 private:
  std::string column_definitions(std::span<const Column> columns, bool stage) const;
};

}  // namespace metersync::sink
