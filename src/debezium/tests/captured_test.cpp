// Messages captured from the real stack (Debezium 3.6.1 PostgreSQL, 3.5.0 MariaDB; see
// cdcstack/capture_events.py). The expected values are the ones that script and
// cdcstack/rows.py write into the sources; log positions, commit times and MariaDB's
// auto-increment ids differ per capture, so those are checked for shape and order.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "debezium/envelope_decoder.hpp"
#include "fixture_support.hpp"

namespace metersync::debezium {
namespace {

using namespace metersync::debezium::testing;

std::optional<ChangeEvent> captured(Connector connector, const std::string& name) {
  const std::string path = fixture_dir() + "captured/" + name;
  if (!std::filesystem::exists(path)) return std::nullopt;
  EnvelopeDecoder decoder(connector);
  auto event = decoder.decode(read_file(path));
  EXPECT_TRUE(event.has_value()) << name << ": " << (event ? "" : event.error().reason);
  if (!event) return std::nullopt;
  return std::move(*event);
}

#define REQUIRE_CAPTURED(var, connector, name) \
  auto var = captured(connector, name);        \
  if (!var) GTEST_SKIP() << "no captured message " << name;

// ------------------------------------------------------------------ postgres
const Columns kPgCaptureCreated = {
    {"meter_id", str("0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e")},
    {"serial_number", str("CAPTURE-PG-Zähler-001")},
    {"kind", str("electric")},
    {"manufacturer", str("Landis+Gyr")},
    {"active", Value{true}},
    {"removed_at", null()},
    {"installed_on", date(17987)},  // 2019-04-01
    {"multiplier", dec("40.0000")},
    {"last_reading", dec("1234.5678")},
    {"last_reading_at", ts(1795767330, 654321000)},  // 2026-11-27 08:15:30.654321+00
    {"location", json(R"({"lat": 51.501234567, "lon": -0.1415})")},  // jsonb's own spacing
};
const Columns kPgCaptureUpdated =
    with(kPgCaptureCreated, {{"active", Value{false}},
                             {"last_reading", dec("1300.25")},
                             {"last_reading_at", ts(1795770930, 1000)}});
const Columns kPgCaptureRemoved = with(kPgCaptureUpdated, {{"removed_at", ts(1795773600, 0)}});

const std::regex kLsnShape("[SW]/[0-9A-F]{8}/[0-9A-F]{8}");

TEST(CapturedPostgres, CreateUpdateRemoveDelete) {
  REQUIRE_CAPTURED(create, Connector::Postgres, "postgres/create.json");
  REQUIRE_CAPTURED(update, Connector::Postgres, "postgres/update.json");
  REQUIRE_CAPTURED(removed, Connector::Postgres, "postgres/update_removed.json");
  REQUIRE_CAPTURED(remove, Connector::Postgres, "postgres/delete.json");

  EXPECT_EQ(create->op, Op::Create);
  EXPECT_FALSE(create->before.has_value());
  expect_row(create->after, kPgCaptureCreated, "create.after");

  EXPECT_EQ(update->op, Op::Update);
  expect_row(update->before, kPgCaptureCreated, "update.before");  // REPLICA IDENTITY FULL
  expect_row(update->after, kPgCaptureUpdated, "update.after");

  EXPECT_EQ(removed->op, Op::Update);
  expect_row(removed->before, kPgCaptureUpdated, "update_removed.before");
  expect_row(removed->after, kPgCaptureRemoved, "update_removed.after");

  EXPECT_EQ(remove->op, Op::Delete);
  expect_row(remove->before, kPgCaptureRemoved, "delete.before");
  EXPECT_FALSE(remove->after.has_value());

  // One session's four statements: positions and commit times move forward.
  const std::vector<const ChangeEvent*> in_order{&*create, &*update, &*removed, &*remove};
  for (size_t i = 0; i < in_order.size(); ++i) {
    EXPECT_TRUE(std::regex_match(in_order[i]->position.text, kLsnShape))
        << in_order[i]->position.text;
    EXPECT_EQ(in_order[i]->table, "meter");
    EXPECT_FALSE(in_order[i]->snapshot);
    if (i > 0) {
      EXPECT_LT(in_order[i - 1]->position, in_order[i]->position);
      EXPECT_LE(in_order[i - 1]->committed_at_ms, in_order[i]->committed_at_ms);
    }
  }
}

Columns pg_edge(std::string meter_id, std::string serial, const Columns& changes) {
  return with({{"meter_id", str(std::move(meter_id))},
               {"serial_number", str(std::move(serial))},
               {"kind", str("electric")},
               {"manufacturer", null()},
               {"active", Value{true}},
               {"removed_at", null()},
               {"installed_on", null()},
               {"multiplier", dec("1.0000")},
               {"last_reading", null()},
               {"last_reading_at", null()},
               {"location", null()}},
              changes);
}

TEST(CapturedPostgres, SnapshotEdgeRows) {
  REQUIRE_CAPTURED(max, Connector::Postgres, "postgres/snapshot_edge_max.json");
  REQUIRE_CAPTURED(scale, Connector::Postgres, "postgres/snapshot_edge_scale26.json");
  REQUIRE_CAPTURED(future, Connector::Postgres, "postgres/snapshot_edge_far_future.json");
  REQUIRE_CAPTURED(lat_only, Connector::Postgres, "postgres/snapshot_edge_location_lat_only.json");
  REQUIRE_CAPTURED(unicode, Connector::Postgres, "postgres/snapshot_edge_unicode.json");

  expect_row(
      max->after,
      pg_edge("00000000-0000-4000-8000-000000e00005", "EDGE-PG-005",
              {{"multiplier", dec("99999.9999")}, {"last_reading", dec("999999999999999.999")}}),
      "edge 5");
  // Inserted as 1234.56789012345678901234567890; the connector sends it without the
  // trailing zero (scale 25), the same number.
  expect_row(scale->after,
             pg_edge("00000000-0000-4000-8000-000000e0000a", "EDGE-PG-010",
                     {{"last_reading", dec("1234.5678901234567890123456789")}}),
             "edge 10");
  expect_row(
      future->after,
      pg_edge("00000000-0000-4000-8000-000000e0000f", "EDGE-PG-015",
              {{"installed_on", date(2932896)}, {"last_reading_at", ts(253402300799, 999999000)}}),
      "edge 15");
  expect_row(lat_only->after,
             pg_edge("00000000-0000-4000-8000-000000e00013", "EDGE-PG-019",
                     {{"location", json(R"({"lat": 51.5012345678})")}}),
             "edge 19");
  expect_row(unicode->after, pg_edge("00000000-0000-4000-8000-000000e00028", "Zähler-Ω-0001", {}),
             "edge 40");

  for (const auto* e : {&*max, &*scale, &*future, &*lat_only, &*unicode}) {
    EXPECT_EQ(e->op, Op::Read);
    EXPECT_TRUE(e->snapshot);
    EXPECT_TRUE(std::regex_match(e->position.text, kLsnShape)) << e->position.text;
    EXPECT_EQ(e->position, max->position);  // a snapshot reads at one LSN
  }
}

// ------------------------------------------------------------------ mariadb
const std::regex kBinlogShape("mariadb-bin\\.[0-9]{6}/[0-9]{20}/[0-9]{10}");

// The auto-increment id differs per capture: take it from the event after checking it
// is a non-negative whole number (BIGINT UNSIGNED, precise mode: Decimal scale 0).
Value checked_id(const ChangeEvent& e) {
  const auto& row = e.after ? e.after : e.before;
  const Value* id = row ? row->find("id") : nullptr;
  EXPECT_NE(id, nullptr);
  if (id == nullptr) return null();
  EXPECT_TRUE(std::holds_alternative<Decimal>(*id)) << describe(*id);
  if (const auto* d = std::get_if<Decimal>(id)) {
    EXPECT_EQ(d->scale, 0);
    EXPECT_FALSE(d->negative);
  }
  return *id;
}

Columns mdb_capture(const Value& id) {
  return {
      {"id", id},
      {"serial", str("CAPTURE-MDB-电表-001")},
      {"type", str("gas")},
      {"manufacturer", str("Kamstrup")},
      {"status", str("active")},
      {"installed_at", ts(1529070300, 0)},  // DATETIME 2018-06-15 13:45:00
      {"multiplier", dec("10.0000")},
      {"last_reading", f64(8765.4321)},
      {"last_reading_at", ts(1795767330, 654321000)},  // TIMESTAMP(6), session in UTC
      {"latitude", f64(48.8583701)},
      {"longitude", f64(2.2944813)},
  };
}

TEST(CapturedMariaDb, CreateUpdateDelete) {
  REQUIRE_CAPTURED(create, Connector::MariaDb, "mariadb/create.json");
  REQUIRE_CAPTURED(update, Connector::MariaDb, "mariadb/update.json");
  REQUIRE_CAPTURED(remove, Connector::MariaDb, "mariadb/delete.json");

  const Value id = checked_id(*create);
  const Columns created = mdb_capture(id);
  const Columns updated = with(created, {{"status", str("inactive")},
                                         {"last_reading", f64(8800.125)},
                                         {"last_reading_at", ts(1795770930, 1000)}});
  EXPECT_EQ(create->op, Op::Create);
  expect_row(create->after, created, "create.after");
  EXPECT_EQ(update->op, Op::Update);
  expect_row(update->before, created, "update.before");
  expect_row(update->after, updated, "update.after");
  EXPECT_EQ(remove->op, Op::Delete);
  expect_row(remove->before, updated, "delete.before");
  EXPECT_FALSE(remove->after.has_value());

  const std::vector<const ChangeEvent*> in_order{&*create, &*update, &*remove};
  for (size_t i = 0; i < in_order.size(); ++i) {
    EXPECT_EQ(in_order[i]->connector, Connector::MariaDb);
    EXPECT_TRUE(std::regex_match(in_order[i]->position.text, kBinlogShape))
        << in_order[i]->position.text;
    EXPECT_EQ(in_order[i]->table, "meters");
    EXPECT_FALSE(in_order[i]->snapshot);
    EXPECT_EQ(in_order[i]->committed_at_ms % 1000, 0);  // MariaDB's binlog has second resolution
    if (i > 0) {
      EXPECT_LT(in_order[i - 1]->position, in_order[i]->position);
    }
  }
}

Columns mdb_edge(const Value& id, std::string serial, const Columns& changes) {
  return with({{"id", id},
               {"serial", str(std::move(serial))},
               {"type", str("electric")},
               {"manufacturer", null()},
               {"status", str("active")},
               {"installed_at", null()},
               {"multiplier", dec("1.0000")},
               {"last_reading", null()},
               {"last_reading_at", null()},
               {"latitude", null()},
               {"longitude", null()}},
              changes);
}

TEST(CapturedMariaDb, SnapshotEdgeRows) {
  REQUIRE_CAPTURED(datetime_min, Connector::MariaDb, "mariadb/snapshot_edge_datetime_min.json");
  REQUIRE_CAPTURED(timestamp_max, Connector::MariaDb, "mariadb/snapshot_edge_timestamp_max.json");

  expect_row(datetime_min->after,
             mdb_edge(checked_id(*datetime_min), "EDGE-MDB-011",
                      {{"installed_at", ts(-30610224000, 0)}}),  // DATETIME 1000-01-01
             "edge 11");
  expect_row(
      timestamp_max->after,
      mdb_edge(checked_id(*timestamp_max), "EDGE-MDB-016",
               {{"last_reading_at", ts(2147483647, 999999000)}}),  // 2038-01-19T03:14:07.999999Z
      "edge 16");
  for (const auto* e : {&*datetime_min, &*timestamp_max}) {
    EXPECT_EQ(e->op, Op::Read);
    EXPECT_TRUE(e->snapshot);
    EXPECT_TRUE(std::regex_match(e->position.text, kBinlogShape)) << e->position.text;
  }
}

TEST(CapturedMariaDb, SnapshotDecimalDoubleAndUnicodeEdges) {
  REQUIRE_CAPTURED(max, Connector::MariaDb, "mariadb/snapshot_edge_max.json");
  REQUIRE_CAPTURED(rounding, Connector::MariaDb, "mariadb/snapshot_edge_rounding.json");
  REQUIRE_CAPTURED(unicode, Connector::MariaDb, "mariadb/snapshot_edge_unicode.json");

  expect_row(max->after,
             mdb_edge(checked_id(*max), "EDGE-MDB-004",
                      {{"multiplier", dec("99999.9999")}, {"last_reading", f64(999999999999.999)}}),
             "edge 4");
  // DOUBLE keeps every digit it was given; rounding to DECIMAL(9,6) is the mapper's.
  expect_row(rounding->after,
             mdb_edge(checked_id(*rounding), "EDGE-MDB-020",
                      {{"latitude", f64(51.50123456789)}, {"longitude", f64(-0.14159265358979)}}),
             "edge 20");
  expect_row(unicode->after, mdb_edge(checked_id(*unicode), "Zähler-Ω-0001", {}), "edge 40");
}

}  // namespace
}  // namespace metersync::debezium
