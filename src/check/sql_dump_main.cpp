// Prints every source-prerequisite statement as JSON lines {connector, what, sql, params}, so
// tests/sql can parse the SQL Server statements as T-SQL and the Oracle ones as Oracle SQL.
#include <nlohmann/json.hpp>

#include <iostream>

#include "check/source_prerequisites.hpp"

int main() {
  using metersync::check::SourceTarget;
  for (const char* connector : {"postgres", "mariadb", "sqlserver", "oracle"}) {
    const SourceTarget target{connector, "dbo", "Meters"};
    for (const auto& p : metersync::check::prerequisites(target)) {
      std::cout << nlohmann::json{{"connector", connector}, {"what", p.what}, {"sql", p.sql},
                                  {"params", p.params.size()}}
                       .dump()
                << "\n";
    }
  }
}
