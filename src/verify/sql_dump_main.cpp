// Prints verify's Meter Master statements of every sink dialect as JSON lines
// {dialect, what, sql, params}, so tests/sql can parse the SQL Server ones as T-SQL.
#include <nlohmann/json.hpp>

#include <iostream>

#include "sink/dialect.hpp"
#include "verify/meter_master_sql.hpp"
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
}
