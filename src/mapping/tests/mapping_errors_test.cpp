// What cannot be mapped is a data Error (stage map) with a precise reason; what cannot work at all
// is a ConfigError when the mapper is built.
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "mapping_fixtures.hpp"

namespace metersync::mapping {
namespace {

using namespace testing;

Row mysql_row() {
  return Row{{
      {"id", dec("7")},
      {"serial", std::string("MY-7")},
      {"type", std::string("water")},
      {"manufacturer", Null{}},
      {"status", std::string("active")},
      {"installed_at", Null{}},
      {"multiplier", dec("1.0000")},
      {"last_reading", Null{}},
      {"last_reading_at", Null{}},
      {"latitude", Null{}},
      {"longitude", Null{}},
  }};
}

std::string error_for(std::string_view source, const Row& row) {
  return map_error(SourceMapper(shipped_source(source)), upsert(row));
}

TEST(MapErrors, TextLongerThanTheColumn) {
  // NVARCHAR(64) counts characters: 64 two-byte characters fit, 65 do not.
  std::string accents;
  for (int i = 0; i < 64; ++i) accents += "é";
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "serial", accents)), "");
  std::string euros;
  for (int i = 0; i < 65; ++i) euros += "€";
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "serial", euros)),
            "SerialNumber: 65 characters, the column holds 64");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "serial", std::string(70, 'S'))),
            "SerialNumber: 70 characters, the column holds 64");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "manufacturer", std::string(101, 'M'))),
            "Manufacturer: 101 characters, the column holds 100");
  // VARCHAR(16) counts bytes: nine two-byte characters are 18 bytes.
  std::string umlauts;
  for (int i = 0; i < 9; ++i) umlauts += "ä";
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "status", umlauts)),
            "Status: 18 bytes, the column holds 16");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "serial", std::string("bad \xC3"))),
            "SerialNumber: text is not valid UTF-8 at byte 4");
}

TEST(MapErrors, DecimalsThatDoNotFit) {
  EXPECT_EQ(
      error_for("mysql", with(mysql_row(), "multiplier", dec("123456.0000"))),
      "Multiplier: 123456.0000 overflows DECIMAL(9,4), which holds 5 digits before the point");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "multiplier", dec("1.00005"))),
            "Multiplier: 1.00005 has 5 decimal places, the column holds 4; add `round: 4` if "
            "rounding is intended");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "multiplier", dec("99999.99990"))),
            "");  // exact: fits
  // Rounding can carry into an overflow.
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "latitude", 999.9999995)),
            "Latitude: 1000.000000 overflows DECIMAL(9,6), which holds 3 digits before the point");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "last_reading", 1e15)),
            "LastReadingValue: 1000000000000000.000 overflows DECIMAL(18,3), which holds 15 digits "
            "before the point");
  EXPECT_EQ(error_for("mysql",
                      with(mysql_row(), "last_reading", std::numeric_limits<double>::quiet_NaN())),
            "LastReadingValue: the floating-point value is not a number (NaN or infinity)");
  EXPECT_EQ(
      error_for("postgres", Row{{{"meter_id", std::string("8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4")},
                                 {"serial_number", std::string("s")},
                                 {"kind", std::string("gas")},
                                 {"manufacturer", Null{}},
                                 {"active", true},
                                 {"removed_at", Null{}},
                                 {"installed_on", Null{}},
                                 {"multiplier", dec("1")},
                                 {"last_reading", Null{}},
                                 {"last_reading_at", Null{}},
                                 {"location", Json{R"({"lat": 1234.5})"}}}}),
      "Latitude: 1234.500000 overflows DECIMAL(9,6), which holds 3 digits before the point");
}

TEST(MapErrors, MissingNullUnavailableAndWrongTypes) {
  EXPECT_EQ(error_for("mysql", without(mysql_row(), "serial")),
            "SerialNumber: column serial is missing from the event");
  EXPECT_EQ(error_for("mysql", without(mysql_row(), "latitude")),
            "Latitude: column latitude is missing from the event");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "serial", Null{})),
            "SerialNumber: NULL, but the column is NOT NULL");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "manufacturer", Unavailable{})),
            "Manufacturer: column manufacturer was not logged by the source (Debezium's "
            "unavailable-value placeholder)");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "serial", int64_t{5})),
            "SerialNumber: got integer, the column takes text; add `text: decimal`");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "installed_at", std::string("yesterday"))),
            "InstallDate: date_part takes a timestamp, got text");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "last_reading", std::string("12 kWh"))),
            "LastReadingValue: round takes a number, got text '12 kWh'");
  EXPECT_EQ(error_for("mysql", with(mysql_row(), "id", 1.5)),
            "SourceMeterId: text: decimal takes an integer or a decimal, got floating-point");
  EXPECT_EQ(error_for("mssql", Row{{{"MeterID", int64_t{1}},
                                    {"SerialNo", std::string("a")},
                                    {"MeterTypeCode", Bytes{"E"}}}}),
            "MeterType: map takes a code (text, integer, decimal, boolean), got bytes");
  EXPECT_EQ(error_for("oracle", Row{{{"METER_NO", int64_t{1}},
                                     {"SERIAL_NO", std::string("a")},
                                     {"METER_KIND", std::string("GAS")},
                                     {"MAKER", Null{}},
                                     {"STATUS_CD", std::string("A")},
                                     {"INSTALLED_ON", Null{}},
                                     {"MULTIPLIER", dec("1")},
                                     {"LAST_READ", Null{}},
                                     {"LAST_READ_TS", ts(0, 1)},
                                     {"GEO_LAT", Null{}},
                                     {"GEO_LON", Null{}}}}),
            "LastReadingAt: 1970-01-01T00:00:00.000000001Z is finer than the column's 6 fractional "
            "digits; add "
            "`truncate: microseconds`");
}

TEST(MapErrors, PostgresSpecificValues) {
  Row row{{{"meter_id", std::string("not-a-uuid")}}};
  EXPECT_EQ(map_error(SourceMapper(shipped_source("postgres")), upsert(row)),
            "SourceMeterId: 'not-a-uuid' is not a UUID");
  Row bad_json{{{"meter_id", std::string("8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4")},
                {"serial_number", std::string("s")},
                {"kind", std::string("gas")},
                {"manufacturer", Null{}},
                {"active", Null{}},
                {"removed_at", Null{}},
                {"installed_on", Date{3000000}},
                {"multiplier", dec("1")},
                {"last_reading", Null{}},
                {"last_reading_at", Null{}},
                {"location", Json{"[1, 2]"}}}};
  const SourceMapper mapper(shipped_source("postgres"));
  // active NULL is neither true nor removed: the last case says inactive.
  EXPECT_EQ(map_error(mapper, upsert(bad_json)),
            "InstallDate: +10183-09-21 is outside the years 0001 to 9999");
  EXPECT_EQ(map_error(mapper, upsert(with(bad_json, "installed_on", Date{0}))),
            "Latitude: json_path lat: the JSON value is not an object");
  EXPECT_TRUE(map_error(mapper, upsert(with(with(bad_json, "installed_on", Date{0}), "location",
                                            Json{"{\"lat\": "})))
                  .starts_with("Latitude: json_path lat: the JSON value cannot be parsed ("));
  EXPECT_EQ(map_error(mapper,
                      upsert(with(with(bad_json, "installed_on", Date{0}), "active", int64_t{1}))),
            "Status: cases: column active is integer, `is: true/false` needs a boolean; compare "
            "with `equals:`");
}

TEST(MapErrors, EventShapes) {
  const SourceMapper mapper(shipped_source("mysql"));
  EXPECT_EQ(map_error(mapper, event(Op::Update, mysql_row(), std::nullopt)),
            "update event without an after image");
  EXPECT_EQ(map_error(mapper, event(Op::Delete, std::nullopt, std::nullopt)),
            "delete event without a before image");
  EXPECT_EQ(map_error(mapper, event(Op::Create, std::nullopt, mysql_row(), std::string(101, '0'))),
            "SourcePosition: 101 bytes, the column holds 100");
  // A delete with a full image but an unknown value is not silently turned key-only.
  EXPECT_EQ(map_error(mapper, event(Op::Delete, with(mysql_row(), "type", std::string("steam")),
                                    std::nullopt)),
            "MeterType: 'steam' is not one of electric, water, gas");
  // A delete whose non-key columns were not logged flags the stored row.
  auto unlogged =
      mapper.map(event(Op::Delete, with(mysql_row(), "serial", Unavailable{}), std::nullopt));
  ASSERT_TRUE(unlogged);
  EXPECT_EQ(unlogged->kind, MeterChange::Kind::DeleteKeyOnly);
  EXPECT_EQ(unlogged->row.source_meter_id, "7");
}

// ---- errors in the rules themselves, found when the mapper is built

// A mssql source whose rule for `column` is `rule_yaml`, the others minimal.
config::SourceConfig source_with(const std::string& column, const std::string& rule_yaml) {
  std::map<std::string, std::string> rules{{"SourceMeterId", "{ from: MeterID, text: decimal }"},
                                           {"SerialNumber", "SerialNo"},
                                           {"Status", "{ from: StatusCode, map: { 1: active } }"},
                                           {"MeterType", "MeterTypeCode"},
                                           {"Multiplier", "Multiplier"}};
  rules[column] = rule_yaml;
  std::string yaml =
      "kafka: { bootstrap_servers: x }\nsink: { connection: y }\nsources:\n  mssql:\n"
      "    connector: sqlserver\n    topic: t\n    mapping:\n";
  for (const auto& [name, rule] : rules) yaml += "      " + name + ": " + rule + "\n";
  return config::load_string(yaml).sources[0];
}

std::string build_error(const std::string& column, const std::string& rule_yaml) {
  try {
    SourceMapper mapper(source_with(column, rule_yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RuleErrors, AreFoundAtStartAndNameTheKey) {
  EXPECT_EQ(build_error("LastReadingValue", "{ from: LastReadKwh }"), "");
  EXPECT_EQ(build_error("MeterType", "{ from: MeterTypeCode, map: { E: electirc } }"),
            "sources.mssql.mapping.MeterType.map.E: 'electirc' is not a MeterType value (electric, "
            "water, gas)");
  EXPECT_EQ(build_error("LastReadingValue", "{ from: LastReadKwh, round: 6 }"),
            "sources.mssql.mapping.LastReadingValue.round: 6 places, but LastReadingValue is "
            "DECIMAL(18,3); use at "
            "most 3");
  EXPECT_EQ(build_error("LastReadingValue", "{ from: LastReadKwh, date_part: true }"),
            "sources.mssql.mapping.LastReadingValue.date_part: gives a date, but LastReadingValue "
            "is DECIMAL(18,3)");
  EXPECT_EQ(build_error("LastReadingAt", "{ from: LastReadAt, time_zone: Europe/Berlin }"),
            "sources.mssql.mapping.LastReadingAt.time_zone: 'Europe/Berlin' is not UTC or a fixed "
            "offset such as "
            "+01:00 (named zones are not supported)");
  EXPECT_EQ(
      build_error("Manufacturer", "{ value: \"" + std::string(101, 'm') + "\" }"),
      "sources.mssql.mapping.Manufacturer: Manufacturer: 101 characters, the column holds 100");
  EXPECT_EQ(build_error("LastReadingValue", "{ value: lots }"),
            "sources.mssql.mapping.LastReadingValue: LastReadingValue: 'lots' is not a number");
  EXPECT_EQ(build_error("Latitude",
                        "{ cases: [ { column: Lat, is: null, value: 1000 }, { value: 1 } ] }"),
            "sources.mssql.mapping.Latitude.cases[0].value: 1000.000000 overflows DECIMAL(9,6), "
            "which holds 3 "
            "digits before the point");
  EXPECT_EQ(
      build_error("InstallDate", "{ from: InstallDate, map: { X: null, Y: \"2020-02-30\" } }"),
      "sources.mssql.mapping.InstallDate.map.Y: '2020-02-30' is not a date YYYY-MM-DD");
}

TEST(RuleErrors, NotNullColumnsCannotBeMappedToNull) {
  EXPECT_EQ(build_error("Status", "{ from: StatusCode, map: { 1: active, 9: null } }"),
            "sources.mssql.mapping.Status.map.9: null, but Status is NOT NULL");
  config::SourceConfig source = shipped_source("mssql");
  source.mapping.columns.erase(source.mapping.columns.begin());  // SourceMeterId
  try {
    SourceMapper mapper(source);
    FAIL() << "built without a SourceMeterId rule";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "sources.mssql.mapping: no rule for SourceMeterId (NVARCHAR(64) NOT NULL)");
  }
}

}  // namespace
}  // namespace metersync::mapping
