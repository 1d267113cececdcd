// The two sides of verifier.hpp over ODBC: the source table (read as the connector's user
// through sources.<name>.connection, SELECT only, one short statement per page) and Meter
// Master (through sink.connection, one aggregate statement, then the rows of the buckets
// that differ).
#pragma once

#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/change_event.hpp"
#include "mapping/source_mapper.hpp"
#include "sink/dialect.hpp"
#include "sink/odbc_connection.hpp"
#include "sink/odbc_environment.hpp"
#include "verify/verifier.hpp"

namespace metersync::verify {

// The source table a topic of Debezium's default naming carries:
// "postgres.public.meter" -> {"public", "meter"}, "mssql.MeterDB.dbo.Meters" ->
// {"MeterDB", "dbo", "Meters"}; nullopt when the topic has no dot.
std::optional<std::vector<std::string>> source_table_of(const std::string& topic);

// The source column the SourceMeterId rule reads (its `from`); throws ConfigError when the
// rule reads none or several, which a key-ordered read cannot follow.
std::string key_column_of(const config::SourceConfig& source);

// Page statements for a source database (the connector decides the SQL family). `after_cast`
// wraps the `?` of the last key read (empty: the first page).
// A page of the source table in key order: keys after `after_cast`'s value (from the table's
// start when unset) and up to `through_cast`'s (to its end when unset), at most page_rows rows.
std::string source_page_sql(const std::string& connector, const std::vector<std::string>& table,
                            const std::string& key_column, size_t page_rows,
                            const std::optional<std::string>& after_cast,
                            const std::optional<std::string>& through_cast = std::nullopt);
// Every page_rows-th key of the table in key order: the ends of the key ranges the source pass
// reads side by side.
std::string source_boundaries_sql(const std::string& connector, const std::vector<std::string>& table,
                                  const std::string& key_column, size_t page_rows);
std::string source_lookup_sql(const std::string& connector, const std::vector<std::string>& table,
                              const std::string& key_column, size_t count, const std::string& key_cast);
// What makes the driver's text of the key comparable with the key column again.
std::string key_cast(const std::string& connector, const sink::ResultColumn& key);

// The source table, read in key order. A pass first asks the source for every page_rows-th
// key, then reads and maps the key ranges between them on `readers` connections and threads at
// once, handing the pages out in key order: one connection alone is a serial chain (the server
// producing a page, the driver converting it, the mapping) that leaves the other core idle
// (docs/verify.md, "Measured").
class OdbcSourceTable final : public SourceTable {
 public:
  // Connects; throws sink::SinkError when the source cannot be reached.
  OdbcSourceTable(const sink::OdbcEnvironment& environment, const config::SourceConfig& source,
                  std::vector<const config::TargetColumn*> columns, size_t page_rows = 10'000,
                  size_t readers = 4);
  void restart() override;
  Result<std::vector<SourceRow>> next_page() override;
  Result<std::vector<SourceRow>> rows_with_keys(const std::vector<std::string>& source_keys) override;

  // One statement on the source connection, in autocommit (`--repair`: the log position,
  // the signal row).
  Result<std::vector<sink::SqlRow>> query(const std::string& sql, const std::vector<sink::SqlParam>& params = {});
  Result<void> execute(const std::string& sql, const std::vector<sink::SqlParam>& params);
  const std::vector<std::string>& table() const { return table_; }
  const std::string& key_column() const { return key_column_; }

 private:
  // Keys after `after` and up to `through`; unset: the table's start, its end.
  struct KeyRange {
    std::optional<std::string> after;
    std::optional<std::string> through;
  };
  std::unique_ptr<sink::OdbcConnection> connect(const sink::OdbcEnvironment& environment) const;
  Result<sink::DescribedRows> read(sink::OdbcConnection& connection, const std::string& sql,
                                   const std::vector<sink::SqlParam>& params);
  // The pass's key ranges, from the source's boundary keys.
  Result<void> plan();
  // One range whole, page by page (a range holds more than page_rows rows only when rows
  // were inserted into it after plan()).
  Result<sink::DescribedRows> read_range(sink::OdbcConnection& connection, const KeyRange& range);
  // A range read and mapped, on the reader's own thread; `key_cast` set from the key column's
  // type when the range had rows.
  struct MappedRange {
    std::vector<SourceRow> rows;
    std::optional<std::string> key_cast;
  };
  Result<MappedRange> read_and_map(sink::OdbcConnection& connection, const KeyRange& range);
  // Starts reading the next range not yet started, on the reader it belongs to.
  void start_next_range();
  // Waits for the ranges being read and forgets them: before the connections serve anything else.
  void drop_pending();
  std::optional<size_t> key_index_of(const sink::DescribedRows& page) const;
  std::vector<SourceRow> map_rows(const sink::DescribedRows& page, size_t key_index) const;

  const config::SourceConfig& source_;
  std::vector<const config::TargetColumn*> columns_;
  mapping::SourceMapper mapper_;
  Connector connector_;
  std::vector<std::string> table_;
  std::string key_column_;
  size_t page_rows_;
  std::vector<std::unique_ptr<sink::OdbcConnection>> readers_;  // [0] also serves lookups and repair
  std::optional<std::string> cast_;      // how a key's `?` is typed
  std::vector<KeyRange> ranges_;  // planned at a pass's first page
  bool planned_ = false;
  size_t next_range_ = 0;                // the next range to start reading
  // The ranges being read, in key order, range i on readers_[i % readers_.size()]. Declared
  // last: destroyed (waited for) before the connections they use.
  std::deque<std::future<Result<MappedRange>>> pending_;
};

class OdbcMeterMaster final : public MeterMasterRows {
 public:
  OdbcMeterMaster(const sink::OdbcEnvironment& environment, const config::SinkConfig& sink,
                  std::string source_system, std::vector<const config::TargetColumn*> columns);
  Result<int64_t> live_rows() override;
  Result<std::map<uint32_t, BucketDigest>> digests(uint32_t buckets) override;
  Result<std::vector<ComparedRow>> rows(uint32_t buckets, const std::vector<uint32_t>& which) override;

 private:
  std::unique_ptr<sink::Dialect> dialect_;
  std::unique_ptr<sink::OdbcConnection> connection_;
  std::string source_system_;
  std::vector<const config::TargetColumn*> columns_;
};

}  // namespace metersync::verify
