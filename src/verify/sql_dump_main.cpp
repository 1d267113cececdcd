// Prints verify's Meter Master statements of every sink dialect, and its source-table statements
// for a source of each family, as JSON lines {dialect, what, sql, params}, so tests/sql can
// parse the SQL Server ones as T-SQL.
#include <nlohmann/json.hpp>

#include <iostream>

#include "sink/dialect.hpp"
#include "verify/meter_master_sql.hpp"
#include "verify/odbc_sides.hpp"
#include "verify/row_digest.hpp"

int main() {
  using namespace metersync;
  config::SourceConfig source;  // every mapped column compared: the widest statements
  for (const auto& target : config::target_columns())
    source.mapping.columns.push_back(config::ColumnRule{std::string(target.name), {}, {}});
  const auto columns = verify::compared_columns(source);
  for (const auto dialect : {config::Dialect::Postgres, config::Dialect::MariaDb, config::Dialect::SqlServer}) {
    const auto d = sink::Dialect::create(dialect, {"dbo", "MeterMaster", "MeterSyncOffsets", "MeterSyncTruncates"});
    const auto print = [&](const char* what, const std::string& sql) {
      std::cout << nlohmann::json{{"dialect", d->name()}, {"what", what}, {"sql", sql}, {"params", 1}}.dump()
                << "\n";
    };
    print("live rows", verify::live_rows_sql(*d));
    print("bucket digests", verify::bucket_digests_sql(*d, columns, 4096));
    print("bucket rows", verify::bucket_rows_sql(*d, columns, 4096, {1, 7, 4095}));
  }
  // The shipped sources' tables (config/metersync.yaml, ../shared/spec/sources.md).
  struct Source {
    const char* connector;
    std::vector<std::string> table;
    const char* key;
    const char* cast;
  };
  for (const Source& s : {Source{"postgres", {"public", "meter"}, "meter_id", "CAST(? AS uuid)"},
                          Source{"mariadb", {"meterdb", "meters"}, "id", "CAST(? AS UNSIGNED)"},
                          Source{"sqlserver", {"MeterDB", "dbo", "Meters"}, "MeterID", "CAST(? AS BIGINT)"}}) {
    const auto print = [&](const char* what, const std::string& sql, int params) {
      std::cout << nlohmann::json{{"dialect", s.connector}, {"what", what}, {"sql", sql}, {"params", params}}.dump()
                << "\n";
    };
    print("source boundaries", verify::source_boundaries_sql(s.connector, s.table, s.key, 10000), 0);
    print("source range", verify::source_page_sql(s.connector, s.table, s.key, 10001, s.cast, s.cast), 2);
    print("source lookup", verify::source_lookup_sql(s.connector, s.table, s.key, 3, s.cast), 3);
  }
}
