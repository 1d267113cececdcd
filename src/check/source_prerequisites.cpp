#include "check/source_prerequisites.hpp"

#include <algorithm>
#include <cctype>

namespace metersync::check {
namespace {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// The first cell of the first row, or "" when there is none.
std::string first(const Rows& rows) {
  if (rows.empty() || rows[0].empty()) return "";
  const auto& cell = rows[0][0];
  return cell ? *cell : "";
}

bool truthy(const std::string& value) {
  const std::string v = upper(value);
  return v == "1" || v == "T" || v == "TRUE" || v == "YES" || v == "ON";
}

std::vector<Prerequisite> postgres(const SourceTarget& t) {
  const std::string qualified = t.schema + "." + t.table;
  return {
      {"wal_level", "SELECT current_setting('wal_level')", {},
       [](const Rows& rows) -> std::string {
         const std::string level = first(rows);
         if (level == "logical") return "";
         return "wal_level is '" + level +
                "', logical decoding needs 'logical'; fix: ALTER SYSTEM SET wal_level = logical, "
                "then restart PostgreSQL";
       }},
      {"replication right", "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user",
       {},
       [](const Rows& rows) -> std::string {
         if (truthy(first(rows))) return "";
         return "the connector's user may not stream changes; fix: ALTER ROLE <user> REPLICATION";
       }},
      {"publication " + t.publication,
       "SELECT p.puballtables, (SELECT COUNT(*) FROM pg_publication_tables pt WHERE pt.pubname = "
       "p.pubname AND pt.schemaname = ? AND pt.tablename = ?) FROM pg_publication p WHERE "
       "p.pubname = ?",
       {t.schema, t.table, t.publication},
       [t, qualified](const Rows& rows) -> std::string {
         if (rows.empty())
           return "no publication " + t.publication + "; fix: CREATE PUBLICATION " + t.publication +
                  " FOR TABLE " + qualified +
                  " (or let the connector create it: publication.autocreate.mode)";
         const bool all = rows[0].size() > 0 && rows[0][0] && truthy(*rows[0][0]);
         const bool listed = rows[0].size() > 1 && rows[0][1] && *rows[0][1] != "0";
         if (all || listed) return "";
         return "publication " + t.publication + " does not publish " + qualified +
                "; fix: ALTER PUBLICATION " + t.publication + " ADD TABLE " + qualified;
       }},
      {"replication slot " + t.slot,
       "SELECT COUNT(*) FROM pg_replication_slots WHERE slot_name = ? AND plugin = 'pgoutput'",
       {t.slot},
       [t](const Rows& rows) -> std::string {
         if (first(rows) != "" && first(rows) != "0") return "";
         // The connector creates its slot on its first start; a connector that ran before
         // without one lost the changes made while it was gone.
         return "no pgoutput slot " + t.slot +
                "; fix: start the connector (it creates the slot); if it ran before, its slot was "
                "dropped and changes were missed: take a new snapshot (snapshot.mode)";
       }},
  };
}

std::vector<Prerequisite> mysql(const SourceTarget&) {
  auto variable = [](const std::string& name, const std::string& want, const std::string& fix) {
    return Prerequisite{name, "SELECT @@GLOBAL." + name, {},
                        [name, want, fix](const Rows& rows) -> std::string {
                          const std::string value = upper(first(rows));
                          if (value == want) return "";
                          return name + " is " + (value.empty() ? "unset" : value) + ", Debezium needs " +
                                 want + "; fix: " + fix;
                        }};
  };
  return {
      variable("log_bin", "1", "start the server with log_bin (binary logging on)"),
      variable("binlog_format", "ROW",
               "SET GLOBAL binlog_format = 'ROW' and binlog_format=ROW in the server's configuration"),
      variable("binlog_row_image", "FULL",
               "SET GLOBAL binlog_row_image = 'FULL' and the same in the server's configuration"),
      {"replication grants", "SHOW GRANTS", {},
       [](const Rows& rows) -> std::string {
         std::string grants;
         for (const auto& row : rows)
           if (!row.empty() && row[0]) grants += upper(*row[0]) + "\n";
         const bool all = grants.find("GRANT ALL PRIVILEGES ON *.*") != std::string::npos;
         const bool slave = all || grants.find("REPLICATION SLAVE") != std::string::npos ||
                            grants.find("REPLICATION REPLICA") != std::string::npos;
         // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR (it keeps the old name
         // as an alias when granting, and shows the new one).
         const bool client = all || grants.find("REPLICATION CLIENT") != std::string::npos ||
                             grants.find("BINLOG MONITOR") != std::string::npos;
         if (slave && client) return "";
         return "the connector's user lacks " +
                std::string(!slave ? "REPLICATION SLAVE" : "REPLICATION CLIENT (BINLOG MONITOR)") +
                "; fix: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO <user>";
       }},
  };
}

std::vector<Prerequisite> sqlserver(const SourceTarget& t) {
  return {
      {"database CDC", "SELECT is_cdc_enabled FROM sys.databases WHERE name = DB_NAME()", {},
       [](const Rows& rows) -> std::string {
         if (truthy(first(rows))) return "";
         return "CDC is not enabled on the database; fix: EXEC sys.sp_cdc_enable_db";
       }},
      {"table CDC " + t.schema + "." + t.table,
       "SELECT t.is_tracked_by_cdc FROM sys.tables AS t INNER JOIN sys.schemas AS s ON s.schema_id "
       "= t.schema_id WHERE s.name = ? AND t.name = ?",
       {t.schema, t.table},
       [t](const Rows& rows) -> std::string {
         if (rows.empty()) return "no table " + t.schema + "." + t.table + "; fix: check sources.<name>.topic";
         if (truthy(first(rows))) return "";
         return "CDC is not enabled on the table; fix: EXEC sys.sp_cdc_enable_table @source_schema = N'" +
                t.schema + "', @source_name = N'" + t.table + "', @role_name = NULL";
       }},
      {"capture job",
       "SELECT COUNT(*) FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID() AND job_type = N'capture'",
       {},
       [](const Rows& rows) -> std::string {
         if (first(rows) != "" && first(rows) != "0") return "";
         return "no CDC capture job; fix: EXEC sys.sp_cdc_add_job @job_type = N'capture', and keep "
                "SQL Server Agent running";
       }},
  };
}

std::vector<Prerequisite> oracle(const SourceTarget& t) {
  return {
      {"archive log mode", "SELECT log_mode FROM v$database", {},
       [](const Rows& rows) -> std::string {
         if (upper(first(rows)) == "ARCHIVELOG") return "";
         return "the database is in " + first(rows) +
                " mode; fix: SHUTDOWN IMMEDIATE; STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER "
                "DATABASE OPEN";
       }},
      {"minimal supplemental logging", "SELECT supplemental_log_data_min FROM v$database", {},
       [](const Rows& rows) -> std::string {
         const std::string v = upper(first(rows));
         if (v == "YES" || v == "IMPLICIT") return "";
         return "supplemental logging is off; fix: ALTER DATABASE ADD SUPPLEMENTAL LOG DATA";
       }},
      {"table supplemental logging " + t.schema + "." + t.table,
       "SELECT COUNT(*) FROM all_log_groups WHERE owner = ? AND table_name = ? AND log_group_type = "
       "'ALL COLUMN LOGGING'",
       {t.schema, t.table},
       [t](const Rows& rows) -> std::string {
         if (first(rows) != "" && first(rows) != "0") return "";
         return "the table's changes lack their columns; fix: ALTER TABLE " + t.schema + "." + t.table +
                " ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS";
       }},
  };
}

}  // namespace

std::optional<std::pair<std::string, std::string>> table_of_topic(const std::string& topic) {
  const size_t last = topic.rfind('.');
  if (last == std::string::npos || last == 0 || last + 1 == topic.size()) return std::nullopt;
  const size_t before = topic.rfind('.', last - 1);
  const size_t start = before == std::string::npos ? 0 : before + 1;
  if (start == last) return std::nullopt;
  return std::make_pair(topic.substr(start, last - start), topic.substr(last + 1));
}

std::vector<Prerequisite> prerequisites(const SourceTarget& target) {
  if (target.connector == "postgres") return postgres(target);
  if (target.connector == "mysql" || target.connector == "mariadb") return mysql(target);
  if (target.connector == "sqlserver") return sqlserver(target);
  if (target.connector == "oracle") return oracle(target);
  return {};
}

}  // namespace metersync::check
