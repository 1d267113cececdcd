// Every rule of the specification's mapping table, for every source, through the
// shipped config/metersync.yaml: events built by hand from core types.
#include <gtest/gtest.h>

#include "mapping_fixtures.hpp"

namespace metersync::mapping {
namespace {

using namespace testing;

// ---------------------------------------------------------------- postgres

Row postgres_row() {
  return Row{{
      {"meter_id", std::string("8F14E45F-CEEA-467F-A0E6-A3BD0BA1C1F4")},
      {"serial_number", std::string("PG-0001")},
      {"kind", std::string("water")},
      {"manufacturer", Null{}},
      {"active", true},
      {"removed_at", Null{}},
      {"installed_on", Date{17898}},
      {"multiplier", dec("1.0000")},
      {"last_reading", dec("123.45650")},
      {"last_reading_at", ts(k2026_11_24T19_43, 123456000)},
      {"location", Json{R"({"lat": 51.5014999, "lon": -0.1425})"}},
  }};
}

TEST(PostgresRules, MapsACompleteRow) {
  const SourceMapper mapper(shipped_source("postgres"));
  auto change = mapper.map(upsert(postgres_row()));
  ASSERT_TRUE(change) << change.error().reason;
  EXPECT_EQ(change->kind, MeterChange::Kind::Upsert);
  MeterRow expected;
  expected.source_system = "postgres";
  expected.source_meter_id = "8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4";  // lower-case canonical UUID
  expected.serial_number = "PG-0001";
  expected.meter_type = "water";
  expected.manufacturer = std::nullopt;
  expected.status = "active";
  expected.install_date = Date{17898};
  expected.multiplier = dec("1.0000");
  expected.last_reading_value = dec("123.457");  // rounded half away from zero to 3 places
  expected.last_reading_at = ts(k2026_11_24T19_43, 123456000);
  expected.latitude = dec("51.501500");  // location->>'lat' rounded to 6 places
  expected.longitude = dec("-0.142500");
  expected.is_deleted = false;
  expected.source_committed_at = ts(k2026_11_24T19_43, 123000000);
  expected.source_position = Position{"00000000/01A2B3C8"};
  EXPECT_EQ(change->row, expected);
}

TEST(PostgresRules, InsertsAndSnapshotReadsAreMarkedAsInserted) {
  // The mark only orders the SQL Server sink's statements; the row is the same.
  const SourceMapper mapper(shipped_source("postgres"));
  const auto created = mapper.map(event(Op::Create, std::nullopt, postgres_row()));
  const auto read = mapper.map(event(Op::Read, std::nullopt, postgres_row()));
  const auto updated = mapper.map(event(Op::Update, postgres_row(), postgres_row()));
  const auto deleted = mapper.map(event(Op::Delete, postgres_row(), std::nullopt));
  ASSERT_TRUE(created && read && updated && deleted);
  EXPECT_TRUE(created->inserted);
  EXPECT_TRUE(read->inserted);
  EXPECT_FALSE(updated->inserted);
  EXPECT_FALSE(deleted->inserted);
  EXPECT_EQ(created->row, updated->row);
}

TEST(PostgresRules, StatusIsRemovedThenActiveThenInactive) {
  const SourceMapper mapper(shipped_source("postgres"));
  auto status = [&](Value active, Value removed_at) {
    auto change =
        mapper.map(upsert(with(with(postgres_row(), "active", active), "removed_at", removed_at)));
    EXPECT_TRUE(change) << change.error().reason;
    return change ? change->row.status : "";
  };
  EXPECT_EQ(status(true, Null{}), "active");
  EXPECT_EQ(status(false, Null{}), "inactive");
  EXPECT_EQ(status(true, ts(k2026_11_24T19_43)), "removed");  // removed wins over active
  EXPECT_EQ(status(false, ts(k2026_11_24T19_43)), "removed");
}

TEST(PostgresRules, LocationFieldsAreNullWhenAbsent) {
  const SourceMapper mapper(shipped_source("postgres"));
  auto only_lat = mapper.map(upsert(with(postgres_row(), "location", Json{R"({"lat": 51.5})"})));
  ASSERT_TRUE(only_lat) << only_lat.error().reason;
  EXPECT_EQ(only_lat->row.latitude, dec("51.500000"));
  EXPECT_EQ(only_lat->row.longitude, std::nullopt);

  auto no_location = mapper.map(upsert(with(postgres_row(), "location", Null{})));
  ASSERT_TRUE(no_location);
  EXPECT_EQ(no_location->row.latitude, std::nullopt);
  EXPECT_EQ(no_location->row.longitude, std::nullopt);

  auto json_null =
      mapper.map(upsert(with(postgres_row(), "location", Json{R"({"lat": null, "lon": 1})"})));
  ASSERT_TRUE(json_null);
  EXPECT_EQ(json_null->row.latitude, std::nullopt);
  EXPECT_EQ(json_null->row.longitude, dec("1.000000"));
}

// location->>'lat' is text in PostgreSQL: a number written as a JSON string rounds too.
TEST(PostgresRules, LocationNumbersWrittenAsStringsRound) {
  const SourceMapper mapper(shipped_source("postgres"));
  auto mapped = mapper.map(
      upsert(with(postgres_row(), "location", Json{R"({"lat": "48.8584445", "lon": "2.2945"})"})));
  ASSERT_TRUE(mapped) << mapped.error().reason;
  EXPECT_EQ(mapped->row.latitude, dec("48.858445"));
  EXPECT_EQ(mapped->row.longitude, dec("2.294500"));

  auto not_a_number =
      mapper.map(upsert(with(postgres_row(), "location", Json{R"({"lat": "north"})"})));
  ASSERT_FALSE(not_a_number);
  EXPECT_EQ(not_a_number.error().reason, "Latitude: round takes a number, got text 'north'");

  // The one decimal grammar: text a DECIMAL column stores, round: reads too.
  auto scientific = mapper.map(
      upsert(with(postgres_row(), "location", Json{R"({"lat": "4.88584445e1", "lon": "22945e-4"})"})));
  ASSERT_TRUE(scientific) << scientific.error().reason;
  EXPECT_EQ(scientific->row.latitude, dec("48.858445"));
  EXPECT_EQ(scientific->row.longitude, dec("2.294500"));
}

TEST(PostgresRules, UnconstrainedNumericRoundsHalfAwayFromZero) {
  const SourceMapper mapper(shipped_source("postgres"));
  auto reading = [&](std::string_view text) {
    auto change = mapper.map(upsert(with(postgres_row(), "last_reading", dec(text))));
    EXPECT_TRUE(change) << change.error().reason;
    return change ? change->row.last_reading_value : std::nullopt;
  };
  EXPECT_EQ(reading("0.0005"), dec("0.001"));
  EXPECT_EQ(reading("-0.0005"), dec("-0.001"));
  EXPECT_EQ(reading("-0.0004"), dec("0.000"));
  EXPECT_EQ(reading("999.9995"), dec("1000.000"));
  EXPECT_EQ(reading("7"), dec("7.000"));
  EXPECT_EQ(reading("999999999999999.9994999"), dec("999999999999999.999"));
}

TEST(PostgresRules, DeletesAndTruncate) {
  const SourceMapper mapper(shipped_source("postgres"));
  // REPLICA IDENTITY FULL: the before image is complete, its values are kept.
  auto full =
      mapper.map(event(Op::Delete, postgres_row(), std::nullopt, "00000000/0000FFFF", 1000));
  ASSERT_TRUE(full) << full.error().reason;
  EXPECT_EQ(full->kind, MeterChange::Kind::Delete);
  EXPECT_TRUE(full->row.is_deleted);
  EXPECT_EQ(full->row.serial_number, "PG-0001");
  EXPECT_EQ(full->row.source_position.text, "00000000/0000FFFF");
  EXPECT_EQ(full->row.source_committed_at, ts(1, 0));

  // Only the key was logged.
  Row key_only{{{"meter_id", std::string("8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4")}}};
  auto thin = mapper.map(event(Op::Delete, key_only, std::nullopt));
  ASSERT_TRUE(thin) << thin.error().reason;
  EXPECT_EQ(thin->kind, MeterChange::Kind::DeleteKeyOnly);
  EXPECT_EQ(thin->row.source_system, "postgres");
  EXPECT_EQ(thin->row.source_meter_id, "8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4");
  EXPECT_EQ(thin->row.serial_number, "");

  // A delete whose key cannot be mapped is an error, not a guess.
  EXPECT_EQ(map_error(mapper,
                      event(Op::Delete, Row{{{"serial_number", std::string("x")}}}, std::nullopt)),
            "SourceMeterId: column meter_id is missing from the event");

  auto truncate =
      mapper.map(event(Op::Truncate, std::nullopt, std::nullopt, "00000000/00000010", -1));
  ASSERT_TRUE(truncate);
  EXPECT_EQ(truncate->kind, MeterChange::Kind::Truncate);
  EXPECT_EQ(truncate->row.source_system, "postgres");
  EXPECT_EQ(truncate->row.source_committed_at, ts(-1, 999000000));  // before 1970: floor

  for (Op op : {Op::Read, Op::Update}) {
    auto change = mapper.map(event(op, postgres_row(), postgres_row()));
    ASSERT_TRUE(change);
    EXPECT_EQ(change->kind, MeterChange::Kind::Upsert);
    EXPECT_FALSE(change->row.is_deleted);
  }
}

// ---------------------------------------------------------------- mysql

Row mysql_row() {
  return Row{{
      {"id", dec("18446744073709551615")},  // BIGINT UNSIGNED arrives as Decimal scale 0
      {"serial", std::string("MY-0001")},
      {"type", std::string("gas")},
      {"manufacturer", std::string("Itron")},
      {"status", std::string("inactive")},
      {"installed_at", ts(1614863655)},  // 2021-03-04T13:14:15
      {"multiplier", dec("2.5000")},
      {"last_reading", 2.0005},
      {"last_reading_at", ts(k2026_11_24T19_43, 5000)},
      {"latitude", 51.5014995},
      {"longitude", -0.1424995},
  }};
}

TEST(MysqlRules, MapsACompleteRow) {
  const SourceMapper mapper(shipped_source("mysql"));
  auto change = mapper.map(upsert(mysql_row()));
  ASSERT_TRUE(change) << change.error().reason;
  const MeterRow& row = change->row;
  EXPECT_EQ(row.source_system, "mysql");
  EXPECT_EQ(row.source_meter_id, "18446744073709551615");  // decimal text, unsigned 64-bit
  EXPECT_EQ(row.serial_number, "MY-0001");
  EXPECT_EQ(row.meter_type, "gas");
  EXPECT_EQ(row.manufacturer, std::optional<std::string>("Itron"));
  EXPECT_EQ(row.status, "inactive");
  EXPECT_EQ(row.install_date, Date{18690});  // date part of installed_at
  EXPECT_EQ(row.multiplier, dec("2.5000"));
  EXPECT_EQ(row.last_reading_value, dec("2.001"));  // the double 2.0005 as a person reads it
  EXPECT_EQ(row.last_reading_at, ts(k2026_11_24T19_43, 5000));
  EXPECT_EQ(row.latitude, dec("51.501500"));
  EXPECT_EQ(row.longitude, dec("-0.142500"));
}

TEST(MysqlRules, DoublesRoundOnTheirShortestDecimalText) {
  const SourceMapper mapper(shipped_source("mysql"));
  auto reading = [&](double value) {
    auto change = mapper.map(upsert(with(mysql_row(), "last_reading", value)));
    EXPECT_TRUE(change) << change.error().reason;
    return change ? change->row.last_reading_value : std::nullopt;
  };
  EXPECT_EQ(reading(1234.5675), dec("1234.568"));
  EXPECT_EQ(reading(-1234.5675), dec("-1234.568"));
  EXPECT_EQ(reading(0.1 + 0.2), dec("0.300"));  // 0.30000000000000004
  EXPECT_EQ(reading(1e-7), dec("0.000"));
  EXPECT_EQ(reading(12345678.0), dec("12345678.000"));
  EXPECT_EQ(reading(-0.0), dec("0.000"));
}

TEST(MysqlRules, EnumValuesOutsideTheListAreErrors) {
  const SourceMapper mapper(shipped_source("mysql"));
  EXPECT_EQ(map_error(mapper, upsert(with(mysql_row(), "type", std::string("steam")))),
            "MeterType: 'steam' is not one of electric, water, gas");
  EXPECT_EQ(map_error(mapper, upsert(with(mysql_row(), "status", std::string("")))),
            "Status: '' is not one of active, inactive, removed");
}

// ---------------------------------------------------------------- mssql

Row mssql_row() {
  return Row{{
      {"MeterID", int64_t{42}},
      {"SerialNo", std::string("SN-42   ")},
      {"MeterTypeCode", std::string("E")},
      {"Manufacturer", std::string("Landis+Gyr")},
      {"StatusCode", int64_t{1}},
      {"InstallDate", Date{18388}},
      {"Multiplier", dec("1.0000")},
      {"LastReadKwh", dec("98765.432")},
      {"LastReadAt", ts(k2026_11_24T19_43, 123456789)},  // DATETIME2(7): 100 ns steps
      {"Lat", dec("-33.868820")},
      {"Lon", dec("151.209296")},
  }};
}

TEST(MssqlRules, MapsACompleteRow) {
  const SourceMapper mapper(shipped_source("mssql"));
  auto change = mapper.map(upsert(mssql_row()));
  ASSERT_TRUE(change) << change.error().reason;
  const MeterRow& row = change->row;
  EXPECT_EQ(row.source_system, "mssql");
  EXPECT_EQ(row.source_meter_id, "42");
  EXPECT_EQ(row.serial_number, "SN-42");  // trailing spaces trimmed
  EXPECT_EQ(row.meter_type, "electric");
  EXPECT_EQ(row.manufacturer, std::optional<std::string>("Landis+Gyr"));
  EXPECT_EQ(row.status, "active");
  EXPECT_EQ(row.install_date, Date{18388});
  EXPECT_EQ(row.multiplier, dec("1.0000"));
  EXPECT_EQ(row.last_reading_value, dec("98765.432"));
  EXPECT_EQ(row.last_reading_at, ts(k2026_11_24T19_43, 123456000));  // truncated to microseconds
  EXPECT_EQ(row.latitude, dec("-33.868820"));
  EXPECT_EQ(row.longitude, dec("151.209296"));
}

TEST(MssqlRules, CodeTables) {
  const SourceMapper mapper(shipped_source("mssql"));
  const std::vector<std::pair<std::string, std::string>> types{
      {"E", "electric"}, {"W", "water"}, {"G", "gas"}};
  for (const auto& [code, type] : types) {
    auto change = mapper.map(upsert(with(mssql_row(), "MeterTypeCode", code)));
    ASSERT_TRUE(change);
    EXPECT_EQ(change->row.meter_type, type);
  }
  const std::vector<std::pair<int64_t, std::string>> statuses{
      {1, "active"}, {2, "inactive"}, {3, "removed"}};
  for (const auto& [code, status] : statuses) {
    auto change = mapper.map(upsert(with(mssql_row(), "StatusCode", code)));
    ASSERT_TRUE(change);
    EXPECT_EQ(change->row.status, status);
  }
  EXPECT_EQ(map_error(mapper, upsert(with(mssql_row(), "MeterTypeCode", std::string("X")))),
            "MeterType: unknown code 'X' (the map knows E, W, G)");
  EXPECT_EQ(map_error(mapper, upsert(with(mssql_row(), "MeterTypeCode", std::string("e")))),
            "MeterType: unknown code 'e' (the map knows E, W, G)");
  EXPECT_EQ(map_error(mapper, upsert(with(mssql_row(), "StatusCode", int64_t{4}))),
            "Status: unknown code '4' (the map knows 1, 2, 3)");
}

TEST(MssqlRules, TruncationNeverRoundsUp) {
  const SourceMapper mapper(shipped_source("mssql"));
  auto change = mapper.map(upsert(with(mssql_row(), "LastReadAt", ts(-1, 999999999))));
  ASSERT_TRUE(change);
  EXPECT_EQ(change->row.last_reading_at, ts(-1, 999999000));  // 1969-12-31T23:59:59.999999
  // Only trailing spaces go; leading ones stay.
  auto spaced = mapper.map(upsert(with(mssql_row(), "SerialNo", std::string("  A B  "))));
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->row.serial_number, "  A B");
}

// ---------------------------------------------------------------- oracle

Row oracle_row() {
  return Row{{
      {"METER_NO", int64_t{1001}},
      {"SERIAL_NO", std::string("OR-1001")},
      {"METER_KIND", std::string("ELEC")},
      {"MAKER", Null{}},
      {"STATUS_CD", std::string("R")},
      {"INSTALLED_ON", ts(1588786200)},  // Oracle DATE 2020-05-06 17:30:00: the time is ignored
      {"MULTIPLIER", dec("10.0000")},
      {"LAST_READ", Null{}},
      {"LAST_READ_TS", ts(k2026_11_24T19_43, 654321000)},
      {"GEO_LAT", dec("48.856613")},
      {"GEO_LON", dec("2.352222")},
  }};
}

TEST(OracleRules, MapsACompleteRow) {
  const SourceMapper mapper(shipped_source("oracle"));
  auto change = mapper.map(upsert(oracle_row()));
  ASSERT_TRUE(change) << change.error().reason;
  const MeterRow& row = change->row;
  EXPECT_EQ(row.source_system, "oracle");
  EXPECT_EQ(row.source_meter_id, "1001");
  EXPECT_EQ(row.serial_number, "OR-1001");
  EXPECT_EQ(row.meter_type, "electric");
  EXPECT_EQ(row.manufacturer, std::nullopt);
  EXPECT_EQ(row.status, "removed");
  EXPECT_EQ(row.install_date, Date{18388});
  EXPECT_EQ(row.multiplier, dec("10.0000"));
  EXPECT_EQ(row.last_reading_value, std::nullopt);
  EXPECT_EQ(row.last_reading_at, ts(k2026_11_24T19_43, 654321000));
  EXPECT_EQ(row.latitude, dec("48.856613"));
  EXPECT_EQ(row.longitude, dec("2.352222"));
}

TEST(OracleRules, CodeTablesAndDateParts) {
  const SourceMapper mapper(shipped_source("oracle"));
  const std::vector<std::pair<std::string, std::string>> kinds{
      {"ELEC", "electric"}, {"WATER", "water"}, {"GAS", "gas"}};
  for (const auto& [code, kind] : kinds) {
    auto change = mapper.map(upsert(with(oracle_row(), "METER_KIND", code)));
    ASSERT_TRUE(change);
    EXPECT_EQ(change->row.meter_type, kind);
  }
  const std::vector<std::pair<std::string, std::string>> statuses{
      {"A", "active"}, {"I", "inactive"}, {"R", "removed"}};
  for (const auto& [code, status] : statuses) {
    auto change = mapper.map(upsert(with(oracle_row(), "STATUS_CD", code)));
    ASSERT_TRUE(change);
    EXPECT_EQ(change->row.status, status);
  }
  auto before_1970 = mapper.map(upsert(with(oracle_row(), "INSTALLED_ON", ts(-3600))));
  ASSERT_TRUE(before_1970);
  EXPECT_EQ(before_1970->row.install_date, Date{-1});  // 1969-12-31T23:00 is on 1969-12-31
  // A NUMBER(10) key that arrives as a scale-0 decimal reads the same.
  auto decimal_key = mapper.map(upsert(with(oracle_row(), "METER_NO", dec("1001"))));
  ASSERT_TRUE(decimal_key);
  EXPECT_EQ(decimal_key->row.source_meter_id, "1001");
}

}  // namespace
}  // namespace metersync::mapping
