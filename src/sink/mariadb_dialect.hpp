// MariaDB (MariaDB Connector/ODBC). Tables are utf8mb4 with a binary collation, so
// keys compare exactly as on PostgreSQL; upserts use INSERT ... SELECT ... ON DUPLICATE
// KEY UPDATE with an IF() guard per column; writers of one source serialize on GET_LOCK,
// released after each transaction (it belongs to the session, not the transaction).
#pragma once

#include "sink/dialect.hpp"

namespace metersync::sink {

class MariaDbDialect final : public Dialect, public DocumentStatements {
 public:
  explicit MariaDbDialect(TableNames names) : Dialect(std::move(names)) {}

  config::Dialect id() const override { return config::Dialect::MariaDb; }
  std::string_view name() const override { return "mariadb"; }
  std::string quote(std::string_view identifier) const override;

  std::vector<std::string> session_setup() const override;
  bool explicit_transactions() const override { return false; }
  std::string lock_sql() const override;
  std::string unlock_sql() const override;

  std::vector<std::string> create_tables() const override;
  std::string default_schema_sql() const override { return "SELECT DATABASE()"; }
  std::string alter_column_sql(std::string_view table, const Column& column) const override;

  const DocumentStatements* documents() const override { return this; }
  std::string upsert_document_sql() const override;
  std::string flag_document_sql() const override;
  std::string truncate_sql() const override;
  std::string truncate_watermark_sql() const override;
  std::string offsets_upsert_all_sql(std::size_t partitions) const override;
  bool bind_wide(const Column&) const override { return true; }

  static constexpr std::string_view kTableOptions =
      " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

 protected:
  const TypeSpellings& types() const override;

 private:
  std::string column_definitions(std::span<const Column> columns) const;
  // The rows of the bound document as JSON_TABLE(?, ...) with document_columns()' names.
  std::string document_rows() const;
  // Byte-wise comparison whatever the column's collation.
  static std::string newer(std::string_view stored, std::string_view incoming);
};

}  // namespace metersync::sink
