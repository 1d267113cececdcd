#include <gtest/gtest.h>

#include "check/report.hpp"
#include "check/source_prerequisites.hpp"

namespace metersync::check {
namespace {

Rows one(std::optional<std::string> value) { return Rows{{std::move(value)}}; }

// The problem `connector`'s check named `what` finds in `rows` ("" = none).
std::string judged(const std::string& connector, const std::string& what_prefix, const Rows& rows) {
  for (const Prerequisite& p : prerequisites({connector, "public", "meter"}))
    if (p.what.rfind(what_prefix, 0) == 0) return p.judge(rows);
  ADD_FAILURE() << connector << " has no check " << what_prefix;
  return "";
}

TEST(TableOfTopic, TheLastTwoPartsOfADebeziumTopic) {
  EXPECT_EQ(table_of_topic("postgres.public.meter"), std::make_pair(std::string("public"), std::string("meter")));
  EXPECT_EQ(table_of_topic("mssql.MeterDB.dbo.Meters"), std::make_pair(std::string("dbo"), std::string("Meters")));
  EXPECT_EQ(table_of_topic("meter"), std::nullopt);
  EXPECT_EQ(table_of_topic("a..b"), std::nullopt);
  EXPECT_EQ(table_of_topic("a.b."), std::nullopt);
}

TEST(Prerequisites, PostgresWantsLogicalDecodingAPublicationOfTheTableAndTheSlot) {
  EXPECT_EQ(judged("postgres", "wal_level", one("logical")), "");
  EXPECT_NE(judged("postgres", "wal_level", one("replica")).find("fix: ALTER SYSTEM SET wal_level = logical"),
            std::string::npos);
  EXPECT_EQ(judged("postgres", "replication right", one("1")), "");
  EXPECT_NE(judged("postgres", "replication right", one("0")).find("ALTER ROLE"), std::string::npos);
  EXPECT_NE(judged("postgres", "publication", Rows{}).find("CREATE PUBLICATION dbz_publication FOR TABLE public.meter"),
            std::string::npos);
  EXPECT_EQ(judged("postgres", "publication", Rows{{"0", "1"}}), "");
  EXPECT_EQ(judged("postgres", "publication", Rows{{"1", "0"}}), "") << "FOR ALL TABLES";
  EXPECT_NE(judged("postgres", "publication", Rows{{"0", "0"}}).find("ALTER PUBLICATION dbz_publication ADD TABLE"),
            std::string::npos);
  EXPECT_EQ(judged("postgres", "replication slot", one("1")), "");
  EXPECT_NE(judged("postgres", "replication slot", one("0")).find("no pgoutput slot debezium"), std::string::npos);
}

TEST(Prerequisites, MariaDbWantsRowFullBinlogsAndReplicationGrants) {
  EXPECT_EQ(judged("mariadb", "binlog_format", one("ROW")), "");
  EXPECT_NE(judged("mariadb", "binlog_format", one("STATEMENT")).find("binlog_format is STATEMENT, Debezium needs ROW"),
            std::string::npos);
  EXPECT_NE(judged("mysql", "binlog_row_image", one("MINIMAL")).find("needs FULL"), std::string::npos);
  EXPECT_NE(judged("mariadb", "log_bin", one("0")).find("log_bin is 0"), std::string::npos);
  EXPECT_EQ(judged("mariadb", "replication grants",
                   Rows{{"GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dbz`@`%`"}}),
            "");
  EXPECT_EQ(judged("mysql", "replication grants",
                   Rows{{"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `dbz`@`%`"}}),
            "");
  EXPECT_EQ(judged("mariadb", "replication grants", Rows{{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"}}), "");
  EXPECT_NE(judged("mariadb", "replication grants", Rows{{"GRANT SELECT ON `meterdb`.* TO `dbz`@`%`"}})
                .find("lacks REPLICATION SLAVE"),
            std::string::npos);
}

TEST(Prerequisites, SqlServerAndOracleSayTheFix) {
  EXPECT_EQ(judged("sqlserver", "database CDC", one("1")), "");
  EXPECT_NE(judged("sqlserver", "database CDC", one("0")).find("sys.sp_cdc_enable_db"), std::string::npos);
  EXPECT_NE(judged("sqlserver", "table CDC", one("0")).find("@source_schema = N'public', @source_name = N'meter'"),
            std::string::npos);
  EXPECT_NE(judged("sqlserver", "capture job", one("0")).find("sp_cdc_add_job"), std::string::npos);
  EXPECT_EQ(judged("oracle", "archive log mode", one("ARCHIVELOG")), "");
  EXPECT_NE(judged("oracle", "archive log mode", one("NOARCHIVELOG")).find("ALTER DATABASE ARCHIVELOG"),
            std::string::npos);
  EXPECT_EQ(judged("oracle", "minimal supplemental logging", one("IMPLICIT")), "");
  EXPECT_NE(judged("oracle", "table supplemental logging", one("0")).find("ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS"),
            std::string::npos);
  EXPECT_TRUE(prerequisites({"db2", "s", "t"}).empty());
}

TEST(Report, OneLinePerFindingAndASummary) {
  Report report;
  report.ok("kafka 127.0.0.1:9092", "1 broker(s) answer");
  EXPECT_FALSE(report.failed());
  report.fail("topic x", "does not exist; fix: check sources.x.topic");
  EXPECT_TRUE(report.failed());
  EXPECT_EQ(report.render(),
            "ok    kafka 127.0.0.1:9092: 1 broker(s) answer\n"
            "FAIL  topic x: does not exist; fix: check sources.x.topic\n"
            "1 of 2 checks failed\n");
}

TEST(Report, AFindingStaysOneLineExceptForItsIndentedList) {
  Report report;
  report.fail("sink (postgres)", "FATAL: password authentication failed\n; fix: check sink.connection");
  report.fail("sink table t", "does not have the columns:\n  column A is missing\n  column B is INT\n");
  EXPECT_EQ(report.findings()[0].detail, "FATAL: password authentication failed; fix: check sink.connection");
  EXPECT_EQ(report.findings()[1].detail, "does not have the columns:\n  column A is missing\n  column B is INT");
}

}  // namespace
}  // namespace metersync::check
