// The Meter Master sink: one ODBC connection, one transaction per batch holding the
// rows and the Kafka offsets they cover, so a restart resumes exactly where the last
// committed batch ended (exactly once).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/meter_row.hpp"

namespace metersync::sink {

class SinkError : public std::runtime_error {
 public:
  enum class Kind {
    Transient,  // connection lost, timeout, deadlock, lock timeout: retry the batch
    Data,       // the server rejected a row (constraint, conversion): find it, dead-letter it
    Fatal,      // schema mismatch, permission, bad configuration: stop with this message
  };
  SinkError(Kind kind, std::string sqlstate, const std::string& message, long native_error = 0)
      : std::runtime_error(message),
        kind_(kind),
        sqlstate_(std::move(sqlstate)),
        native_error_(native_error) {}
  Kind kind() const { return kind_; }
  const std::string& sqlstate() const { return sqlstate_; }  // "" when not from the server
  long native_error() const { return native_error_; }        // the server's error number, 0 if none

 private:
  Kind kind_;
  std::string sqlstate_;
  long native_error_;
};

// The one error value (stage Sink) of a SinkError: Transient, Data and Fatal keep their
// kind, with the SQLSTATE and the server's error number.
Error to_error(const SinkError& error);

// Where a pipeline is in its topic: next offset to read, per partition.
using Offsets = std::map<int32_t, int64_t>;

struct Batch {
  std::string pipeline;  // consumer identity, e.g. "metersync-postgres"
  std::string topic;
  std::vector<MeterChange> changes;  // in Kafka order; several may touch one key
  Offsets next_offsets;              // per partition: offset after the last record covered
  int64_t record_count = 0;          // Kafka records covered (incl. dead-lettered, tombstones)
};

// How a batch's rows reach the database (docs/sink.md).
enum class SinkStage {
  Documents,  // PostgreSQL, MariaDB: one JSON document per segment, straight into the table
  Json,       // SQL Server: one JSON document per segment read by OPENJSON into the stage
  Rows,       // SQL Server: multi-row INSERTs of bound parameters into the stage
};

// "documents", "json", "rows": the status file's and the log's name of a stage.
std::string_view stage_name(SinkStage stage);

// What `metersync check` reports about one sink table.
struct TableReport {
  std::string table;   // schema-qualified, quoted as the dialect writes it
  bool ok = true;
  std::string detail;  // what was found; or the problem and its fix
};

class Sink {
 public:
  explicit Sink(const config::SinkConfig& config);  // connects; throws SinkError
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Creates Meter Master and the offsets table if missing, checks their columns.
  void init();
  // Checks the three tables without changing anything: each present with the columns
  // metersync writes, or, when missing, creatable (created in a transaction that is rolled
  // back, where DDL is transactional: PostgreSQL, SQL Server); and writable by this login (an
  // UPDATE and an INSERT of no row, rolled back).
  std::vector<TableReport> verify();
  // Offsets stored for (pipeline, topic); empty when it never committed.
  Offsets load_offsets(const std::string& pipeline, const std::string& topic);
  // Applies the batch and advances the offsets in one transaction. On throw nothing
  // of the batch is written.
  void apply(const Batch& batch);
  // The same, with a refusal as a value: a Data error (a row the server rejects) is what
  // the engine's bisection looks for, and a Transient one what it retries.
  Result<void> try_apply(const Batch& batch);
  // Kafka records applied by `pipeline` over its life (sum of records_applied over its
  // topics and partitions): the status page and the exactly-once tests read it.
  int64_t records_applied(const std::string& pipeline);

  // The stage path chosen on connecting, and a sentence saying why (server version and
  // compatibility level on SQL Server), for the log and the status.
  SinkStage stage() const;
  const std::string& stage_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace metersync::sink
