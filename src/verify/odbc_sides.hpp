// The two sides of verifier.hpp over ODBC: the source table (read as the connector's user
// through sources.<name>.connection, SELECT only, one short statement per page) and Meter
// Master (through sink.connection, one aggregate statement, then the rows of the buckets
// that differ).
#pragma once

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
std::string source_page_sql(const std::string& connector, const std::vector<std::string>& table,
                            const std::string& key_column, size_t page_rows,
                            const std::optional<std::string>& after_cast);
// The rows whose key is one of `count` values, each `?` wrapped in `key_cast`.
std::string source_lookup_sql(const std::string& connector, const std::vector<std::string>& table,
                              const std::string& key_column, size_t count, const std::string& key_cast);
// What makes the driver's text of the key comparable with the key column again.
std::string key_cast(const std::string& connector, const sink::ResultColumn& key);

class OdbcSourceTable final : public SourceTable {
 public:
  // Connects; throws sink::SinkError when the source cannot be reached.
  OdbcSourceTable(const sink::OdbcEnvironment& environment, const config::SourceConfig& source,
                  std::vector<const config::TargetColumn*> columns, size_t page_rows = 10'000);
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
  Result<sink::DescribedRows> read(const std::string& sql, const std::vector<sink::SqlParam>& params);
  std::vector<SourceRow> map_rows(const sink::DescribedRows& page, size_t key_index) const;

  const config::SourceConfig& source_;
  std::vector<const config::TargetColumn*> columns_;
  mapping::SourceMapper mapper_;
  Connector connector_;
  std::vector<std::string> table_;
  std::string key_column_;
  size_t page_rows_;
  std::unique_ptr<sink::OdbcConnection> connection_;
  std::optional<std::string> last_key_;  // the driver's text of the last key read
  std::optional<std::string> cast_;      // how the next page's `?` is typed
  bool done_ = false;
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
