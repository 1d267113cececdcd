#include "dispatch/event_encoder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace metersync::dispatch {
namespace {

using Json = nlohmann::json;

Decimal dec(const char* text) {
  auto d = Decimal::parse(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(Decimal{});
}

TEST(EventEncoder, EncodesEveryValueKindDecoded) {
  struct Row {
    Value value;
    const char* json;
  };
  const Row table[] = {
      {Null{}, "null"},
      {true, "true"},
      {int64_t{-9007199254740993}, "-9007199254740993"},
      {2.5, "2.5"},
      {std::numeric_limits<double>::quiet_NaN(), R"("NaN")"},
      {-std::numeric_limits<double>::infinity(), R"("-Infinity")"},
      {std::string("a \"q\"\n"), R"("a \"q\"\n")"},
      {dec("-12.340"), R"("-12.340")"},
      {dec("123456789012345678901234567890.5"), R"("123456789012345678901234567890.5")"},
      {Date{20781}, R"("2026-11-24")"},
      {Timestamp{1795549380, 123456000}, R"("2026-11-24T19:43:00.123456Z")"},
      {Timestamp{1795549380, 123456789}, R"("2026-11-24T19:43:00.123456789Z")"},
      {TimeOfDay{49500123456000}, R"("13:45:00.123456")"},
      {Bytes{std::string("\x00\xff\x10", 3)}, R"("AP8Q")"},
      {metersync::Json{R"({"b": [1, 2]})"}, R"({"b":[1,2]})"},
      {metersync::Json{"not json"}, R"("not json")"},
      {Unavailable{}, R"({"unavailable":true})"},
  };
  for (const auto& row : table) EXPECT_EQ(value_json(row.value), row.json);
}

MeterChange meter_change() {
  MeterChange change{MeterChange::Kind::Upsert, {}};
  MeterRow& m = change.row;
  m.source_system = "postgres";
  m.source_meter_id = "8f14e45f";
  m.serial_number = "SN-1";
  m.meter_type = "water";
  m.status = "active";
  m.install_date = Date{20781};
  m.multiplier = dec("1.0000");
  m.last_reading_value = dec("12.500");
  m.last_reading_at = Timestamp{1795549380, 5000};
  m.latitude = dec("52.520008");
  m.source_committed_at = Timestamp{1795549380, 123000000};
  m.source_position = Position{"00000000/01A2B3C8"};
  return change;
}

ChangeEvent change_event() {
  ChangeEvent e;
  e.connector = Connector::Postgres;
  e.op = Op::Update;
  e.before = Row{{{"id", std::string("8f14e45f")}, {"multiplier", dec("1.0000")}}};
  e.after = Row{{{"id", std::string("8f14e45f")}, {"multiplier", dec("2.0000")}}};
  e.position = Position{"00000000/01A2B3C8"};
  e.committed_at_ms = 1795549380123;
  return e;
}

TEST(EventEncoder, EncodesTheWholeEvent) {
  auto encoded = encode_event("postgres", change_event(), meter_change(), RecordRef{0, 184467});
  EXPECT_EQ(encoded.id, "postgres:00000000/01A2B3C8:8f14e45f");
  EXPECT_EQ(encoded.offset, 184467);
  auto json = Json::parse(encoded.json);
  EXPECT_EQ(json["id"], "postgres:00000000/01A2B3C8:8f14e45f");
  EXPECT_EQ(json["op"], "update");
  EXPECT_EQ(json["committed_at"], "2026-11-24T19:43:00.123Z");
  EXPECT_EQ(json["position"], "00000000/01A2B3C8");
  EXPECT_EQ(json["before"]["multiplier"], "1.0000");
  EXPECT_EQ(json["after"]["multiplier"], "2.0000");
  const Json& meter = json["meter"];
  EXPECT_EQ(meter["sourceSystem"], "postgres");
  EXPECT_EQ(meter["sourceMeterId"], "8f14e45f");
  EXPECT_EQ(meter["serialNumber"], "SN-1");
  EXPECT_EQ(meter["meterType"], "water");
  EXPECT_EQ(meter["manufacturer"], nullptr);
  EXPECT_EQ(meter["status"], "active");
  EXPECT_EQ(meter["installDate"], "2026-11-24");
  EXPECT_EQ(meter["multiplier"], "1.0000");
  EXPECT_EQ(meter["lastReadingValue"], "12.500");
  EXPECT_EQ(meter["lastReadingAt"], "2026-11-24T19:43:00.000005Z");
  EXPECT_EQ(meter["latitude"], "52.520008");
  EXPECT_EQ(meter["longitude"], nullptr);
  EXPECT_EQ(meter["isDeleted"], false);
  EXPECT_EQ(meter["sourceCommittedAt"], "2026-11-24T19:43:00.123Z");
  EXPECT_EQ(meter["sourcePosition"], "00000000/01A2B3C8");
  EXPECT_FALSE(json.contains("meter_error"));
  // Columns keep the connector's order.
  EXPECT_NE(encoded.json.find(R"("after":{"id":"8f14e45f","multiplier":"2.0000"})"),
            std::string::npos);
}

TEST(EventEncoder, NamesTruncatesByTheirRecordAndSendsKeyOnlyDeletesAsKeys) {
  ChangeEvent e = change_event();
  e.op = Op::Truncate;
  e.before.reset();
  e.after.reset();
  MeterChange truncate{MeterChange::Kind::Truncate, {}};
  truncate.row.source_system = "postgres";
  auto encoded = encode_event("postgres", e, truncate, RecordRef{0, 5});
  EXPECT_EQ(encoded.id, "postgres:00000000/01A2B3C8:@0.5");
  auto t = Json::parse(encoded.json);
  EXPECT_EQ(t["op"], "truncate");
  EXPECT_EQ(t["meter"], nullptr);
  EXPECT_EQ(t["before"], nullptr);
  EXPECT_EQ(t["after"], nullptr);

  MeterChange key_only = meter_change();
  key_only.kind = MeterChange::Kind::DeleteKeyOnly;
  key_only.row.is_deleted = true;
  auto k = Json::parse(meter_json(key_only));
  EXPECT_EQ(k["isDeleted"], true);
  EXPECT_FALSE(k.contains("serialNumber"));  // unknown, not empty
}

TEST(EventEncoder, IdsAreStable) {
  auto a = encode_event("mysql", change_event(), meter_change(), RecordRef{0, 1});
  auto b = encode_event("mysql", change_event(), meter_change(), RecordRef{0, 1});
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.json, b.json);
}

}  // namespace
}  // namespace metersync::dispatch
