// The SQL text of one sink database family. A Dialect only writes SQL: it holds no
// connection, so the statements can be unit-tested and dumped for the T-SQL parser
// check (metersync_sink_sql_dump). Parameter markers are always `?`; each method's
// comment gives the order of its parameters.
//
// Identifiers (schema, table names) come from configuration: they are checked against
// [A-Za-z_][A-Za-z0-9_]* when the Dialect is made and quoted in the dialect's way.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace metersync::sink {

// The types Meter Master and the stage use; each dialect spells them.
enum class ColumnType { Varchar, NVarchar, Date, Decimal, Timestamp, Bit, Int, BigInt, Char };

struct Column {
  std::string_view name;
  ColumnType type;
  int length = 0;     // Varchar / NVarchar / Char
  int precision = 0;  // Decimal
  int scale = 0;      // Decimal; Timestamp: fractional digits
  bool nullable = false;
};

// Meter Master's columns in table order (the spec's DDL), SyncedAt last.
std::span<const Column> meter_columns();
// The columns staged per change: Meter Master's without SyncedAt, then ChangeKind
// ('U' full row, 'K' key-only delete). Sixteen, so 131 rows fit SQL Server's 2,100
// parameters per statement.
std::span<const Column> stage_columns();
// The columns of a row in a stage document (stage_document.hpp): stage_columns()
// without ChangeKind (full rows and key-only deletes travel in separate documents).
std::span<const Column> document_columns();
// The offsets table: pipeline, topic, partition, next_offset, records_applied, updated_at.
std::span<const Column> offsets_columns();
// The truncates table, one row per source system: SourceSystem, SourcePosition and
// SourceCommittedAt of its latest truncate, updated_at.
std::span<const Column> truncates_columns();

// How one dialect spells one ColumnType: the DDL name, what follows it, and what
// INFORMATION_SCHEMA.COLUMNS.DATA_TYPE reports for such a column.
struct TypeSpelling {
  enum class Suffix {
    None,            // DATE
    Length,          // VARCHAR(64): Column::length
    PrecisionScale,  // DECIMAL(18,3): Column::precision, Column::scale
    Scale,           // DATETIME2(6): Column::scale (fractional digits)
  };
  std::string_view ddl;
  Suffix suffix = Suffix::None;
  std::string_view information_schema;
};
// One spelling per ColumnType, in the enum's order.
inline constexpr std::size_t kColumnTypes = 9;
using TypeSpellings = std::array<TypeSpelling, kColumnTypes>;
static_assert(static_cast<std::size_t>(ColumnType::Char) + 1 == kColumnTypes,
              "a new ColumnType needs a spelling in every dialect's types()");

// Identifiers as configured, validated by Dialect::create.
struct TableNames {
  std::string schema;  // may be empty: the connection's default schema/database
  std::string table = "MeterMaster";
  std::string offsets_table = "MeterSyncOffsets";
  std::string truncates_table = "MeterSyncTruncates";
};

// Throws metersync::ConfigError naming the key when `name` is not a plain identifier.
void validate_identifier(std::string_view key, std::string_view name, bool allow_empty = false);

class Dialect;

// Rows straight from one JSON document (stage_document.hpp) bound as one parameter.
class DocumentStatements {
 public:
  virtual ~DocumentStatements() = default;
  // Param: one document of full rows. One statement: each row older than its source's
  // latest truncate gets IsDeleted = 1 (values kept), new keys are inserted, existing
  // keys updated only when the row's position is newer.
  virtual std::string upsert_document_sql() const = 0;
  // Param: one document of key-only deletes. Flags the stored rows older than the
  // delete; an unknown key gets nothing. Runs after the segment's full rows.
  virtual std::string flag_document_sql() const = 0;
};

// What a staged segment holds, for the statements that apply it.
struct StagedRows {
  std::size_t full = 0;      // full rows
  std::size_t inserted = 0;  // of them, rows the source inserted (StagedChange::inserted)
  std::size_t key_only = 0;  // key-only deletes
};

// Rows through a stage table, then set-based statements; the statements of a
// transaction are pieces of one request (statement_batch.hpp), so each piece's
// variables have names of their own.
class StageStatements {
 public:
  virtual ~StageStatements() = default;
  // Before each staged segment: create (or empty) the stage.
  virtual std::vector<std::string> prepare_stage() const = 0;
  // A multi-row INSERT into the stage; params: stage_columns() per row, row by row.
  virtual std::string stage_insert(std::size_t rows) const = 0;
  // The most rows one stage_insert() may carry (the server's parameter limit).
  virtual std::size_t max_stage_rows() const = 0;
  // The segment's rows as bound JSON documents (stage_document.hpp), all read into the
  // stage by one statement: `full_documents` of full rows, then `key_only_documents` of
  // key-only deletes. Params: the documents, in that order.
  virtual std::string stage_json_sql(std::size_t full_documents,
                                     std::size_t key_only_documents) const = 0;
  // After the stage is filled, before apply_stage() (no params): a staged full row older
  // than its source's latest truncate gets IsDeleted = 1, values kept. A truncate event
  // has no Kafka key, so it may be read before changes committed ahead of it at the
  // source that sit on other partitions; they must not come back live.
  virtual std::string stage_truncated_sql() const = 0;
  // Set-based statements applying the staged segment (no params): full rows with the
  // stale-position guard, new keys, key-only deletes; only those `staged` has rows for.
  virtual std::vector<std::string> apply_stage(const StagedRows& staged) const = 0;
  // The writer lock as a piece of the request: raises an error (Transient) when not
  // granted instead of returning a status; `index` names its variable. Param: resource.
  virtual std::string lock_or_raise_sql(std::size_t index) const = 0;
};

// `connection` (sink.connection) with the dialect's driver_defaults() appended where it
// does not name the keyword itself (compared case-insensitively, as drivers do).
std::string with_driver_defaults(std::string connection, const Dialect& dialect);

class Dialect {
 public:
  static std::unique_ptr<Dialect> create(config::Dialect dialect, TableNames names);
  virtual ~Dialect() = default;

  virtual config::Dialect id() const = 0;
  virtual std::string_view name() const = 0;  // "sqlserver", "postgres", "mariadb"
  const TableNames& names() const { return names_; }

  // Quoted identifier and schema-qualified names.
  virtual std::string quote(std::string_view identifier) const = 0;
  std::string meter_table() const;
  std::string offsets_table() const;
  std::string truncates_table() const;
  // The type as this dialect writes it in DDL ("DATETIME2(6)", "TIMESTAMP(6)", ...).
  std::string type_sql(const Column& column) const;

  // Driver keywords the sink appends to sink.connection when it does not set them
  // itself (case-insensitive), as "Key=value" pairs.
  virtual std::vector<std::pair<std::string, std::string>> driver_defaults() const { return {}; }
  // Run once after connecting.
  virtual std::vector<std::string> session_setup() const = 0;
  // True: the sink sends begin/commit/rollback statements with autocommit on (SQL
  // Server's explicit transaction). False: ODBC autocommit off and SQLEndTran.
  virtual bool explicit_transactions() const = 0;
  virtual std::string begin_sql() const { return {}; }
  virtual std::string commit_sql() const { return {}; }
  virtual std::string rollback_sql() const { return {}; }

  // Guarded DDL: creates what is missing, leaves what exists alone.
  virtual std::vector<std::string> create_tables() const = 0;
  // Columns of one table; params: schema, table (compared case-insensitively).
  // Result: COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION,
  // NUMERIC_SCALE, DATETIME_PRECISION.
  std::string columns_query() const;
  // The schema name to look up in INFORMATION_SCHEMA when sink.schema is empty.
  virtual std::string default_schema_sql() const = 0;
  // What INFORMATION_SCHEMA.COLUMNS.DATA_TYPE says for a column of this type.
  std::string information_schema_type(ColumnType type) const;
  // The statement that gives an existing column this column's type (for error messages).
  virtual std::string alter_column_sql(std::string_view table, const Column& column) const = 0;

  // Per transaction, first. Writers of the same keys serialize on this (params: one
  // resource name; result: one row, the lock status, negative when not granted). Row
  // locks alone would make each statement safe but not the transaction: during a
  // consumer-group hand-over two writers of one source could interleave a truncate with
  // an open batch (docs/sink.md, "Writers of one source").
  virtual std::string lock_sql() const = 0;
  // After the transaction ended (commit or rollback), when the lock outlives it (MariaDB's
  // GET_LOCK belongs to the session): releases every lock lock_sql() took. Empty when the
  // transaction's end releases them.
  virtual std::string unlock_sql() const { return {}; }
  // How a segment of folded rows reaches the table: exactly one of the two strategies
  // below is non-null. PostgreSQL and MariaDB read the rows straight from one bound JSON
  // document (DocumentStatements); SQL Server fills a stage table and applies it
  // set-based, the whole transaction in one request (StageStatements).
  virtual const DocumentStatements* documents() const { return nullptr; }
  virtual const StageStatements* stage() const { return nullptr; }

  // A source truncate; params: position, committed_at, source_system, position.
  virtual std::string truncate_sql() const = 0;
  // Raises the source's truncate watermark, never lowers it; in the truncate's
  // transaction. Params: source_system, position, committed_at.
  virtual std::string truncate_watermark_sql() const = 0;
  // The offsets of `partitions` partitions in one statement (SQL Server: one piece of the
  // transaction's batch). Params per partition, partition by partition: pipeline, topic,
  // partition, next_offset, records_delta.
  virtual std::string offsets_upsert_all_sql(std::size_t partitions) const = 0;
  // Params: pipeline, topic. Result: partition, next_offset.
  std::string offsets_select_sql() const;
  // Params: pipeline. Result: one row, the sum of records_applied (0 when none).
  std::string records_applied_sql() const;
  // Whether a text column is bound as UTF-16 (NVARCHAR on SQL Server) or as narrow text.
  virtual bool bind_wide(const Column& column) const = 0;

 protected:
  explicit Dialect(TableNames names) : names_(std::move(names)) {}
  // This dialect's spelling of every ColumnType (type_sql, information_schema_type).
  virtual const TypeSpellings& types() const = 0;
  std::string qualified(std::string_view table) const;
  // Column list "a, b, c" quoted, optionally prefixed by an alias ("s.a, s.b").
  std::string column_list(std::span<const Column> columns, std::string_view alias = {}) const;

 private:
  TableNames names_;
};

}  // namespace metersync::sink
