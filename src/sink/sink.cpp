#include "sink/sink.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>
#include <stdexcept>

#include "sink/batch_fold.hpp"
#include "sink/dialect.hpp"
#include "sink/odbc_connection.hpp"
#include "sink/odbc_environment.hpp"
#include "sink/stage_document.hpp"
#include "sink/stage_params.hpp"
#include "sink/sqlserver_dialect.hpp"
#include "sink/statement_batch.hpp"
#include "sink/table_check.hpp"

namespace metersync::sink {
namespace {

// A document is cut at about this size: MariaDB refuses a packet over max_allowed_packet
// (16 MiB by default), and each cut is just one more statement.
constexpr std::size_t kMaxDocumentBytes = 4 << 20;

// SQL Server's JSON stage cuts its documents much smaller: each is one more row of the stage
// statement's VALUES list, and on Babelfish 4.3 OPENJSON's cost per row grows with the
// document (its WITH columns are lists that each row takes its value off the front of, an
// O(n) move: babelfish_extensions, json_funcs.c). All documents in one statement, 5,000-row
// transactions of the bench's meters (about 220 bytes a row): 30,000–31,000 new keys/s in
// documents of 10 rows, 34,500–35,600/s of 50–70 rows (about 11–16 KB), 32,500–33,000/s of
// 250 rows; docs/sqlserver.md. On SQL Server itself the cut costs one more parameter per
// 16 KiB; whether it gains there was not measured.
constexpr std::size_t kMaxSqlServerDocumentBytes = 16 << 10;

// The documents one stage statement reads (its parameters): well under SQL Server's 2,100
// per request, next to the lock and offsets parameters. A 5,000-event batch of the bench's
// meters makes about 70; the largest sink.max_batch_bytes (1 GiB), 64 statements of them.
constexpr std::size_t kMaxDocumentsPerStatement = 1000;

SinkError fatal(const std::string& message) {
  return SinkError(SinkError::Kind::Fatal, "", message);
}

// SQL Server takes at most 2,100 parameters per request; a little room is left for the
// driver (FreeTDS sends none of its own, but other drivers may).
constexpr std::size_t kMaxBatchParams = 2000;

}  // namespace

struct Sink::Impl {
  config::SinkConfig config;
  std::unique_ptr<Dialect> dialect;
  OdbcEnvironment environment;
  std::unique_ptr<OdbcConnection> connection;  // null after a failure that broke it
  StageDocument document;                      // reused between segments
  SinkStage stage = SinkStage::Documents;      // decided on connecting
  std::string stage_reason;                    // why, for the log and the status
  // SQL Server's OPENJSON decodes JSON escapes; Babelfish 4.3's returns them as they are,
  // so there the rows whose text needs escapes are staged by bound parameters.
  bool json_decodes_escapes = true;

  explicit Impl(const config::SinkConfig& sink_config) : config(sink_config) {
    try {
      dialect = Dialect::create(config.dialect, {config.schema, config.table, config.offsets_table,
                                                 config.truncates_table});
    } catch (const ConfigError& error) {
      throw fatal(error.what());
    }
  }

  OdbcConnection& connected() {
    if (connection) return *connection;
    auto fresh = std::make_unique<OdbcConnection>(
        environment, with_driver_defaults(config.connection, *dialect), dialect->id());
    for (const std::string& statement : dialect->session_setup()) {
      fresh->execute(statement, {}, "setting up the session");
    }
    fresh->set_autocommit(dialect->explicit_transactions());
    connection = std::move(fresh);
    if (dialect->names().schema.empty()) resolve_schema();
    choose_stage();
    return *connection;
  }

  // PostgreSQL and MariaDB always apply documents. SQL Server: the JSON stage where the
  // server answers OPENJSON (SQL Server 2016+ at database compatibility level 130+; a
  // lower level makes OPENJSON an unknown name), else multi-row INSERTs;
  // sink.sqlserver_stage can force either. The facts are read on every connect: a
  // database's compatibility level can change while metersync runs.
  void choose_stage() {
    if (dialect->documents() != nullptr) {
      stage = SinkStage::Documents;
      stage_reason = "one JSON document per segment";
      return;
    }
    const auto facts = connection->query(SqlServerDialect::server_facts_sql(), {},
                                         "reading the server's version and compatibility level");
    std::string described = "server ";
    if (!facts.empty()) {
      const SqlRow& row = facts[0];
      std::string version = row[2].value_or("?");
      if (const auto eol = version.find_first_of("\r\n"); eol != std::string::npos)
        version.resize(eol);
      described += row[0].value_or("?") + ", database compatibility level " +
                   row[1].value_or("?") + " (" + version + ")";
    }
    if (config.sqlserver_stage == config::SqlServerStage::Rows) {
      stage = SinkStage::Rows;
      stage_reason = "multi-row INSERTs, as sink.sqlserver_stage says; " + described;
      return;
    }
    std::string refusal;
    std::optional<std::string> decoded;
    try {
      const auto probe = connection->query(SqlServerDialect::json_probe_sql(), {}, "probing OPENJSON");
      if (!probe.empty() && !probe[0].empty()) decoded = probe[0][0];
    } catch (const SinkError& error) {
      if (error.sqlstate().starts_with("08") || connection->dead()) throw;
      refusal = error.what();
    }
    if (refusal.empty()) {
      stage = SinkStage::Json;
      json_decodes_escapes = decoded == SqlServerDialect::kJsonProbeText;
      stage_reason = "JSON documents of at most " + std::to_string(kMaxSqlServerDocumentBytes >> 10) +
                     " KiB (OPENJSON answered" +
                     (config.sqlserver_stage == config::SqlServerStage::Json
                          ? ", sink.sqlserver_stage json" : "; sink.sqlserver_stage auto") +
                     (json_decodes_escapes
                          ? "); "
                          : "; it returns JSON escapes undecoded, so rows whose text needs one "
                            "are staged by bound parameters); ") +
                     described;
      return;
    }
    if (config.sqlserver_stage == config::SqlServerStage::Json) {
      throw fatal(
          "sink: sink.sqlserver_stage is json but the server does not answer OPENJSON (it needs "
          "SQL Server 2016 or later and database compatibility level 130 or more; " +
          described +
          "). Fix: ALTER DATABASE <db> SET COMPATIBILITY_LEVEL = 130 (or higher), or set "
          "sink.sqlserver_stage: rows. The probe said: " +
          refusal);
    }
    stage = SinkStage::Rows;
    stage_reason = "multi-row INSERTs (OPENJSON unavailable: needs SQL Server 2016+ and database "
                   "compatibility level 130+; " +
                   described + ")";
  }

  // With sink.schema empty the tables live in the connection's default schema; name it
  // explicitly so every statement and the INFORMATION_SCHEMA check agree.
  void resolve_schema() {
    const auto rows =
        connection->query(dialect->default_schema_sql(), {}, "reading the default schema");
    finish_read();
    const std::optional<std::string> schema = rows.empty() ? std::nullopt : rows[0][0];
    if (!schema || schema->empty()) {
      throw fatal(
          "sink: the connection has no default schema or database: set sink.schema, or name the "
          "database in sink.connection");
    }
    TableNames names = dialect->names();
    names.schema = *schema;
    try {
      dialect = Dialect::create(config.dialect, names);
    } catch (const ConfigError& error) {
      throw fatal(std::string(error.what()) +
                  " (the connection's default schema; set sink.schema)");
    }
  }

  // Ends the implicit transaction a read opened when autocommit is off.
  void finish_read() {
    if (!dialect->explicit_transactions()) connection->end_transaction(true);
  }

  void begin() {
    if (dialect->explicit_transactions())
      connection->execute(dialect->begin_sql(), {}, "beginning a transaction");
  }

  void commit() {
    if (dialect->explicit_transactions()) {
      connection->execute(dialect->commit_sql(), {}, "committing the batch");
    } else {
      connection->end_transaction(true);
    }
    release_locks();
  }

  // MariaDB's writer locks outlive the transaction: released once it has ended. A failure
  // here drops the connection, which releases them too; the batch itself is committed, so
  // it is not reported (the next call reconnects). The statement reads no table, so the
  // implicit transaction it opens holds no snapshot and needs no COMMIT of its own (one
  // round trip fewer per batch): the next batch's statements continue it.
  void release_locks() noexcept {
    const std::string unlock = dialect->unlock_sql();
    if (unlock.empty() || !connection) return;
    try {
      connection->execute(unlock, {}, "releasing the writer locks");
    } catch (...) {
      connection.reset();
    }
  }

  // After any failure: roll back, and drop a connection that is gone so the next call
  // reconnects (a pipeline retries Transient errors on the same Sink). Returns true when
  // the connection was lost. Never throws: the error that led here is the one to report.
  bool recover(std::string_view sqlstate) noexcept {
    if (!connection) return true;
    try {
      if (dialect->explicit_transactions()) {
        connection->execute(dialect->rollback_sql(), {}, "rolling back the batch");
      } else {
        connection->end_transaction(false);
      }
    } catch (...) {
      connection.reset();
      return true;
    }
    // Some drivers "roll back" a dead link without complaint; ask them.
    if (sqlstate.substr(0, 2) == "08" || connection->dead()) {
      connection.reset();
      return true;
    }
    release_locks();
    return !connection;
  }

  // Runs `work`, recovering the connection on any exception before it propagates. An
  // error met on a connection that turns out to be gone is Transient whatever its
  // SQLSTATE said: FreeTDS reports the first call after the link went as HY000 "Unknown
  // error" and only the next one as 08S01, and a server that ended the session mid-batch
  // may say anything. Retrying on a new connection is then the only sensible thing; an
  // error that is still there after reconnecting is classified afresh.
  template <typename Work>
  auto guarded(Work&& work) {
    try {
      return work();
    } catch (const SinkError& error) {
      if (recover(error.sqlstate()) && error.kind() != SinkError::Kind::Transient) {
        throw SinkError(SinkError::Kind::Transient,
                        error.sqlstate().empty() ? "08S01" : error.sqlstate(),
                        std::string(error.what()) +
                            " (the connection to the server was lost; retrying on a new one)",
                        error.native_error());
      }
      throw;
    } catch (...) {
      recover({});
      throw;
    }
  }

  // The table as `init` left it: present, with the columns metersync writes.
  void check_table(const std::string& table, std::span<const Column> expected) {
    const TableCheck found = check_columns(*connection, *dialect, table, expected);
    finish_read();
    const std::string qualified =
        dialect->quote(dialect->names().schema) + "." + dialect->quote(table);
    if (!found.exists) {
      throw fatal("sink: table " + qualified +
                  " not found after creating it: check that the login may "
                  "create tables in schema '" +
                  dialect->names().schema + "' (sink.schema)");
    }
    if (!found.problems.empty()) {
      throw fatal("sink: table " + qualified +
                  " does not have the columns metersync writes (or drop it and "
                  "run `metersync init` to create it):" +
                  found.problems);
    }
  }


  // Multi-row INSERTs into the stage, 131 rows each (SQL Server's parameter limit).
  void stage_by_params(const std::vector<const StagedChange*>& rows, StatementBatch& batch) {
    const StageStatements& staged = *dialect->stage();
    const std::size_t chunk = staged.max_stage_rows();
    for (std::size_t first = 0; first < rows.size(); first += chunk) {
      const std::size_t count = std::min(chunk, rows.size() - first);
      std::vector<SqlParam> params;
      params.reserve(count * stage_columns().size());
      for (std::size_t i = first; i < first + count; ++i)
        append_stage_params(*dialect, *rows[i], params);
      batch.add(staged.stage_insert(count), std::move(params));
    }
  }

  // The documents into the stage, one statement for up to kMaxDocumentsPerStatement of
  // them (full rows first), so that a statement stays under the parameter limit.
  void stage_documents(std::vector<SqlParam> full, std::vector<SqlParam> key_only,
                       StatementBatch& batch) {
    const StageStatements& staged = *dialect->stage();
    const auto statements =
        split_stage_documents(full.size(), key_only.size(), kMaxDocumentsPerStatement);
    std::vector<SqlParam> all = std::move(full);
    for (SqlParam& param : key_only) all.push_back(std::move(param));
    std::size_t next = 0;
    for (const StageStatementDocuments& statement : statements) {
      std::vector<SqlParam> params;
      params.reserve(statement.full + statement.key_only);
      for (std::size_t i = 0; i < statement.full + statement.key_only; ++i)
        params.push_back(std::move(all[next++]));
      batch.add(staged.stage_json_sql(statement.full, statement.key_only), std::move(params));
    }
  }

  // SQL Server: a segment through the stage table, its statements added to the
  // transaction's batch: the stage filled from JSON documents (one piece reads them all) or
  // by multi-row INSERTs of bound parameters (131 rows each, a request of their own
  // because of the parameter limit), then the set-based statements.
  void stage_segment(const std::vector<StagedChange>& rows, StatementBatch& batch) {
    const StageStatements& staged = *dialect->stage();
    for (const std::string& statement : staged.prepare_stage()) batch.add(statement);
    if (stage == SinkStage::Json) {
      std::vector<const StagedChange*> by_params;
      std::vector<SqlParam> documents[2];  // full rows, key-only deletes
      for (const bool key_only : {false, true}) {
        document.clear();
        for (const StagedChange& change : rows) {
          if (change.key_only != key_only) continue;
          if (!json_decodes_escapes && StageDocument::needs_escapes(change)) {
            by_params.push_back(&change);
            continue;
          }
          document.add(change);
          if (document.bytes() >= kMaxSqlServerDocumentBytes) {
            documents[key_only].push_back(SqlParam::national(document.finish()));
            document.clear();
          }
        }
        if (!document.empty()) documents[key_only].push_back(SqlParam::national(document.finish()));
      }
      document.clear();
      stage_documents(std::move(documents[0]), std::move(documents[1]), batch);
      stage_by_params(by_params, batch);
    } else {
      std::vector<const StagedChange*> all;
      all.reserve(rows.size());
      for (const StagedChange& change : rows) all.push_back(&change);
      stage_by_params(all, batch);
    }
    batch.add(staged.stage_truncated_sql());
    StagedRows contents;
    for (const StagedChange& change : rows) {
      if (change.key_only) {
        ++contents.key_only;
      } else {
        ++contents.full;
        if (change.inserted) ++contents.inserted;
      }
    }
    for (const std::string& statement : staged.apply_stage(contents)) batch.add(statement);
  }

  // PostgreSQL, MariaDB: the segment's full rows in one statement per document, then its
  // key-only deletes (which must see the full rows written before them).
  void apply_documents(const std::vector<StagedChange>& rows) {
    for (const bool key_only : {false, true}) {
      document.clear();
      for (const StagedChange& change : rows) {
        if (change.key_only != key_only) continue;
        document.add(change);
        if (document.bytes() >= kMaxDocumentBytes) send_document(key_only);
      }
      if (!document.empty()) send_document(key_only);
    }
  }

  void send_document(bool key_only) {
    std::vector<SqlParam> params;
    params.push_back(SqlParam::national(document.finish()));
    document.clear();
    if (key_only) {
      connection->execute(dialect->documents()->flag_document_sql(), params,
                          "flagging key-only deletes in " + dialect->meter_table());
    } else {
      connection->execute(dialect->documents()->upsert_document_sql(), params,
                          "applying rows to " + dialect->meter_table());
    }
  }

  // The watermark first: rows staged later in this transaction or in later batches
  // compare against it; then the rows already there.
  void truncate(const MeterRow& row) {
    const std::string committed = timestamp_sql_text(row.source_committed_at, 3);
    connection->execute(
        dialect->truncate_watermark_sql(),
        {SqlParam::ascii(row.source_system, 16), SqlParam::ascii(row.source_position.text, 100),
         SqlParam::ascii(committed, 27)},
        "recording a truncate of source " + row.source_system);
    connection->execute(
        dialect->truncate_sql(),
        {SqlParam::ascii(row.source_position.text, 100), SqlParam::ascii(committed, 27),
         SqlParam::ascii(row.source_system, 16), SqlParam::ascii(row.source_position.text, 100)},
        "applying a truncate of source " + row.source_system);
  }

  // One resource per source system (its keys) and one for the pipeline's offsets rows,
  // taken in sorted order so two writers never wait on each other in a cycle.
  std::set<std::string> lock_resources(const Batch& batch, const std::vector<BatchStep>& steps) {
    std::set<std::string> resources;
    resources.insert("metersync:" + dialect->offsets_table() + ":" + batch.pipeline);
    for (const BatchStep& step : steps) {
      if (step.truncate)
        resources.insert("metersync:" + dialect->meter_table() + ":" +
                         step.truncate->source_system);
      for (const StagedChange& change : step.rows) {
        resources.insert("metersync:" + dialect->meter_table() + ":" + change.row.source_system);
      }
    }
    std::set<std::string> cut;
    for (std::string resource : resources) {
      if (resource.size() > 255)
        resource.resize(255);  // sp_getapplock's limit (the others hash it); a clash only serializes more
      cut.insert(std::move(resource));
    }
    return cut;
  }

  void write_offsets(const Batch& batch, StatementBatch& out) {
    if (batch.next_offsets.empty()) return;
    std::vector<SqlParam> params;
    params.reserve(batch.next_offsets.size() * 5);
    bool first = true;
    for (const auto& [partition, next_offset] : batch.next_offsets) {
      // The batch's record count is credited to its lowest partition; sums per pipeline
      // and topic are exact. Every partition a batch lists holds records of it, so its next
      // offset is past the stored one, except when the batch is retried after a lost
      // COMMIT acknowledgement: then no row moves (offsets only move forward) and the
      // count is not credited twice.
      params.push_back(SqlParam::ascii(batch.pipeline, 200));
      params.push_back(SqlParam::ascii(batch.topic, 249));
      params.push_back(SqlParam::integer(partition));
      params.push_back(SqlParam::integer(next_offset));
      params.push_back(SqlParam::integer(first ? batch.record_count : 0));
      first = false;
    }
    out.add(dialect->offsets_upsert_all_sql(batch.next_offsets.size()), std::move(params));
  }

  // SQL Server: the transaction as few requests as possible. Without a truncate and
  // under the parameter limit that is ONE request: begin, writer locks, the segment's
  // stage and set-based statements, offsets, commit. A truncate is sent on its own
  // (its statements DECLARE variables of fixed names).
  void apply_batched(const Batch& batch, const std::vector<BatchStep>& steps) {
    const StageStatements& staged = *dialect->stage();
    StatementBatch out(
        [this](const std::string& sql, const std::vector<SqlParam>& params) {
          connection->execute(sql, params, "applying the batch to " + dialect->meter_table());
        },
        kMaxBatchParams);
    out.add(dialect->begin_sql());
    std::size_t index = 0;
    for (const std::string& resource : lock_resources(batch, steps)) {
      out.add(staged.lock_or_raise_sql(index++), {SqlParam::national(resource, 255)});
    }
    for (const BatchStep& step : steps) {
      if (step.truncate) {
        out.flush();
        truncate(*step.truncate);
      } else {
        stage_segment(step.rows, out);
      }
    }
    write_offsets(batch, out);
    out.add(dialect->commit_sql());
    out.flush();
  }

  void lock(const Batch& batch, const std::vector<BatchStep>& steps) {
    for (const std::string& resource : lock_resources(batch, steps)) lock(resource);
  }

  void lock(const std::string& resource) {
    const auto rows = connection->query(dialect->lock_sql(), {SqlParam::national(resource, 255)},
                                        "taking the writer lock");
    const auto status = rows.empty() ? std::nullopt : integer_cell(rows[0][0]);
    if (!status || *status < 0) {
      throw SinkError(SinkError::Kind::Transient, "HYT00",
                      "sink: the writer lock on '" + resource + "' was not granted (status " +
                          (status ? std::to_string(*status) : std::string("missing")) +
                          "): another writer holds it; the batch is retried");
    }
  }

  void write_offsets(const Batch& batch) {
    StatementBatch out(
        [this](const std::string& sql, const std::vector<SqlParam>& params) {
          connection->execute(sql, params, "advancing the offsets");
        },
        kMaxBatchParams);
    write_offsets(batch, out);
    out.flush();
  }
};

Sink::Sink(const config::SinkConfig& config) : impl_(std::make_unique<Impl>(config)) {
  impl_->connected();
}

Sink::~Sink() = default;

void Sink::init() {
  impl_->connected();
  impl_->guarded([&] {
    // Instances started together all run init: PostgreSQL's CREATE TABLE IF NOT EXISTS is
    // not safe against itself (the loser fails on pg_type's unique index), so the creators
    // take turns under the writer lock of the Meter Master table.
    impl_->begin();
    impl_->lock("metersync:init:" + impl_->dialect->meter_table());
    for (const std::string& statement : impl_->dialect->create_tables()) {
      impl_->connection->execute(statement, {}, "creating the sink tables");
    }
    impl_->commit();
    impl_->check_table(impl_->dialect->names().table, meter_columns());
    impl_->check_table(impl_->dialect->names().offsets_table, offsets_columns());
    impl_->check_table(impl_->dialect->names().truncates_table, truncates_columns());
  });
}

std::vector<TableReport> Sink::verify() {
  impl_->connected();
  Impl& s = *impl_;
  const Dialect& d = *s.dialect;
  const std::vector<std::string> creates = d.create_tables();
  const std::array<std::pair<std::string, std::span<const Column>>, 3> tables{{
      {d.names().table, meter_columns()},
      {d.names().offsets_table, offsets_columns()},
      {d.names().truncates_table, truncates_columns()},
  }};
  auto roll_back = [&] {
    if (d.explicit_transactions()) {
      s.connection->execute(d.rollback_sql(), {}, "rolling back the check");
    } else {
      s.connection->end_transaction(false);
    }
  };
  std::vector<TableReport> reports;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto& [name, columns] = tables[i];
    TableReport report{d.quote(d.names().schema) + "." + d.quote(name), true, ""};
    const TableCheck found = s.guarded([&] {
      TableCheck c = check_columns(*s.connection, d, name, columns);
      s.finish_read();
      return c;
    });
    if (!found.exists) {
      if (config::Dialect::MariaDb == s.config.dialect) {
        report.detail = "missing; `metersync init` creates it (the right to create it is not "
                        "checked: MariaDB commits DDL at once)";
      } else {
        try {
          s.begin();
          s.connection->execute(creates.at(i), {}, "creating it in a transaction rolled back");
          roll_back();
          report.detail = "missing; creatable (`metersync init` creates it)";
        } catch (const SinkError& error) {
          s.recover(error.sqlstate());
          report.ok = false;
          report.detail = std::string("missing, and this login cannot create it: ") + error.what() +
                          "; fix: create it as docs/sink.md shows, or grant CREATE on schema " +
                          d.quote(d.names().schema);
        }
      }
      reports.push_back(std::move(report));
      continue;
    }
    if (!found.problems.empty()) {
      report.ok = false;
      report.detail = "does not have the columns metersync writes:" + found.problems;
      reports.push_back(std::move(report));
      continue;
    }
    std::string list;
    for (const Column& column : columns) list += (list.empty() ? "" : ", ") + d.quote(column.name);
    const std::string first = d.quote(columns.back().name);
    try {
      s.begin();
      s.connection->execute("UPDATE " + report.table + " SET " + first + " = " + first + " WHERE 1 = 0",
                            {}, "checking the right to update it");
      s.connection->execute("INSERT INTO " + report.table + " (" + list + ") SELECT " + list +
                                " FROM " + report.table + " WHERE 1 = 0",
                            {}, "checking the right to insert into it");
      roll_back();
      report.detail = "present, columns as expected, writable";
    } catch (const SinkError& error) {
      s.recover(error.sqlstate());
      report.ok = false;
      report.detail = std::string("this login may not write it: ") + error.what() +
                      "; fix: GRANT SELECT, INSERT, UPDATE ON " + report.table + " TO <the login>";
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

Offsets Sink::load_offsets(const std::string& pipeline, const std::string& topic) {
  impl_->connected();
  const std::vector<SqlRow> rows = impl_->guarded([&] {
    auto result = impl_->connection->query(
        impl_->dialect->offsets_select_sql(),
        {SqlParam::ascii(pipeline, 200), SqlParam::ascii(topic, 249)}, "loading offsets");
    impl_->finish_read();
    return result;
  });
  Offsets offsets;
  for (const SqlRow& row : rows) {
    const auto partition = integer_cell(row[0]);
    const auto next = integer_cell(row[1]);
    if (!partition || !next)
      throw fatal("sink: unreadable row in " + impl_->dialect->offsets_table());
    offsets[static_cast<int32_t>(*partition)] = *next;
  }
  return offsets;
}

int64_t Sink::records_applied(const std::string& pipeline) {
  impl_->connected();
  const std::vector<SqlRow> rows = impl_->guarded([&] {
    auto result =
        impl_->connection->query(impl_->dialect->records_applied_sql(),
                                 {SqlParam::ascii(pipeline, 200)}, "reading records_applied");
    impl_->finish_read();
    return result;
  });
  const auto count = rows.empty() ? std::optional<int64_t>(0) : integer_cell(rows[0][0]);
  if (!count)
    throw fatal("sink: unreadable records_applied sum in " + impl_->dialect->offsets_table());
  return *count;
}

void Sink::apply(const Batch& batch) {
  if (batch.record_count > 0 && batch.next_offsets.empty()) {
    throw std::invalid_argument("sink: a batch covering records must carry the offsets after them");
  }
  if (batch.changes.empty() && batch.next_offsets.empty()) return;
  const std::vector<BatchStep> steps = fold_changes(batch.changes);
  impl_->connected();
  impl_->guarded([&] {
    if (impl_->stage != SinkStage::Documents) {
      impl_->apply_batched(batch, steps);
      return;
    }
    impl_->begin();
    impl_->lock(batch, steps);
    for (const BatchStep& step : steps) {
      if (step.truncate) {
        impl_->truncate(*step.truncate);
      } else {
        impl_->apply_documents(step.rows);
      }
    }
    impl_->write_offsets(batch);
    impl_->commit();
  });
}

Result<void> Sink::try_apply(const Batch& batch) {
  try {
    apply(batch);
    return {};
  } catch (const SinkError& e) {
    return std::unexpected(to_error(e));
  }
}

Error to_error(const SinkError& error) {
  ErrorKind kind = ErrorKind::Fatal;
  switch (error.kind()) {
    case SinkError::Kind::Transient: kind = ErrorKind::Transient; break;
    case SinkError::Kind::Data: kind = ErrorKind::Data; break;
    case SinkError::Kind::Fatal: kind = ErrorKind::Fatal; break;
  }
  return Error{kind, Stage::Sink, error.what(), error.sqlstate(), error.native_error(), 0};
}

std::string_view stage_name(SinkStage stage) {
  switch (stage) {
    case SinkStage::Documents:
      return "documents";
    case SinkStage::Json:
      return "json";
    case SinkStage::Rows:
      return "rows";
  }
  return "documents";
}

SinkStage Sink::stage() const { return impl_->stage; }
const std::string& Sink::stage_description() const { return impl_->stage_reason; }

}  // namespace metersync::sink
