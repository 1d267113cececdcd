#include "verify/odbc_sides.hpp"

#include <gtest/gtest.h>
#include <sql.h>
#include <sqlext.h>

#include "verify/verify_command.hpp"

namespace metersync::verify {
namespace {

TEST(SourceTable, FollowsDebeziumsTopicNaming) {
  EXPECT_EQ(source_table_of("postgres.public.meter"), (std::vector<std::string>{"public", "meter"}));
  EXPECT_EQ(source_table_of("mssql.MeterDB.dbo.Meters"),
            (std::vector<std::string>{"MeterDB", "dbo", "Meters"}));
  EXPECT_FALSE(source_table_of("meters"));
}

TEST(SourceTable, PagesInKeyOrderInEachFamily) {
  EXPECT_EQ(source_page_sql("postgres", {"public", "meter"}, "meter_id", 100, std::nullopt),
            "SELECT * FROM \"public\".\"meter\" ORDER BY \"meter_id\" LIMIT 100");
  EXPECT_EQ(source_page_sql("mariadb", {"meterdb", "meters"}, "id", 100, "CAST(? AS UNSIGNED)"),
            "SELECT * FROM `meterdb`.`meters` WHERE `id` > CAST(? AS UNSIGNED) ORDER BY `id` LIMIT 100");
  EXPECT_EQ(source_page_sql("sqlserver", {"MeterDB", "dbo", "Meters"}, "MeterID", 5, "?"),
            "SELECT TOP (5) * FROM [MeterDB].[dbo].[Meters] WHERE [MeterID] > ? ORDER BY [MeterID]");
  EXPECT_EQ(source_page_sql("oracle", {"METERS", "METER"}, "METER_NO", 5, std::nullopt),
            "SELECT * FROM \"METERS\".\"METER\" ORDER BY \"METER_NO\" FETCH FIRST 5 ROWS ONLY");
}

TEST(SourceTable, ReadsAKeyRangeBoundedAtBothEnds) {
  EXPECT_EQ(source_page_sql("postgres", {"public", "meter"}, "meter_id", 101, "CAST(? AS uuid)", "CAST(? AS uuid)"),
            "SELECT * FROM \"public\".\"meter\" WHERE \"meter_id\" > CAST(? AS uuid) AND \"meter_id\" <= "
            "CAST(? AS uuid) ORDER BY \"meter_id\" LIMIT 101");
  EXPECT_EQ(source_page_sql("sqlserver", {"MeterDB", "dbo", "Meters"}, "MeterID", 5, std::nullopt, "CAST(? AS BIGINT)"),
            "SELECT TOP (5) * FROM [MeterDB].[dbo].[Meters] WHERE [MeterID] <= CAST(? AS BIGINT) ORDER BY [MeterID]");
}

TEST(SourceTable, AsksForEveryNthKeyInEachFamily) {
  EXPECT_EQ(source_boundaries_sql("postgres", {"public", "meter"}, "meter_id", 100),
            "SELECT \"meter_id\" FROM (SELECT \"meter_id\", ROW_NUMBER() OVER (ORDER BY \"meter_id\") AS n FROM "
            "\"public\".\"meter\") AS b WHERE n % 100 = 0 ORDER BY \"meter_id\"");
  EXPECT_EQ(source_boundaries_sql("mariadb", {"meterdb", "meters"}, "id", 7),
            "SELECT `id` FROM (SELECT `id`, ROW_NUMBER() OVER (ORDER BY `id`) AS n FROM `meterdb`.`meters`) AS b "
            "WHERE n % 7 = 0 ORDER BY `id`");
  EXPECT_EQ(source_boundaries_sql("sqlserver", {"MeterDB", "dbo", "Meters"}, "MeterID", 7),
            "SELECT [MeterID] FROM (SELECT [MeterID], ROW_NUMBER() OVER (ORDER BY [MeterID]) AS n FROM "
            "[MeterDB].[dbo].[Meters]) AS b WHERE n % 7 = 0 ORDER BY [MeterID]");
  EXPECT_EQ(source_boundaries_sql("oracle", {"METERS", "METER"}, "METER_NO", 7),
            "SELECT \"METER_NO\" FROM (SELECT \"METER_NO\", ROW_NUMBER() OVER (ORDER BY \"METER_NO\") AS n FROM "
            "\"METERS\".\"METER\") b WHERE MOD(n, 7) = 0 ORDER BY \"METER_NO\"");
}

TEST(SourceTable, LooksRowsUpByKey) {
  EXPECT_EQ(source_lookup_sql("postgres", {"public", "meter"}, "meter_id", 2, "CAST(? AS uuid)"),
            "SELECT * FROM \"public\".\"meter\" WHERE \"meter_id\" IN (CAST(? AS uuid), CAST(? AS uuid))");
}

TEST(SourceTable, TheLastKeyIsComparedInTheKeysOwnType) {
  EXPECT_EQ(key_cast("postgres", {"meter_id", SQL_GUID, "uuid", false}), "CAST(? AS uuid)");
  EXPECT_EQ(key_cast("postgres", {"id", SQL_BIGINT, "int8", false}), "CAST(? AS int8)");
  EXPECT_EQ(key_cast("mariadb", {"id", SQL_BIGINT, "bigint unsigned", true}), "CAST(? AS UNSIGNED)");
  EXPECT_EQ(key_cast("sqlserver", {"MeterID", SQL_INTEGER, "int", false}), "CAST(? AS BIGINT)");
  EXPECT_EQ(key_cast("sqlserver", {"code", SQL_WVARCHAR, "nvarchar", false}), "?");
}

TEST(SourceTable, TheKeyColumnIsTheOneTheKeyRuleReads) {
  config::SourceConfig source;
  source.name = "postgres";
  source.mapping.columns.push_back({"SourceMeterId", "", {config::FromColumn{"meter_id"}, config::Text{config::Text::Form::Uuid}}});
  EXPECT_EQ(key_column_of(source), "meter_id");
  source.mapping.columns[0].steps = {config::Constant{std::string("x")}};
  EXPECT_THROW(key_column_of(source), ConfigError);
}

TEST(Report, TextHasOneSummaryLinePerSourceAndTheColumns) {
  SourceReport equal;
  equal.source = "postgres";
  equal.source_rows = 3;
  SourceReport different;
  different.source = "mysql";
  different.differences.push_back(
      {Difference::Kind::Differing, "7", {{"SerialNumber", std::string("A"), std::nullopt}}, "7"});
  SourceReport failed;
  failed.source = "mssql";
  failed.error = "cannot reach the source";
  const std::string text = render_text({equal, different, failed});
  EXPECT_NE(text.find("mysql differing 7\n    SerialNumber: source 'A' | Meter Master NULL"), std::string::npos) << text;
  EXPECT_NE(text.find("postgres: EQUAL: 3 source rows"), std::string::npos) << text;
  EXPECT_NE(text.find("mysql: DIFFERENT"), std::string::npos) << text;
  EXPECT_NE(text.find("mssql: NOT VERIFIED: cannot reach the source"), std::string::npos) << text;
  const std::string json = render_json({equal, different});
  EXPECT_NE(json.find("\"equal\": false"), std::string::npos) << json;
  EXPECT_NE(json.find("\"meter_master\": null"), std::string::npos) << json;
}

}  // namespace
}  // namespace metersync::verify
