// A source the code has never seen, described only in YAML: different column names,
// numeric codes, a status from two columns, local times as text, nested JSON.
#include <gtest/gtest.h>

#include <filesystem>

#include "mapping_fixtures.hpp"

namespace metersync::mapping {
namespace {

using namespace testing;

const char* const kLegacyYaml = R"yaml(
kafka: { bootstrap_servers: 127.0.0.1:9092 }
sink: { connection: DSN=mm }
sources:
  legacy_sqlite:
    connector: postgres
    topic: legacy.main.devices
    mapping:
      SourceMeterId:    { from: device_no, text: decimal }
      SerialNumber:     { from: serial_txt, trim: both }
      MeterType:        { from: medium, map: { 10: electric, 20: water, 30: gas } }
      Manufacturer:     { value: Legacy Metering Ltd }
      Status:
        cases:
          - { column: decommissioned, equals: 1, value: removed }
          - { column: paused, is: true, value: inactive }
          - { value: active }
      InstallDate:      { from: installed_local, time_zone: "+02:00", date_part: true }
      Multiplier:       { value: 1 }
      LastReadingValue: { from: reading_wh, round: 3 }
      LastReadingAt:    { from: read_at_local, time_zone: "-05:00", truncate: milliseconds }
      Latitude:         { from: extra, json_path: geo.lat, round: 6 }
      Longitude:        { from: extra, json_path: geo.lon, round: 6 }
)yaml";

Row legacy_row() {
  return Row{{
      {"device_no", int64_t{900001}},
      {"serial_txt", std::string("  LEG-9  ")},
      {"medium", int64_t{20}},
      {"decommissioned", int64_t{0}},
      {"paused", false},
      {"installed_local", std::string("2026-01-01 01:30:00")},  // local +02:00: still 2025 in UTC
      {"reading_wh", int64_t{123456}},
      {"read_at_local", std::string("2026-11-24 14:43:00.123456")},  // -05:00
      {"extra", std::string(R"({"geo": {"lat": 52.3702157, "lon": 4.8951679e0}, "note": "x"})")},
  }};
}

TEST(FifthSource, MapsATableTheCodeHasNeverSeenFromYamlAlone) {
  const config::Config config = config::load_string(kLegacyYaml);
  const SourceMapper mapper(config.sources.at(0));
  EXPECT_EQ(mapper.source_system(), "legacy_sqlite");

  auto change = mapper.map(upsert(legacy_row()));
  ASSERT_TRUE(change) << change.error().reason;
  MeterRow expected;
  expected.source_system = "legacy_sqlite";
  expected.source_meter_id = "900001";
  expected.serial_number = "LEG-9";
  expected.meter_type = "water";
  expected.manufacturer = "Legacy Metering Ltd";
  expected.status = "active";
  expected.install_date = Date{20453};  // 2025-12-31: converted to UTC before the date part
  expected.multiplier = dec("1.0000");
  expected.last_reading_value = dec("123456.000");
  expected.last_reading_at =
      ts(k2026_11_24T19_43, 123000000);  // 14:43 -05:00 = 19:43Z, to milliseconds
  expected.latitude = dec("52.370216");
  expected.longitude = dec("4.895168");
  expected.source_committed_at = ts(k2026_11_24T19_43, 123000000);
  expected.source_position = Position{"00000000/01A2B3C8"};
  EXPECT_EQ(change->row, expected);
}

TEST(FifthSource, CasesAndCodesFollowTheYaml) {
  const SourceMapper mapper(config::load_string(kLegacyYaml).sources.at(0));
  auto status = [&](Value decommissioned, Value paused) {
    auto change = mapper.map(
        upsert(with(with(legacy_row(), "decommissioned", decommissioned), "paused", paused)));
    EXPECT_TRUE(change) << change.error().reason;
    return change ? change->row.status : "";
  };
  EXPECT_EQ(status(int64_t{1}, false), "removed");
  EXPECT_EQ(status(int64_t{1}, true), "removed");
  EXPECT_EQ(status(int64_t{0}, true), "inactive");
  EXPECT_EQ(status(Null{}, Null{}), "active");
  EXPECT_EQ(status(dec("1"), false), "removed");  // a scale-0 decimal 1 is the code 1

  EXPECT_EQ(map_error(mapper, upsert(with(legacy_row(), "medium", int64_t{40}))),
            "MeterType: unknown code '40' (the map knows 10, 20, 30)");
  // Text with its own offset keeps it; the configured zone is for text without one.
  auto zoned =
      mapper.map(upsert(with(legacy_row(), "read_at_local", std::string("2026-11-24T19:43:00Z"))));
  ASSERT_TRUE(zoned);
  EXPECT_EQ(zoned->row.last_reading_at, ts(k2026_11_24T19_43));
  auto no_geo =
      mapper.map(upsert(with(legacy_row(), "extra", std::string(R"({"note": "moved"})"))));
  ASSERT_TRUE(no_geo);
  EXPECT_EQ(no_geo->row.latitude, std::nullopt);
}

TEST(FifthSource, ItsOwnErrorsNameItsOwnKeys) {
  std::string yaml = kLegacyYaml;
  yaml.replace(yaml.find("20: water"), 9, "20: watr");
  try {
    SourceMapper mapper(config::load_string(yaml).sources.at(0));
    FAIL() << "a misspelt meter type was accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "sources.legacy_sqlite.mapping.MeterType.map.20: 'watr' is not a MeterType value "
                 "(electric, water, gas)");
  }
}

}  // namespace
}  // namespace metersync::mapping

namespace metersync::mapping {
namespace {

// Every shipped configuration loads and every source's rules compile: an example
// that drifts from the language fails here, not at a user's start.
TEST(ShippedExamples, LoadAndCompile) {
  ::setenv("SINK_ODBC", "DSN=test", 0);
  const std::string root = METERSYNC_SOURCE_DIR;
  std::vector<std::string> files{root + "/config/metersync.yaml"};
  for (const auto& entry : std::filesystem::directory_iterator(root + "/config/examples"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  ASSERT_GE(files.size(), 2u);
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    const config::Config config = config::load_file(file);
    ASSERT_FALSE(config.sources.empty());
    for (const auto& source : config.sources) EXPECT_NO_THROW(SourceMapper{source}) << source.name;
  }
}

TEST(ShippedExamples, TheFifthSourceExampleMapsLikeTheTest) {
  ::setenv("SINK_ODBC", "DSN=test", 0);
  const config::Config example =
      config::load_file(std::string(METERSYNC_SOURCE_DIR) + "/config/examples/fifth-source.yaml");
  const SourceMapper from_file(example.sources.at(0));
  const SourceMapper inline_yaml(config::load_string(kLegacyYaml).sources.at(0));
  auto a = from_file.map(testing::upsert(legacy_row()));
  auto b = inline_yaml.map(testing::upsert(legacy_row()));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->row, b->row);
}

}  // namespace
}  // namespace metersync::mapping
