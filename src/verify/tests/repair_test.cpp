#include "verify/repair.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "debezium/envelope_decoder.hpp"
#include "mapping/source_mapper.hpp"

namespace metersync::verify {
namespace {

// Key records exactly as Kafka Connect's JsonConverter wrote them on the stack (Debezium
// 3.6 PostgreSQL, 3.5 MariaDB with bigint.unsigned.handling.mode=precise).
constexpr std::string_view kPostgresKey =
    R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"name":"io.debezium.data.Uuid","version":1,"default":"00000000-0000-0000-0000-000000000000","field":"meter_id"}],"optional":false,"name":"postgres.public.meter.Key"},"payload":{"meter_id":"00000000-0000-4000-8000-000000e00001"}})";
constexpr std::string_view kMariaDbKey =
    R"({"schema":{"type":"struct","fields":[{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"field":"id"}],"optional":false,"name":"mysql.meterdb.meters.Key"},"payload":{"id":"AQ=="}})";

TEST(SnapshotSignals, OneSignalNamesTheKeysInItsAdditionalCondition) {
  auto signals = snapshot_signals("postgres", "public.meter", "meter_id", {"0f6c-1", "it's"});
  ASSERT_TRUE(signals.has_value()) << signals.error().reason;
  ASSERT_EQ(signals->size(), 1u);
  const auto data = nlohmann::json::parse(signals->front());
  EXPECT_EQ(data["type"], "incremental");
  EXPECT_EQ(data["data-collections"], nlohmann::json::array({"public.meter"}));
  ASSERT_EQ(data["additional-conditions"].size(), 1u);
  EXPECT_EQ(data["additional-conditions"][0]["data-collection"], "public.meter");
  // Text keys are SQL literals (a quote doubled); the column is quoted as the source quotes.
  EXPECT_EQ(data["additional-conditions"][0]["filter"], R"("meter_id" IN ('0f6c-1', 'it''s'))");
}

TEST(SnapshotSignals, NumericKeysAreNumbersAndMariaDbQuotesWithBackticks) {
  auto signals = snapshot_signals("mariadb", "meterdb.meters", "id", {"7", "18446744073709551615"});
  ASSERT_TRUE(signals.has_value());
  ASSERT_EQ(signals->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(signals->front())["additional-conditions"][0]["filter"],
            "`id` IN (7, 18446744073709551615)");
}

TEST(SnapshotSignals, KeysAreSplitSoThatEverySignalFitsTheDataColumn) {
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.push_back("00000000-0000-4000-8000-" + std::to_string(100000000000 + i));
  auto signals = snapshot_signals("postgres", "public.meter", "meter_id", keys);
  ASSERT_TRUE(signals.has_value());
  EXPECT_GT(signals->size(), 1u);
  size_t named = 0;
  for (const auto& data : *signals) {
    EXPECT_LE(data.size(), kSignalDataMax);
    const std::string filter = nlohmann::json::parse(data)["additional-conditions"][0]["filter"];
    for (const auto& key : keys) named += filter.find("'" + key + "'") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(named, keys.size());  // each key in exactly one signal
  EXPECT_FALSE(snapshot_signals("postgres", "public.meter", "meter_id", {std::string(3000, 'x')}).has_value());
}

TEST(SignalInsert, NamesTheConnectorsSignalTable) {
  EXPECT_EQ(signal_insert_sql("postgres", "public.debezium_signal"),
            R"(INSERT INTO "public"."debezium_signal" ("id", "type", "data") VALUES (?, ?, ?))");
  EXPECT_EQ(signal_insert_sql("mariadb", "meterdb.debezium_signal"),
            "INSERT INTO `meterdb`.`debezium_signal` (`id`, `type`, `data`) VALUES (?, ?, ?)");
}

TEST(SourcePoint, ParsedFromEachSourcesAnswer) {
  auto pg = parse_source_point("postgres", {std::string("31506192")});
  ASSERT_TRUE(pg.has_value());
  EXPECT_EQ(pg->lsn, 31506192u);
  auto maria = parse_source_point("mariadb", {std::string("mariadb-bin.000001"), std::string("736387"),
                                              std::string(""), std::string("")});
  ASSERT_TRUE(maria.has_value());
  EXPECT_EQ(maria->file, "mariadb-bin.000001");
  EXPECT_EQ(maria->pos, 736387);
  EXPECT_FALSE(parse_source_point("mariadb", {}).has_value());  // binary log off
  EXPECT_FALSE(parse_source_point("postgres", {std::nullopt}).has_value());
  EXPECT_FALSE(parse_source_point("sqlserver", {std::string("1")}).has_value());
  EXPECT_EQ(source_position_sql("oracle"), "");
}

TEST(KeyRecord, IsByteForByteTheConnectorsForTheSameKey) {
  auto pg = key_template(kPostgresKey);
  ASSERT_TRUE(pg.has_value()) << pg.error().reason;
  auto value = key_value_json(*pg, "00000000-0000-4000-8000-000000e00001");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(key_record(*pg, *value), kPostgresKey);

  auto maria = key_template(kMariaDbKey);
  ASSERT_TRUE(maria.has_value()) << maria.error().reason;
  auto one = key_value_json(*maria, "1");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(key_record(*maria, *one), kMariaDbKey);
}

TEST(KeyRecord, DecimalKeysAreTheShortestTwosComplement) {
  auto maria = key_template(kMariaDbKey);
  ASSERT_TRUE(maria.has_value());
  EXPECT_EQ(key_value_json(*maria, "3036").value(), R"("C9w=")");  // 0x0bdc, as captured
  EXPECT_EQ(key_value_json(*maria, "128").value(), R"("AIA=")");   // 0x00 0x80: stays positive
  EXPECT_EQ(key_value_json(*maria, "0").value(), R"("AA==")");
  EXPECT_EQ(key_value_json(*maria, "-1").value(), R"("/w==")");
  EXPECT_EQ(key_value_json(*maria, "18446744073709551615").value(), R"("AP//////////")");
  EXPECT_FALSE(key_value_json(*maria, "12a").has_value());
}

TEST(KeyRecord, RefusesKeysItCannotBuild) {
  EXPECT_FALSE(key_template(R"({"payload":{"id":1}})").has_value());  // no schema
  EXPECT_FALSE(key_template(
                   R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"a"},{"type":"int64","optional":false,"field":"b"}]},"payload":{"a":1,"b":2}})")
                   .has_value());
  EXPECT_FALSE(key_template(
                   R"({"schema":{"type":"struct","fields":[{"type":"double","optional":false,"field":"a"}]},"payload":{"a":1.5}})")
                   .has_value());
  auto integer = key_template(
      R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"t.Key"},"payload":{"id":5}})");
  ASSERT_TRUE(integer.has_value());
  EXPECT_EQ(key_value_json(*integer, "42").value(), "42");
}

config::SourceConfig source_of(const std::string& yaml, const std::string& name) {
  static std::vector<config::Config> keep;  // the mapper holds a reference
  keep.push_back(config::load_string(yaml));
  for (const auto& s : keep.back().sources)
    if (s.name == name) return s;
  throw std::runtime_error("no source " + name);
}

constexpr std::string_view kConfig = R"(
kafka: { bootstrap_servers: "127.0.0.1:9092" }
sink: { connection: DSN=mm }
sources:
  postgres:
    connector: postgres
    topic: postgres.public.meter
    mapping:
      SourceMeterId: { from: meter_id, text: uuid }
      SerialNumber: serial_number
      MeterType: kind
      Status: { value: active }
      Multiplier: { value: "1" }
  mysql:
    connector: mariadb
    topic: mysql.meterdb.meters
    mapping:
      SourceMeterId: { from: id, text: decimal }
      SerialNumber: serial
      MeterType: type
      Status: status
      Multiplier: multiplier
)";

// The delete record goes through the pipeline's own decoder and mapping: a key-only delete
// of that key at the source's position at the verify read.
TEST(DeleteRecord, DecodesAndMapsAsAKeyOnlyDeleteAtTheVerifyReadsPosition) {
  const auto postgres = source_of(std::string(kConfig), "postgres");
  auto key = key_template(kPostgresKey);
  ASSERT_TRUE(key.has_value());
  DeleteRecordSpec spec{"postgres", "postgres.public.meter", {"public", "meter"}, {}, 1796567840597};
  spec.at.lsn = 31506192;
  const auto value = delete_record_value(spec, *key, R"("00000000-0000-4000-8000-000000e00001")");
  ASSERT_TRUE(value.has_value()) << value.error().reason;
  debezium::EnvelopeDecoder decoder(Connector::Postgres);
  auto event = decoder.decode(*value);
  ASSERT_TRUE(event.has_value()) << event.error().reason;
  EXPECT_EQ(event->op, Op::Delete);
  EXPECT_EQ(event->position.text, "W/00000000/01E0BF10");
  EXPECT_EQ(event->committed_at_ms, 1796567840597);
  EXPECT_EQ(event->table, "meter");
  mapping::SourceMapper mapper(postgres);
  auto change = mapper.map(*event);
  ASSERT_TRUE(change.has_value()) << change.error().reason;
  EXPECT_EQ(change->kind, MeterChange::Kind::DeleteKeyOnly);
  EXPECT_EQ(change->row.source_meter_id, "00000000-0000-4000-8000-000000e00001");
  EXPECT_TRUE(change->row.is_deleted);
}

TEST(DeleteRecord, BinlogPositionSortsBetweenEventsBeforeAndAfterTheRead) {
  const auto mysql = source_of(std::string(kConfig), "mysql");
  auto key = key_template(kMariaDbKey);
  ASSERT_TRUE(key.has_value());
  DeleteRecordSpec spec{"mariadb", "mysql.meterdb.meters", {"meterdb", "meters"}, {}, 5};
  spec.at.file = "mariadb-bin.000001";
  spec.at.pos = 736387;
  const auto value = delete_record_value(spec, *key, key_value_json(*key, "999999999").value());
  ASSERT_TRUE(value.has_value()) << value.error().reason;
  debezium::EnvelopeDecoder decoder(Connector::MariaDb);
  auto event = decoder.decode(*value);
  ASSERT_TRUE(event.has_value()) << event.error().reason;
  EXPECT_EQ(event->position.text, "mariadb-bin.000001/00000000000000736386/0000000000");
  // The last event before the read started at least 19 bytes before the end; the next one
  // starts at the end.
  EXPECT_LT("mariadb-bin.000001/00000000000000736368/0000000009", event->position.text);
  EXPECT_GT("mariadb-bin.000001/00000000000000736387/0000000000", event->position.text);
  mapping::SourceMapper mapper(mysql);
  auto change = mapper.map(*event);
  ASSERT_TRUE(change.has_value()) << change.error().reason;
  EXPECT_EQ(change->row.source_meter_id, "999999999");
  EXPECT_TRUE(change->row.is_deleted);
}

TEST(DeleteRecord, OnlyWithAPosition) {
  auto key = key_template(kPostgresKey);
  ASSERT_TRUE(key.has_value());
  DeleteRecordSpec spec{"postgres", "postgres.public.meter", {"public", "meter"}, {}, 5};
  EXPECT_FALSE(delete_record_value(spec, *key, R"("x")").has_value());
  spec.connector = "sqlserver";
  spec.at.lsn = 1;
  EXPECT_FALSE(delete_record_value(spec, *key, R"("x")").has_value());
}

TEST(SourceKeyOf, OnlyWhenTheKeyRuleTakesTheColumnAsItIs) {
  const auto postgres = source_of(std::string(kConfig), "postgres");
  EXPECT_EQ(source_key_of(postgres, "0f6c").value(), "0f6c");
  auto transformed = source_of(std::string(kConfig), "postgres");
  transformed.mapping.columns.front().steps.emplace_back(config::Trim{});
  EXPECT_FALSE(source_key_of(transformed, "0f6c").has_value());
}

}  // namespace
}  // namespace metersync::verify
