// A source database's CDC prerequisites, as Debezium's connector for it needs them: the SQL
// that reads each one and what the answer must be. Run by `metersync check` over the source's
// connection (ODBC) as the connector's user.
//
// PostgreSQL and MariaDB ran here against the stack's servers; the SQL Server and Oracle
// statements are checked by parsers only (tests/sql), never run against those servers.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace metersync::check {

using Cell = std::optional<std::string>;
using Rows = std::vector<std::vector<Cell>>;

// What the connector is configured with, as far as the checks need it.
struct SourceTarget {
  std::string connector;  // postgres | mysql | mariadb | sqlserver | oracle
  std::string schema;     // schema (PostgreSQL, SQL Server, Oracle) or database (MySQL, MariaDB)
  std::string table;
  std::string publication = "dbz_publication";  // PostgreSQL: Debezium's defaults unless the
  std::string slot = "debezium";                // connector's configuration says otherwise
};

// The source table a Debezium topic names: its last two dot-separated parts
// ("postgres.public.meter" -> public, meter; "mssql.MeterDB.dbo.Meters" -> dbo, Meters).
std::optional<std::pair<std::string, std::string>> table_of_topic(const std::string& topic);

struct Prerequisite {
  std::string what;                 // "wal_level", "publication dbz_publication", …
  std::string sql;                  // one statement, `?` for params
  std::vector<std::string> params;  // bound as text
  // Empty when the answer is right; else the problem and its fix.
  std::function<std::string(const Rows&)> judge;
};

std::vector<Prerequisite> prerequisites(const SourceTarget& target);

}  // namespace metersync::check
