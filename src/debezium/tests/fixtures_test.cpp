// Decodes every fixture in tests/fixtures/debezium/ and checks every decoded value.
// The fixtures' values are written in human form in make_fixtures.py; the numbers here
// (epoch seconds, day counts) were computed independently of the decoder.
#include <gtest/gtest.h>

#include "debezium/envelope_decoder.hpp"
#include "fixture_support.hpp"

namespace metersync::debezium {
namespace {

using namespace metersync::debezium::testing;

ChangeEvent decode_ok(EnvelopeDecoder& decoder, const std::string& path) {
  auto event = decoder.decode(fixture(path));
  EXPECT_TRUE(event.has_value()) << path << ": " << (event ? "" : event.error().reason);
  return event ? std::move(*event) : ChangeEvent{};
}

void expect_meta(const ChangeEvent& e, Connector connector, Op op, const std::string& position,
                 int64_t committed_at_ms, const std::string& table, bool snapshot) {
  EXPECT_EQ(e.connector, connector);
  EXPECT_EQ(e.op, op) << op_name(e.op);
  EXPECT_EQ(e.position.text, position);
  EXPECT_EQ(e.committed_at_ms, committed_at_ms);
  EXPECT_EQ(e.table, table);
  EXPECT_EQ(e.snapshot, snapshot);
}

// ------------------------------------------------------------------ postgres
const Columns kPgMeterA = {
    {"meter_id", str("6f1c2a9e-3b7d-4c1e-9a52-0d8e4f6b7a31")},
    {"serial_number", str("PG-E-0001")},
    {"kind", str("electric")},
    {"manufacturer", str("Landis+Gyr")},
    {"active", Value{true}},
    {"removed_at", null()},
    {"installed_on", date(18701)},  // 2021-03-15
    {"multiplier", dec("1.0000")},
    {"last_reading", dec("12345.678")},
    {"last_reading_at", ts(1795527900, 123456000)},  // 2026-11-24T13:45:00.123456Z
    {"location", json(R"({"lat": 51.501, "lon": -0.142})")},
};

const Columns kPgMeterB = {
    {"meter_id", str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
    {"serial_number", str("Zähler-Ø ✓ 电表 🚀")},
    {"kind", str("gas")},
    {"manufacturer", str("Ñandú Métering")},
    {"active", Value{true}},
    {"removed_at", ts(253402300799, 999999000)},  // 9999-12-31T23:59:59.999999Z
    {"installed_on", date(-7140)},                // 1950-06-15
    {"multiplier", dec("-12345.6789")},
    {"last_reading", dec("-123456789012345678901234567890123456789012.5")},  // > 128 bits
    {"last_reading_at", ts(-2147483648, 1000)},  // 1901-12-13T20:45:52.000001Z
    {"location", json(R"({"lat": -33.8688})")},
};

const Columns kPgMeterAUpdated = with(kPgMeterA, {{"manufacturer", null()},
                                                  {"active", Value{false}},
                                                  {"removed_at", ts(1795593600, 0)},
                                                  {"last_reading", dec("0.0000001")},
                                                  {"location", null()}});

TEST(PostgresFixtures, SnapshotRead) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/snapshot_read.json");
  expect_meta(e, Connector::Postgres, Op::Read, "S/00000000/016E9378", 1764000000000, "meter", true);
  EXPECT_FALSE(e.before.has_value());
  expect_row(e.after, kPgMeterA, "after");
}

TEST(PostgresFixtures, CreateWithEdgeValues) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/create_edge_values.json");
  expect_meta(e, Connector::Postgres, Op::Create, "W/00000000/FFFFFFFF", 1764000100123, "meter",
              false);
  EXPECT_FALSE(e.before.has_value());
  expect_row(e.after, kPgMeterB, "after");
}

TEST(PostgresFixtures, UpdateChangesTheScaleOfAnUnconstrainedNumeric) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/update_scale_change.json");
  expect_meta(e, Connector::Postgres, Op::Update, "W/00000001/00000000", 1764000200000, "meter",
              false);
  expect_row(e.before, kPgMeterA, "before");
  expect_row(e.after, kPgMeterAUpdated, "after");
  EXPECT_EQ(std::get<Decimal>(*e.before->find("last_reading")).scale, 3);
  EXPECT_EQ(std::get<Decimal>(*e.after->find("last_reading")).scale, 7);
}

TEST(PostgresFixtures, Delete) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/delete.json");
  expect_meta(e, Connector::Postgres, Op::Delete, "W/00000001/00000068", 1764000300000, "meter",
              false);
  expect_row(e.before, kPgMeterAUpdated, "before");
  EXPECT_FALSE(e.after.has_value());
}

TEST(PostgresFixtures, Truncate) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/truncate.json");
  expect_meta(e, Connector::Postgres, Op::Truncate, "W/00000001/000000CC", 1764000400000, "meter",
              false);
  EXPECT_FALSE(e.before.has_value());
  EXPECT_FALSE(e.after.has_value());
}

TEST(PostgresFixtures, UnavailablePlaceholderIsNotData) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/update_unavailable.json");
  expect_meta(e, Connector::Postgres, Op::Update, "W/00000001/00000130", 1764000500000, "meter",
              false);
  EXPECT_FALSE(e.before.has_value());
  expect_row(e.after, with(kPgMeterA, {{"location", Unavailable{}}, {"last_reading", dec("42")}}),
             "after");
}

TEST(PostgresFixtures, SchemalessWithDeclaredColumns) {
  DeclaredColumns declared{
      {"removed_at", {LogicalType::ZonedTimestamp, 0}},
      {"installed_on", {LogicalType::Date, 0}},
      {"multiplier", {LogicalType::Decimal, 4}},
      {"last_reading", {LogicalType::VariableScaleDecimal, 0}},
      {"last_reading_at", {LogicalType::ZonedTimestamp, 0}},
      {"location", {LogicalType::Json, 0}},
  };
  EnvelopeDecoder decoder(Connector::Postgres, declared);
  const auto e = decode_ok(decoder, "postgres/schemaless_create.json");
  expect_meta(e, Connector::Postgres, Op::Create, "W/00000000/FFFFFFFF", 1764000100123, "meter",
              false);
  expect_row(e.after, kPgMeterB, "after");
}

TEST(PostgresFixtures, SchemalessUndeclaredColumnsKeepTheirJsonType) {
  EnvelopeDecoder decoder(Connector::Postgres);
  const auto e = decode_ok(decoder, "postgres/schemaless_create.json");
  ASSERT_TRUE(e.after.has_value());
  EXPECT_EQ(*e.after->find("multiplier"), str("+KQy6w=="));  // base64, not a number
  EXPECT_EQ(*e.after->find("installed_on"), i64(-7140));
  EXPECT_EQ(*e.after->find("last_reading"),
            json(R"({"scale":1,"value":"8dPuWTQGpM/2nUAqmupZvbsz"})"));
  EXPECT_EQ(*e.after->find("active"), Value{true});
}

// ------------------------------------------------------------------ mysql / mariadb
const Columns kMyMeterA = {
    {"id", dec("1")},
    {"serial", str("MY-W-0001")},
    {"type", str("water")},
    {"manufacturer", str("Itron")},
    {"status", str("active")},
    {"installed_at", ts(1651363200, 0)},  // 2022-05-01T00:00:00
    {"multiplier", dec("1.0000")},
    {"last_reading", f64(12345.678)},
    {"last_reading_at", ts(1795527900, 123456000)},
    {"latitude", f64(51.501)},
    {"longitude", f64(-0.142)},
};

const Columns kMyMeterB = {
    {"id",
     dec("18446744073709551615")},  // BIGINT UNSIGNED max, bigint.unsigned.handling.mode=precise
    {"serial", str("Zähler-Ø ✓ 电表 🚀")},
    {"type", str("gas")},
    {"manufacturer", null()},
    {"status", str("removed")},
    {"installed_at", ts(-14182940, 0)},  // 1969-07-20T20:17:40
    {"multiplier", dec("-99999.9999")},
    {"last_reading", f64(-0.5)},
    {"last_reading_at", ts(253402300799, 999999000)},
    {"latitude", null()},
    {"longitude", null()},
};

const Columns kMyMeterAUpdated = with(kMyMeterA, {{"status", str("inactive")},
                                                  {"installed_at", ts(253402300799, 0)},
                                                  {"multiplier", dec("2.5000")},
                                                  {"last_reading", f64(9999999.5)},
                                                  {"last_reading_at", ts(0, 0)}});

class BinlogFixtures : public ::testing::TestWithParam<std::pair<Connector, std::string>> {};

TEST_P(BinlogFixtures, SnapshotRead) {
  const auto& [connector, folder] = GetParam();
  EnvelopeDecoder decoder(connector);
  const auto e = decode_ok(decoder, folder + "/snapshot_read.json");
  expect_meta(e, connector, Op::Read, "mysql-bin.000003/00000000000000000157/0000000000",
              1764000000000, "meters", true);
  expect_row(e.after, kMyMeterA, "after");
}

TEST_P(BinlogFixtures, CreateWithEdgeValues) {
  const auto& [connector, folder] = GetParam();
  EnvelopeDecoder decoder(connector);
  const auto e = decode_ok(decoder, folder + "/create_edge_values.json");
  expect_meta(e, connector, Op::Create, "mysql-bin.000009/00000000004294967296/0000000002",
              1764000100000, "meters", false);
  expect_row(e.after, kMyMeterB, "after");
}

TEST_P(BinlogFixtures, Update) {
  const auto& [connector, folder] = GetParam();
  EnvelopeDecoder decoder(connector);
  const auto e = decode_ok(decoder, folder + "/update.json");
  expect_meta(e, connector, Op::Update, "mysql-bin.000010/00000000000000001234/0000000000",
              1764000200000, "meters", false);
  expect_row(e.before, kMyMeterA, "before");
  expect_row(e.after, kMyMeterAUpdated, "after");
}

TEST_P(BinlogFixtures, Delete) {
  const auto& [connector, folder] = GetParam();
  EnvelopeDecoder decoder(connector);
  const auto e = decode_ok(decoder, folder + "/delete.json");
  expect_meta(e, connector, Op::Delete, "mysql-bin.000010/00000000000000005678/0000000001",
              1764000300000, "meters", false);
  expect_row(e.before, kMyMeterAUpdated, "before");
  EXPECT_FALSE(e.after.has_value());
}

TEST_P(BinlogFixtures, Truncate) {
  const auto& [connector, folder] = GetParam();
  EnvelopeDecoder decoder(connector);
  const auto e = decode_ok(decoder, folder + "/truncate.json");
  expect_meta(e, connector, Op::Truncate, "mysql-bin.000010/00000000000000009012/0000000000",
              1764000400000, "meters", false);
  EXPECT_FALSE(e.before.has_value());
  EXPECT_FALSE(e.after.has_value());
}

INSTANTIATE_TEST_SUITE_P(MySqlAndMariaDb, BinlogFixtures,
                         ::testing::Values(std::pair{Connector::MySql, std::string("mysql")},
                                           std::pair{Connector::MariaDb, std::string("mariadb")}),
                         [](const auto& info) { return info.param.second; });

// ------------------------------------------------------------------ sqlserver
const Columns kMsMeterA = {
    {"MeterID", i64(1)},
    {"SerialNo", str("SN-E-0001   ")},  // trailing spaces are data
    {"MeterTypeCode", str("E")},
    {"Manufacturer", str("Landis+Gyr")},
    {"StatusCode", i64(1)},
    {"InstallDate", date(18292)},  // 2020-01-31
    {"Multiplier", dec("1.0000")},
    {"LastReadKwh", dec("123456.789")},
    {"LastReadAt", ts(1795527900, 123456700)},  // DATETIME2(7): 100 ns
    {"Lat", dec("51.501000")},
    {"Lon", dec("-0.142000")},
};

const Columns kMsMeterB = {
    {"MeterID", i64(2147483647)},
    {"SerialNo", str("Zähler-Ø ✓ 电表 🚀")},
    {"MeterTypeCode", str("G")},
    {"Manufacturer", null()},
    {"StatusCode", i64(3)},
    {"InstallDate", date(2932896)},  // 9999-12-31
    {"Multiplier", dec("-99999.9999")},
    {"LastReadKwh", dec("-999999999999999.999")},
    {"LastReadAt", ts(-2208988800, 100)},  // 1900-01-01T00:00:00.0000001
    {"Lat", dec("-90.000000")},
    {"Lon", dec("179.999999")},
};

const Columns kMsMeterAUpdated =
    with(kMsMeterA, {{"StatusCode", i64(2)},
                     {"Multiplier", dec("0.0001")},
                     {"LastReadKwh", null()},
                     {"LastReadAt", ts(9223372036, 854775800)}});  // 2262-04-11T23:47:16.8547758Z

TEST(SqlServerFixtures, SnapshotRead) {
  EnvelopeDecoder decoder(Connector::SqlServer);
  const auto e = decode_ok(decoder, "sqlserver/snapshot_read.json");
  expect_meta(e, Connector::SqlServer, Op::Read,
              "0000002D:00000F58:0003/00000000:00000000:0000/0000000000", 1764000000000, "Meters",
              true);
  expect_row(e.after, kMsMeterA, "after");
}

TEST(SqlServerFixtures, CreateWithEdgeValues) {
  EnvelopeDecoder decoder(Connector::SqlServer);
  const auto e = decode_ok(decoder, "sqlserver/create_edge_values.json");
  expect_meta(e, Connector::SqlServer, Op::Create,
              "0000002D:00000FA0:0005/0000002D:00000FA0:0002/0000000001", 1764000100000, "Meters",
              false);
  expect_row(e.after, kMsMeterB, "after");
}

TEST(SqlServerFixtures, Update) {
  EnvelopeDecoder decoder(Connector::SqlServer);
  const auto e = decode_ok(decoder, "sqlserver/update.json");
  expect_meta(e, Connector::SqlServer, Op::Update,
              "0000002E:00000010:0004/0000002E:00000010:0002/0000000002", 1764000200000, "Meters",
              false);
  expect_row(e.before, kMsMeterA, "before");
  expect_row(e.after, kMsMeterAUpdated, "after");
}

TEST(SqlServerFixtures, Delete) {
  EnvelopeDecoder decoder(Connector::SqlServer);
  const auto e = decode_ok(decoder, "sqlserver/delete.json");
  expect_meta(e, Connector::SqlServer, Op::Delete,
              "0000002E:000000A8:0003/0000002E:000000A8:0002/0000000001", 1764000300000, "Meters",
              false);
  expect_row(e.before, kMsMeterAUpdated, "before");
  EXPECT_FALSE(e.after.has_value());
}

// ------------------------------------------------------------------ oracle
const Columns kOraMeterA = {
    {"METER_NO", i64(1001)},
    {"SERIAL_NO", str("ORA-E-1001")},
    {"METER_KIND", str("ELEC")},
    {"MAKER", str("Kamstrup")},
    {"STATUS_CD", str("A")},
    {"INSTALLED_ON", ts(1773563400, 0)},  // DATE 2026-03-15 08:30:00 (time part kept)
    {"MULTIPLIER", dec("1.0000")},
    {"LAST_READ", dec("98765.432")},
    {"LAST_READ_TS", ts(1795527900, 123456000)},
    {"GEO_LAT", dec("55.676100")},
    {"GEO_LON", dec("12.568300")},
};

const Columns kOraMeterB = {
    {"METER_NO", i64(4294967296)},
    {"SERIAL_NO", str("Zähler-Ø ✓ 电表 🚀")},
    {"METER_KIND", str("GAS")},
    {"MAKER", null()},
    {"STATUS_CD", str("R")},
    {"INSTALLED_ON", ts(-2208988801, 0)},  // 1899-12-31T23:59:59
    {"MULTIPLIER", dec("-0.0001")},
    {"LAST_READ", dec("-0.001")},
    {"LAST_READ_TS", ts(253402300799, 999999000)},
    {"GEO_LAT", dec("-33.868800")},
    {"GEO_LON", dec("-0.142000")},
};

const Columns kOraMeterAUpdated = with(kOraMeterA, {{"MAKER", null()},
                                                    {"STATUS_CD", str("I")},
                                                    {"LAST_READ", dec("98766.000")},
                                                    {"LAST_READ_TS", ts(-1, 999999000)}});

TEST(OracleFixtures, SnapshotRead) {
  EnvelopeDecoder decoder(Connector::Oracle);
  const auto e = decode_ok(decoder, "oracle/snapshot_read.json");
  expect_meta(e, Connector::Oracle, Op::Read,
              "00000000000002122184/00000000000002122184/0000000000", 1764000000000, "METER", true);
  expect_row(e.after, kOraMeterA, "after");
}

TEST(OracleFixtures, CreateWithEdgeValues) {
  EnvelopeDecoder decoder(Connector::Oracle);
  const auto e = decode_ok(decoder, "oracle/create_edge_values.json");
  expect_meta(e, Connector::Oracle, Op::Create,
              "00000000000002122190/00000000000002122187/0000000000", 1764000100000, "METER",
              false);
  expect_row(e.after, kOraMeterB, "after");
}

TEST(OracleFixtures, UpdateWithSixtyFourBitScns) {
  EnvelopeDecoder decoder(Connector::Oracle);
  const auto e = decode_ok(decoder, "oracle/update.json");
  expect_meta(e, Connector::Oracle, Op::Update,
              "12345678901234567891/12345678901234567890/0000000001", 1764000200000, "METER",
              false);
  expect_row(e.before, kOraMeterA, "before");
  expect_row(e.after, kOraMeterAUpdated, "after");
}

TEST(OracleFixtures, Delete) {
  EnvelopeDecoder decoder(Connector::Oracle);
  const auto e = decode_ok(decoder, "oracle/delete.json");
  expect_meta(e, Connector::Oracle, Op::Delete,
              "12345678901234567899/12345678901234567895/0000000000", 1764000300000, "METER",
              false);
  expect_row(e.before, kOraMeterAUpdated, "before");
  EXPECT_FALSE(e.after.has_value());
}

TEST(OracleFixtures, Truncate) {
  EnvelopeDecoder decoder(Connector::Oracle);
  const auto e = decode_ok(decoder, "oracle/truncate.json");
  expect_meta(e, Connector::Oracle, Op::Truncate,
              "12345678901234567901/12345678901234567900/0000000000", 1764000400000, "METER",
              false);
  EXPECT_FALSE(e.before.has_value());
  EXPECT_FALSE(e.after.has_value());
}

// ------------------------------------------------------------------ one decoder, many messages
TEST(DecoderReuse, OneDecoderDecodesAStreamWithASchemaChange) {
  // The same decoder sees the snapshot, a different table schema, then the first again:
  // its schema cache must follow each message's own schema.
  EnvelopeDecoder decoder(Connector::Postgres);
  for (int round = 0; round < 3; ++round) {
    expect_row(decode_ok(decoder, "postgres/snapshot_read.json").after, kPgMeterA, "after");
    expect_row(decode_ok(decoder, "postgres/create_edge_values.json").after, kPgMeterB, "after");
  }
  std::string altered = fixture("postgres/snapshot_read.json");
  // Rename a column in both schema and payload: a schema the decoder has not seen.
  for (size_t at; (at = altered.find("\"kind\"")) != std::string::npos;)
    altered.replace(at, 6, "\"type\"");
  auto e = decoder.decode(altered);
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  ASSERT_NE(e->after->find("type"), nullptr);
  EXPECT_EQ(*e->after->find("type"), str("electric"));
  EXPECT_EQ(e->after->find("kind"), nullptr);
  expect_row(decode_ok(decoder, "postgres/snapshot_read.json").after, kPgMeterA, "after");
}

}  // namespace
}  // namespace metersync::debezium
