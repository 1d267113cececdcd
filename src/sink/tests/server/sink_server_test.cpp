// The sink against real servers: PostgreSQL (psqlODBC) and MariaDB (MariaDB ODBC),
// each started for this process in a temp dir, and a SQL Server–compatible server when
// METERSYNC_SQLSERVER_ODBC holds an ODBC connection string to one (FreeTDS).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sink/dialect.hpp"
#include "sink/odbc_connection.hpp"
#include "sink/odbc_environment.hpp"
#include "sink/sink.hpp"
#include "throwaway_server.hpp"

namespace metersync::sink {
namespace {

using testing::ThrowawayServer;
using Kind = MeterChange::Kind;
using Row = std::map<std::string, std::optional<std::string>>;

struct Target {
  config::Dialect dialect;
  std::string connection;
};

class SinkServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& kind = GetParam();
    if (kind == "sqlserver" || kind == "sqlserver_rows") {
      const char* connection = std::getenv("METERSYNC_SQLSERVER_ODBC");
      if (connection == nullptr || *connection == '\0') {
        GTEST_SKIP() << "SQL Server suite skipped: set METERSYNC_SQLSERVER_ODBC to an ODBC "
                        "connection string "
                        "(FreeTDS) of a SQL Server-compatible server";
      }
      target_ = {config::Dialect::SqlServer, connection};
      // Both stage paths, each forced: a server without OPENJSON fails the json run
      // instead of passing it on the other path.
      config_.sqlserver_stage =
          kind == "sqlserver" ? config::SqlServerStage::Json : config::SqlServerStage::Rows;
    } else {
      ThrowawayServer& server = ThrowawayServer::get(kind);
      if (!server.running()) {
        if (server.binaries_missing())
          GTEST_SKIP() << kind << " tests skipped: " << server.problem();
        FAIL() << server.problem();
      }
      target_ = {kind == "postgres" ? config::Dialect::Postgres : config::Dialect::MariaDb,
                 server.connection_string()};
    }
    // Fresh tables per test (and per process, for a shared SQL Server).
    static int counter = 0;
    const std::string suffix = std::to_string(::getpid()) + "_" + std::to_string(++counter);
    config_.dialect = target_.dialect;
    config_.connection = target_.connection;
    config_.table = "MM_" + suffix;
    config_.offsets_table = "OFF_" + suffix;
    config_.truncates_table = "TR_" + suffix;
    dialect_ = Dialect::create(target_.dialect,
                               {"", config_.table, config_.offsets_table, config_.truncates_table});
    raw_ = std::make_unique<OdbcConnection>(environment_, target_.connection, target_.dialect);
  }

  void TearDown() override {
    if (!raw_) return;
    for (const std::string& table :
         {config_.table, config_.offsets_table, config_.truncates_table}) {
      try {
        raw_->execute("DROP TABLE " + dialect_->quote(table));
      } catch (const SinkError&) {
        // Not created by this test.
      }
    }
  }

  // The SQL Server-compatible server is Babelfish for PostgreSQL, not SQL Server.
  bool babelfish() {
    const auto version = raw_->query("SELECT @@VERSION");
    return !version.empty() && version[0][0] &&
           version[0][0]->find("Babelfish") != std::string::npos;
  }

  std::unique_ptr<Sink> make_sink() {
    auto sink = std::make_unique<Sink>(config_);
    sink->init();
    return sink;
  }

  // Every column as comparable text: timestamps "YYYY-MM-DD HH:MM:SS.ffffff", decimals
  // with their scale, IsDeleted 0/1.
  std::string text_of(const Column& column) const {
    const std::string q = dialect_->quote(column.name);
    const config::Dialect d = target_.dialect;
    switch (column.type) {
      case ColumnType::Timestamp:
        if (d == config::Dialect::Postgres) return "to_char(" + q + ", 'YYYY-MM-DD HH24:MI:SS.US')";
        if (d == config::Dialect::MariaDb) return "DATE_FORMAT(" + q + ", '%Y-%m-%d %H:%i:%s.%f')";
        return "CONVERT(VARCHAR(26), CAST(" + q + " AS DATETIME2(6)), 121)";
      case ColumnType::Date:
        if (d == config::Dialect::Postgres) return "to_char(" + q + ", 'YYYY-MM-DD')";
        if (d == config::Dialect::MariaDb) return "DATE_FORMAT(" + q + ", '%Y-%m-%d')";
        return "CONVERT(VARCHAR(10), " + q + ", 23)";
      case ColumnType::Decimal:
        if (d == config::Dialect::Postgres) return "CAST(" + q + " AS TEXT)";
        if (d == config::Dialect::MariaDb) return "CAST(" + q + " AS CHAR)";
        return "CAST(" + q + " AS VARCHAR(40))";
      case ColumnType::Bit:
        if (d == config::Dialect::MariaDb) return q;
        return "CAST(" + q + " AS INTEGER)";
      default:
        return q;
    }
  }

  // Babelfish's CONVERT style 121 drops trailing fractional zeros; compare six digits.
  static void pad_fraction(std::string& timestamp) {
    const auto dot = timestamp.find('.');
    if (dot == std::string::npos) timestamp += ".";
    const std::size_t digits = timestamp.size() - timestamp.find('.') - 1;
    if (digits < 6) timestamp.append(6 - digits, '0');
  }

  std::map<std::string, Row> rows() {
    std::string sql = "SELECT ";
    bool first = true;
    for (const Column& column : meter_columns()) {
      sql += (first ? "" : ", ") + text_of(column);
      first = false;
    }
    sql += " FROM " + dialect_->quote(config_.table);
    std::map<std::string, Row> out;
    for (const SqlRow& raw : raw_->query(sql)) {
      Row row;
      for (std::size_t i = 0; i < meter_columns().size(); ++i) {
        std::optional<std::string> value = raw[i];
        if (value && meter_columns()[i].type == ColumnType::Timestamp) pad_fraction(*value);
        row[std::string(meter_columns()[i].name)] = value;
      }
      out[*row["SourceSystem"] + "/" + *row["SourceMeterId"]] = row;
    }
    if (target_.dialect != config::Dialect::SqlServer) raw_->end_transaction(true);
    return out;
  }

  // The truncates table as "source: position @ committed_at", one entry per source.
  std::vector<std::string> watermarks() {
    const Column committed = truncates_columns()[2];
    std::vector<std::string> out;
    for (const SqlRow& raw :
         raw_->query("SELECT " + dialect_->quote("SourceSystem") + ", " +
                     dialect_->quote("SourcePosition") + ", " + text_of(committed) + " FROM " +
                     dialect_->quote(config_.truncates_table) + " ORDER BY " +
                     dialect_->quote("SourceSystem"))) {
      std::string at = raw[2].value_or("NULL");
      pad_fraction(at);
      out.push_back(raw[0].value_or("NULL") + ": " + raw[1].value_or("NULL") + " @ " + at);
    }
    if (target_.dialect != config::Dialect::SqlServer) raw_->end_transaction(true);
    return out;
  }

  static MeterChange upsert(const std::string& id, const std::string& position,
                            const std::string& serial, const std::string& source = "postgres") {
    MeterChange change{Kind::Upsert, {}};
    MeterRow& row = change.row;
    row.source_system = source;
    row.source_meter_id = id;
    row.serial_number = serial;
    row.meter_type = "electric";
    row.manufacturer = "Acme";
    row.status = "active";
    row.install_date = Date{20'000};  // 2024-10-04
    row.multiplier = Decimal{false, "10000", 4};
    row.last_reading_value = Decimal{false, "12345", 3};
    row.last_reading_at = Timestamp{1'700'000'000, 123'456'000};
    row.latitude = Decimal{false, "52520008", 6};
    row.longitude = Decimal{false, "13404954", 6};
    row.source_committed_at = Timestamp{1'700'000'000, 5'000'000};
    row.source_position = Position{position};
    return change;
  }

  static MeterChange key_only_delete(const std::string& id, const std::string& position,
                                     const std::string& source = "postgres") {
    MeterChange change{Kind::DeleteKeyOnly, {}};
    change.row.source_system = source;
    change.row.source_meter_id = id;
    change.row.is_deleted = true;
    change.row.source_committed_at = Timestamp{1'700'000'100, 0};
    change.row.source_position = Position{position};
    return change;
  }

  static MeterChange full_delete(MeterChange earlier, const std::string& position) {
    earlier.kind = Kind::Delete;
    earlier.row.is_deleted = true;
    earlier.row.source_position = Position{position};
    earlier.row.source_committed_at = Timestamp{1'700'000'200, 0};
    return earlier;
  }

  static MeterChange truncate(const std::string& source, const std::string& position,
                              Timestamp committed_at = Timestamp{1'700'000'300, 0}) {
    MeterChange change{Kind::Truncate, {}};
    change.row.source_system = source;
    change.row.source_position = Position{position};
    change.row.source_committed_at = committed_at;
    return change;
  }

  Batch batch(std::vector<MeterChange> changes, Offsets offsets, int64_t records) const {
    Batch b;
    b.pipeline = "metersync-test";
    b.topic = "postgres.public.meter";
    b.changes = std::move(changes);
    b.next_offsets = std::move(offsets);
    b.record_count = records;
    return b;
  }

  Target target_;
  config::SinkConfig config_;
  std::unique_ptr<Dialect> dialect_;
  OdbcEnvironment environment_;
  std::unique_ptr<OdbcConnection> raw_;
};

TEST_P(SinkServerTest, InitCreatesCheckedTablesAndIsIdempotent) {
  auto sink = make_sink();
  sink->init();
  EXPECT_TRUE(sink->load_offsets("metersync-test", "postgres.public.meter").empty());
  EXPECT_EQ(sink->records_applied("metersync-test"), 0);
  EXPECT_TRUE(rows().empty());
}

// `metersync check`'s view of the tables: it never creates or changes one.
TEST_P(SinkServerTest, InstancesStartedTogetherAllCreateTheTablesWithoutFailing) {
  // Several metersync instances on one configuration run init at the same moment on a sink
  // without the tables; PostgreSQL's CREATE TABLE IF NOT EXISTS alone lets all but one fail.
  std::vector<std::string> failures(4);
  std::vector<std::thread> starts;
  for (std::size_t i = 0; i < failures.size(); ++i) {
    starts.emplace_back([&, i] {
      try {
        Sink sink(config_);
        sink.init();
      } catch (const std::exception& error) {
        failures[i] = error.what();
      }
    });
  }
  for (auto& t : starts) t.join();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_TRUE(rows().empty());
}

TEST_P(SinkServerTest, VerifyReportsTheTablesWithoutChangingThem) {
  {
    Sink sink(config_);
    const std::vector<TableReport> missing = sink.verify();
    ASSERT_EQ(missing.size(), 3u);
    for (const TableReport& report : missing) {
      EXPECT_TRUE(report.ok) << report.table << ": " << report.detail;
      EXPECT_EQ(report.detail.rfind("missing; ", 0), 0u) << report.detail;
    }
    EXPECT_NE(missing[0].table.find(config_.table), std::string::npos);
  }
  // Still missing for a second look: the check created nothing.
  for (const TableReport& report : Sink(config_).verify())
    EXPECT_EQ(report.detail.rfind("missing; ", 0), 0u) << report.detail;

  auto sink = make_sink();
  for (const TableReport& report : sink->verify()) {
    EXPECT_TRUE(report.ok) << report.table << ": " << report.detail;
    EXPECT_EQ(report.detail, "present, columns as expected, writable");
  }
  raw_->execute("ALTER TABLE " + dialect_->quote(config_.table) + " DROP COLUMN " +
                dialect_->quote("Latitude"));
  if (target_.dialect != config::Dialect::SqlServer) raw_->end_transaction(true);
  const std::vector<TableReport> after = sink->verify();
  EXPECT_FALSE(after[0].ok);
  EXPECT_NE(after[0].detail.find("column Latitude is missing; fix: ALTER TABLE"), std::string::npos)
      << after[0].detail;
  EXPECT_TRUE(after[1].ok) << after[1].detail;
  EXPECT_TRUE(after[2].ok) << after[2].detail;
}

TEST_P(SinkServerTest, MissingOrMistypedColumnIsFatalAndNamesTheFix) {
  make_sink();
  raw_->execute("ALTER TABLE " + dialect_->quote(config_.table) + " DROP COLUMN " +
                dialect_->quote("Latitude"));
  std::string alter;
  switch (target_.dialect) {
    case config::Dialect::Postgres:
      alter = "ALTER TABLE " + dialect_->quote(config_.table) +
              " ALTER COLUMN \"LastReadingAt\" TYPE TIMESTAMP(3)";
      break;
    case config::Dialect::MariaDb:
      alter = "ALTER TABLE " + dialect_->quote(config_.table) +
              " MODIFY `LastReadingAt` DATETIME(3) NULL";
      break;
    case config::Dialect::SqlServer:
      // Babelfish refuses an explicit NULL here; the column stays nullable without it.
      alter = "ALTER TABLE " + dialect_->quote(config_.table) +
              " ALTER COLUMN [LastReadingAt] DATETIME2(3)";
      break;
  }
  raw_->execute(alter);
  if (target_.dialect != config::Dialect::SqlServer) raw_->end_transaction(true);
  try {
    make_sink();
    FAIL() << "init accepted a table without Latitude";
  } catch (const SinkError& error) {
    EXPECT_EQ(error.kind(), SinkError::Kind::Fatal);
    const std::string message = error.what();
    EXPECT_NE(message.find("column Latitude is missing; fix: ALTER TABLE"), std::string::npos)
        << message;
    EXPECT_NE(message.find(" ADD " + dialect_->quote("Latitude") + " " +
                           dialect_->type_sql(meter_columns()[10]) + " NULL"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("column LastReadingAt is "), std::string::npos) << message;
    EXPECT_NE(message.find(" with 3 fractional digits, expected " +
                           dialect_->type_sql(meter_columns()[9])),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("; fix: ALTER TABLE"), std::string::npos) << message;
  }
}

TEST_P(SinkServerTest, UpsertThenStaleEventChangesNothing) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0002", "first")}, {{0, 1}}, 1));
  const Row stored = rows().at("postgres/1");
  EXPECT_EQ(stored.at("SerialNumber"), "first");
  EXPECT_EQ(stored.at("IsDeleted"), "0");
  ASSERT_TRUE(stored.at("SyncedAt"));

  // An older position (a redelivery): nothing changes, not even SyncedAt.
  sink->apply(batch({upsert("1", "p0001", "stale")}, {{0, 2}}, 1));
  EXPECT_EQ(rows().at("postgres/1"), stored);
  // The same position again: also nothing.
  sink->apply(batch({upsert("1", "p0002", "same")}, {{0, 3}}, 1));
  EXPECT_EQ(rows().at("postgres/1"), stored);

  sink->apply(batch({upsert("1", "p0003", "newer")}, {{0, 4}}, 1));
  EXPECT_EQ(rows().at("postgres/1").at("SerialNumber"), "newer");
  EXPECT_EQ(rows().at("postgres/1").at("SourcePosition"), "p0003");
  // Stale deletes and truncates change nothing either.
  const Row current = rows().at("postgres/1");
  sink->apply(batch({key_only_delete("1", "p0002")}, {{0, 5}}, 1));
  sink->apply(batch({truncate("postgres", "p0002")}, {{0, 6}}, 1));
  EXPECT_EQ(rows().at("postgres/1"), current);
  EXPECT_EQ(sink->records_applied("metersync-test"), 6);
}

TEST_P(SinkServerTest, MostlyInsertedSegmentsWriteWhatAnyOtherSegmentWould) {
  // On SQL Server a segment of mostly inserted rows runs the INSERT of missing keys before
  // the UPDATE of stored ones (and skips the UPDATE when the INSERT wrote them all); the
  // outcome must be the same: stored keys updated only by newer rows, new keys inserted.
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0005", "stored1"), upsert("2", "p0005", "stored2")}, {{0, 2}}, 2));
  const Row stored2 = rows().at("postgres/2");
  const auto inserted = [](MeterChange change) {
    change.inserted = true;
    return change;
  };
  // Inserted at the source again (a re-create), newer and older than what is stored.
  sink->apply(batch({inserted(upsert("1", "p0006", "newer1")), inserted(upsert("2", "p0004", "stale2")),
                     inserted(upsert("3", "p0006", "new3")), inserted(upsert("4", "p0006", "new4")),
                     inserted(upsert("5", "p0006", "new5"))},
                    {{0, 7}}, 5));
  auto all = rows();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.at("postgres/1").at("SerialNumber"), "newer1");
  EXPECT_EQ(all.at("postgres/1").at("SourcePosition"), "p0006");
  EXPECT_EQ(all.at("postgres/2"), stored2) << "the stale insert changes nothing, not even SyncedAt";
  EXPECT_EQ(all.at("postgres/3").at("SerialNumber"), "new3");
  // Only new keys: the INSERT writes them all.
  sink->apply(batch({inserted(upsert("6", "p0007", "new6")), inserted(upsert("7", "p0007", "new7"))},
                    {{0, 9}}, 2));
  all = rows();
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all.at("postgres/6").at("SerialNumber"), "new6");
  EXPECT_EQ(all.at("postgres/7").at("SourcePosition"), "p0007");
  // Only stored keys, marked inserted: the INSERT writes nothing, the UPDATE the newer one.
  sink->apply(batch({inserted(upsert("6", "p0008", "newer6")), inserted(upsert("7", "p0006", "stale7"))},
                    {{0, 11}}, 2));
  all = rows();
  EXPECT_EQ(all.at("postgres/6").at("SerialNumber"), "newer6");
  EXPECT_EQ(all.at("postgres/7").at("SerialNumber"), "new7");
  EXPECT_EQ(sink->records_applied("metersync-test"), 11);
}

TEST_P(SinkServerTest, ARowTheTableRefusesInASegmentOfNewKeysIsADataError) {
  // SQL Server inserts a segment of new keys as it is, under a TRY that catches only a
  // duplicate key: a row the table refuses for another reason (here its own CHECK) must
  // still fail the batch as a Data error with nothing written, so that bisection pins it.
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 1}}, 1));
  raw_->execute("ALTER TABLE " + dialect_->quote(config_.table) + " ADD CONSTRAINT " +
                dialect_->quote("CK_" + config_.table + "_serial") + " CHECK (" +
                dialect_->quote("SerialNumber") + " NOT LIKE 'REFUSED-%')");
  if (target_.dialect != config::Dialect::SqlServer) raw_->end_transaction(true);
  const auto before = rows();
  const auto inserted = [](MeterChange change) {
    change.inserted = true;
    return change;
  };
  for (const std::string& stored : {std::string("5"), std::string("1")}) {
    // All new keys; then one of them stored already, so the INSERT without a probe may meet
    // the duplicate key before the refused row (and the general INSERT meets the row).
    try {
      sink->apply(batch({inserted(upsert("2", "p0002", "b")), inserted(upsert("3", "p0002", "REFUSED-3")),
                         inserted(upsert("4", "p0002", "d")), inserted(upsert(stored, "p0002", "e"))},
                        {{0, 5}}, 4));
      FAIL() << "accepted a row the table refuses";
    } catch (const SinkError& error) {
      EXPECT_EQ(error.kind(), SinkError::Kind::Data) << error.what();
    }
    EXPECT_EQ(rows(), before);
    EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"), (Offsets{{0, 1}}));
  }
  // The same segment without the refused row is written whole.
  sink->apply(batch({inserted(upsert("2", "p0002", "b")), inserted(upsert("4", "p0002", "d")),
                     inserted(upsert("1", "p0002", "e"))},
                    {{0, 5}}, 3));
  const auto after = rows();
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after.at("postgres/1").at("SerialNumber"), "e");
  EXPECT_EQ(after.at("postgres/4").at("SerialNumber"), "d");
}

TEST_P(SinkServerTest, PositionsCompareByteWise) {
  auto sink = make_sink();
  // Under a linguistic collation ':' sorts before '/' (CLDR root order), unlike their
  // bytes; positions are designed to compare as bytes. Give the column such a collation
  // so only the statements' own byte-wise comparison can pass this test.
  if (target_.dialect == config::Dialect::Postgres) {
    raw_->execute("ALTER TABLE " + dialect_->quote(config_.table) +
                  " ALTER COLUMN \"SourcePosition\" TYPE VARCHAR(100) COLLATE \"und-x-icu\"");
    raw_->end_transaction(true);
  } else if (target_.dialect == config::Dialect::MariaDb) {
    raw_->execute("ALTER TABLE " + dialect_->quote(config_.table) +
                  " MODIFY `SourcePosition` VARCHAR(100) CHARACTER SET utf8mb4 COLLATE "
                  "utf8mb4_unicode_ci NOT NULL");
    raw_->end_transaction(true);
  }
  sink->apply(batch({upsert("1", "00000027:00000758:0003/0000000009", "a")}, {{0, 1}}, 1));
  sink->apply(batch({upsert("1", "00000027:00000758:0003/0000000010", "b")}, {{0, 2}}, 1));
  sink->apply(
      batch({upsert("1", "00000027:00000758:0003:0000000001", "c")}, {{0, 3}}, 1));  // ':' > '/'
  sink->apply(batch({upsert("1", "00000027:00000758:0003/9999999999", "d")}, {{0, 4}}, 1));
  EXPECT_EQ(rows().at("postgres/1").at("SerialNumber"), "c");
  sink->apply(
      batch({upsert("1", "0000002A:00000000:0000/0000000000", "e")}, {{0, 5}}, 1));  // 'A' > '9'
  EXPECT_EQ(rows().at("postgres/1").at("SerialNumber"), "e");
}

TEST_P(SinkServerTest, SoftDeleteKeepsValuesAndRecreateClearsIt) {
  auto sink = make_sink();
  const MeterChange created = upsert("1", "p0001", "S-1");
  sink->apply(batch({created, upsert("2", "p0002", "S-2")}, {{0, 2}}, 2));

  sink->apply(batch({full_delete(created, "p0003"), key_only_delete("2", "p0004")}, {{0, 4}}, 2));
  auto all = rows();
  EXPECT_EQ(all.at("postgres/1").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/1").at("SerialNumber"), "S-1");
  EXPECT_EQ(all.at("postgres/1").at("SourcePosition"), "p0003");
  EXPECT_EQ(all.at("postgres/1").at("SourceCommittedAt"), "2023-11-14 22:16:40.000000");
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "S-2");  // key-only: values kept
  EXPECT_EQ(all.at("postgres/2").at("Manufacturer"), "Acme");
  EXPECT_EQ(all.at("postgres/2").at("SourcePosition"), "p0004");
  EXPECT_EQ(all.at("postgres/2").at("SourceCommittedAt"), "2023-11-14 22:15:00.000000");

  sink->apply(batch({upsert("2", "p0005", "S-2b")}, {{0, 5}}, 1));
  all = rows();
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "S-2b");
}

TEST_P(SinkServerTest, KeyOnlyDeleteInTheSameBatchKeepsTheEarlierValues) {
  auto sink = make_sink();
  sink->apply(batch(
      {upsert("7", "p0001", "S-7"), key_only_delete("7", "p0002"), key_only_delete("8", "p0003")},
      {{0, 3}}, 3));
  const auto all = rows();
  ASSERT_EQ(all.size(), 1u) << "a key-only delete of an unknown key inserts nothing";
  EXPECT_EQ(all.at("postgres/7").at("SerialNumber"), "S-7");
  EXPECT_EQ(all.at("postgres/7").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/7").at("SourcePosition"), "p0002");
}

TEST_P(SinkServerTest, TruncateFlagsEveryRowOfOnlyThatSource) {
  auto sink = make_sink();
  sink->apply(batch(
      {upsert("1", "p0001", "a"), upsert("2", "p0002", "b"), upsert("1", "m0001", "c", "mysql")},
      {{0, 3}}, 3));
  // Rows before the truncate are flagged; a row created after it in the same batch is not.
  sink->apply(
      batch({upsert("3", "p0003", "d"), truncate("postgres", "p0004"), upsert("2", "p0005", "b2")},
            {{0, 6}}, 3));
  const auto all = rows();
  EXPECT_EQ(all.at("postgres/1").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/1").at("SerialNumber"), "a");
  EXPECT_EQ(all.at("postgres/1").at("SourcePosition"), "p0004");
  EXPECT_EQ(all.at("postgres/1").at("SourceCommittedAt"), "2023-11-14 22:18:20.000000");
  EXPECT_EQ(all.at("postgres/3").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "b2");
  EXPECT_EQ(all.at("mysql/1").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("mysql/1").at("SourcePosition"), "m0001");
}

// A truncate event has no Kafka key: it lands on any partition of the topic, so changes
// committed before it at the source may be read after it, from other partitions, in
// later batches. They land as the source left them: deleted.
TEST_P(SinkServerTest, ChangesOlderThanATruncateReadAfterItLandDeleted) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a"), upsert("1", "m0001", "m", "mysql")}, {{0, 2}}, 2));
  sink->apply(batch({truncate("postgres", "p0005")}, {{1, 1}}, 1));
  EXPECT_EQ(watermarks(), std::vector<std::string>{"postgres: p0005 @ 2023-11-14 22:18:20.000000"});

  // Read later from partition 2: a create of a new key and an update of the truncated
  // key, both committed before the truncate; a create after it; another source's row.
  sink->apply(batch({upsert("2", "p0003", "b"), upsert("1", "p0004", "a2"),
                     upsert("3", "p0006", "c"), upsert("2", "m0002", "n", "mysql")},
                    {{2, 4}}, 4));
  auto all = rows();
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "1") << "an older create lands deleted";
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "b") << "with its values";
  EXPECT_EQ(all.at("postgres/2").at("SourcePosition"), "p0003");
  EXPECT_EQ(all.at("postgres/1").at("IsDeleted"), "1") << "an older update keeps it deleted";
  EXPECT_EQ(all.at("postgres/1").at("SourcePosition"), "p0005");
  EXPECT_EQ(all.at("postgres/3").at("IsDeleted"), "0") << "a newer create lands live";
  EXPECT_EQ(all.at("postgres/3").at("SerialNumber"), "c");
  EXPECT_EQ(all.at("mysql/1").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("mysql/2").at("IsDeleted"), "0");

  // An older update of the key that landed deleted: newer than its row, so it is
  // written, and still deleted; a change after the truncate brings the key back.
  sink->apply(batch({upsert("2", "p0004", "b2")}, {{2, 5}}, 1));
  all = rows();
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "b2");
  EXPECT_EQ(all.at("postgres/2").at("SourcePosition"), "p0004");
  sink->apply(batch({upsert("2", "p0007", "b3")}, {{2, 6}}, 1));
  all = rows();
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "b3");

  // A key-only delete older than the truncate changes nothing more.
  sink->apply(batch({key_only_delete("3", "p0002")}, {{2, 7}}, 1));
  EXPECT_EQ(rows().at("postgres/3").at("IsDeleted"), "0");
}

TEST_P(SinkServerTest, TruncateInterleavedWithOtherPartitionsInOneBatch) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 1}}, 1));
  // Poll order: partition 0's truncate, then partition 1's older and newer changes, and a
  // row of partition 2 read before the truncate but committed after it.
  sink->apply(batch({upsert("4", "p0009", "d"), truncate("postgres", "p0005"),
                     upsert("2", "p0002", "b"), upsert("3", "p0006", "c")},
                    {{0, 2}, {1, 2}, {2, 1}}, 4));
  const auto all = rows();
  EXPECT_EQ(all.at("postgres/1").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/2").at("SerialNumber"), "b");
  EXPECT_EQ(all.at("postgres/3").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("postgres/4").at("IsDeleted"), "0");
  EXPECT_EQ(all.at("postgres/4").at("SourcePosition"), "p0009");
  EXPECT_EQ(watermarks(), std::vector<std::string>{"postgres: p0005 @ 2023-11-14 22:18:20.000000"});
}

TEST_P(SinkServerTest, TheTruncateWatermarkOnlyMovesForward) {
  auto sink = make_sink();
  sink->apply(
      batch({truncate("postgres", "p0005", Timestamp{1'700'000'500, 250'000'000})}, {{0, 1}}, 1));
  // An older truncate read later (another partition) lowers nothing.
  sink->apply(batch({truncate("postgres", "p0003", Timestamp{1'700'000'300, 0}),
                     truncate("mysql", "m0002", Timestamp{1'700'000'600, 0})},
                    {{1, 2}}, 2));
  EXPECT_EQ(watermarks(), (std::vector<std::string>{
                              "mysql: m0002 @ 2023-11-14 22:23:20.000000",
                              "postgres: p0005 @ 2023-11-14 22:21:40.250000",
                          }));
  sink->apply(batch({upsert("1", "p0004", "a")}, {{2, 1}}, 1));
  EXPECT_EQ(rows().at("postgres/1").at("IsDeleted"), "1") << "p0005 still holds";
  sink->apply(batch({truncate("postgres", "p0010", Timestamp{1'700'000'900, 0})}, {{0, 2}}, 1));
  EXPECT_EQ(watermarks(), (std::vector<std::string>{
                              "mysql: m0002 @ 2023-11-14 22:23:20.000000",
                              "postgres: p0010 @ 2023-11-14 22:28:20.000000",
                          }));
  sink->apply(batch({upsert("2", "p0008", "b"), upsert("3", "p0011", "c")}, {{2, 3}}, 2));
  const auto all = rows();
  EXPECT_EQ(all.at("postgres/2").at("IsDeleted"), "1");
  EXPECT_EQ(all.at("postgres/3").at("IsDeleted"), "0");
}

TEST_P(SinkServerTest, AFailedBatchLeavesTheWatermarkRowsAndOffsetsUntouched) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 1}}, 1));
  const auto before = rows();
  // The truncate runs first; the over-long serial staged after it fails the batch.
  Batch bad = batch({truncate("postgres", "p0005"), upsert("2", "p0006", std::string(65, 'x'))},
                    {{0, 2}, {1, 2}}, 2);
  try {
    sink->apply(bad);
    FAIL() << "a 65-character serial was accepted";
  } catch (const SinkError& error) {
    EXPECT_EQ(error.kind(), SinkError::Kind::Data) << error.what();
  }
  EXPECT_EQ(rows(), before);
  EXPECT_TRUE(watermarks().empty());
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"), (Offsets{{0, 1}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 1);

  bad.changes.back() = upsert("2", "p0006", "b");
  sink->apply(bad);
  EXPECT_EQ(watermarks(), std::vector<std::string>{"postgres: p0005 @ 2023-11-14 22:18:20.000000"});
  EXPECT_EQ(rows().at("postgres/1").at("IsDeleted"), "1");
  EXPECT_EQ(rows().at("postgres/2").at("IsDeleted"), "0");
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 2}, {1, 2}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 3);
}

TEST_P(SinkServerTest, OffsetsAdvanceWithTheRowsAndAFailedBatchLeavesBothUntouched) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 10}, {1, 5}}, 15));
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 10}, {1, 5}}));
  EXPECT_TRUE(sink->load_offsets("metersync-test", "other.topic").empty());
  EXPECT_EQ(sink->records_applied("metersync-test"), 15);
  const auto before = rows();

  // A serial longer than NVARCHAR(64): the server rejects the batch as a whole.
  Batch bad = batch({upsert("1", "p0002", "changed"), upsert("2", "p0003", "new"),
                     upsert("3", "p0004", std::string(65, 'x'))},
                    {{0, 13}, {1, 5}}, 3);
  try {
    sink->apply(bad);
    FAIL() << "a 65-character serial was accepted";
  } catch (const SinkError& error) {
    EXPECT_EQ(error.kind(), SinkError::Kind::Data) << error.what();
    EXPECT_FALSE(error.sqlstate().empty());
  }
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 10}, {1, 5}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 15);

  // The same sink goes on with the batch minus the bad row.
  bad.changes.pop_back();
  sink->apply(bad);
  EXPECT_EQ(rows().at("postgres/1").at("SerialNumber"), "changed");
  EXPECT_EQ(rows().at("postgres/2").at("SerialNumber"), "new");
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 13}, {1, 5}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 18);

  // A batch of only skipped records (tombstones, dead letters) still moves the offsets.
  sink->apply(batch({}, {{1, 9}}, 4));
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 13}, {1, 9}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 22);
}

// A batch retried after its COMMIT reached the server but the acknowledgement did not (the
// link cut between the two) is applied a second time: it must change nothing.
TEST_P(SinkServerTest, ABatchAppliedTwiceChangesNothingTheSecondTime) {
  auto sink = make_sink();
  const Batch first = batch({upsert("1", "p0001", "a"), upsert("2", "p0002", "b")},
                            {{0, 7}, {1, 3}}, 10);
  sink->apply(first);
  const auto after_first = rows();
  sink->apply(first);
  EXPECT_EQ(rows(), after_first);
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 7}, {1, 3}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 10);

  // An older batch (a writer that lost its partition and did not know yet) moves nothing back.
  sink->apply(batch({}, {{0, 5}}, 3));
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 7}, {1, 3}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 10);
}

// The sessions of this process other than the test's own connection: the sink's.
std::vector<std::string> other_sessions_of_this_process(OdbcConnection& raw) {
  std::vector<std::string> ids;
  for (const SqlRow& row :
       raw.query("SELECT session_id FROM sys.dm_exec_sessions WHERE host_process_id = " +
                 std::to_string(::getpid()) + " AND session_id <> @@SPID")) {
    if (row[0]) ids.push_back(*row[0]);
  }
  return ids;
}

TEST_P(SinkServerTest, LostConnectionIsTransientAndTheNextCallReconnects) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 1}}, 1));
  // The server ends the sink's session.
  if (target_.dialect == config::Dialect::Postgres) {
    raw_->query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND datname = current_database()");
    raw_->end_transaction(true);
  } else if (target_.dialect == config::Dialect::MariaDb) {
    const auto ids = raw_->query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
        "AND USER = 'sink'");
    ASSERT_FALSE(ids.empty());
    for (const SqlRow& id : ids) raw_->execute("KILL CONNECTION " + *id[0]);
  } else {
    // KILL needs the ALTER ANY CONNECTION permission (sysadmin and processadmin have it).
    const std::vector<std::string> ids = other_sessions_of_this_process(*raw_);
    ASSERT_FALSE(ids.empty()) << "no session of this process besides the test's own";
    for (const std::string& id : ids) {
      try {
        raw_->execute("KILL " + id);
      } catch (const SinkError& error) {
        GTEST_SKIP() << "this login may not end sessions (KILL needs ALTER ANY CONNECTION): "
                     << error.what();
      }
    }
  }
  const Batch next = batch({upsert("1", "p0002", "b")}, {{0, 2}}, 1);
  try {
    sink->apply(next);
    FAIL() << "apply succeeded on a connection the server had ended";
  } catch (const SinkError& error) {
    EXPECT_EQ(error.kind(), SinkError::Kind::Transient) << error.what();
  }
  // Retried, as a pipeline does after a Transient error: the sink reconnects.
  sink->apply(next);
  EXPECT_EQ(rows().at("postgres/1").at("SerialNumber"), "b");
  EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"), (Offsets{{0, 2}}));
  EXPECT_EQ(sink->records_applied("metersync-test"), 2);
}

TEST_P(SinkServerTest, TheStagePathIsTheOneConfiguredAndSaysWhy) {
  auto sink = make_sink();
  if (target_.dialect != config::Dialect::SqlServer) {
    EXPECT_EQ(sink->stage(), SinkStage::Documents);
    return;
  }
  EXPECT_EQ(sink->stage(), GetParam() == "sqlserver" ? SinkStage::Json : SinkStage::Rows);
  EXPECT_NE(sink->stage_description().find("compatibility level"), std::string::npos)
      << sink->stage_description();
  // auto: the JSON stage exactly when the server answers OPENJSON.
  config::SinkConfig automatic = config_;
  automatic.sqlserver_stage = config::SqlServerStage::Auto;
  bool answers = true;
  try {
    raw_->query("SELECT COUNT(*) FROM OPENJSON(N'[1]')");
  } catch (const SinkError&) {
    answers = false;
  }
  EXPECT_EQ(Sink(automatic).stage(), answers ? SinkStage::Json : SinkStage::Rows);
}

TEST_P(SinkServerTest, TextThatIsNotUtf8IsADataErrorAndNothingIsWritten) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 1}}, 1));
  const auto before = rows();
  // A lone surrogate encoded in UTF-8 (CESU-style), a truncated sequence, an overlong form.
  for (const std::string& bad : {std::string("\xED\xA0\x80"), std::string("ab\xE2\x82"),
                                std::string("\xC0\xAF")}) {
    try {
      sink->apply(batch({upsert("1", "p0002", "changed"), upsert("2", "p0003", bad)}, {{0, 3}}, 2));
      FAIL() << "accepted text that is not UTF-8";
    } catch (const SinkError& error) {
      EXPECT_EQ(error.kind(), SinkError::Kind::Data) << error.what();
    }
    EXPECT_EQ(rows(), before);
  }
}

TEST_P(SinkServerTest, ANulCharacterRoundTripsOrIsADataErrorNeverCut) {
  auto sink = make_sink();
  const std::string with_nul = std::string("before") + '\0' + "after";
  try {
    sink->apply(batch({upsert("1", "p0001", with_nul)}, {{0, 1}}, 1));
  } catch (const SinkError& error) {
    EXPECT_TRUE(rows().empty());
    if (target_.dialect == config::Dialect::SqlServer && babelfish()) {
      // PostgreSQL cannot store U+0000 in text, and Babelfish says so with its generic
      // 33557097 (Fatal), where SQL Server stores the character (docs/sqlserver.md).
      EXPECT_EQ(error.native_error(), 33557097) << error.what();
      EXPECT_NE(std::string(error.what()).find("code point 0"), std::string::npos) << error.what();
      return;
    }
    // PostgreSQL refuses U+0000 in text as a data error.
    EXPECT_EQ(error.kind(), SinkError::Kind::Data) << error.what();
    return;
  }
  // Compared on the server: MariaDB's ODBC driver cuts text at U+0000 when reading it
  // back, though the stored value is whole.
  const std::string length = target_.dialect == config::Dialect::SqlServer ? "LEN" : "CHAR_LENGTH";
  const std::string serial = dialect_->quote("SerialNumber");
  const auto stored = raw_->query(
      "SELECT " + length + "(" + serial + "), CASE WHEN " + serial +
          " = ? THEN 1 ELSE 0 END FROM " + dialect_->quote(config_.table),
      {SqlParam::national(with_nul)});
  if (target_.dialect != config::Dialect::SqlServer) raw_->end_transaction(true);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0][0], std::to_string(with_nul.size()));
  EXPECT_EQ(stored[0][1], "1");
}

TEST_P(SinkServerTest, ExtremesUnicodeAndMicrosecondsRoundTripExactly) {
  auto sink = make_sink();
  MeterChange high = upsert("Zähler-Ω-😀-中文", "p0001", std::string(60, 'x') + "Ω😀中");
  high.row.manufacturer = std::string(97, 'm') + "äΩ中";  // exactly NVARCHAR(100)
  high.row.multiplier = Decimal{false, "999999999", 4};
  high.row.last_reading_value = Decimal{false, "999999999999999999", 3};
  high.row.last_reading_at =
      Timestamp{253402300799, 999'999'999};  // 9999-12-31 23:59:59.999999999 -> truncated
  high.row.latitude = Decimal{false, "90000000", 6};
  high.row.longitude = Decimal{false, "180000000", 6};
  high.row.install_date = Date{2'932'896};  // 9999-12-31
  high.row.source_committed_at = Timestamp{253402300799, 999'000'000};
  MeterChange low = upsert("low", "p0002", "ß");
  low.row.manufacturer = std::nullopt;
  low.row.multiplier = Decimal{true, "999999999", 4};
  low.row.last_reading_value = Decimal{true, "999999999999999999", 3};
  low.row.last_reading_at = Timestamp{-2'208'988'800, 1'000};  // 1900-01-01 00:00:00.000001
  low.row.latitude = Decimal{true, "1", 6};
  low.row.longitude = std::nullopt;
  low.row.install_date = std::nullopt;
  MeterChange zero = upsert("zero", "p0003", "0");
  zero.row.last_reading_value = Decimal{false, "0", 3};
  zero.row.last_reading_at = std::nullopt;
  zero.row.latitude = Decimal{false, "0", 6};
  sink->apply(batch({high, low, zero}, {{0, 3}}, 3));

  const auto all = rows();
  const Row& h = all.at("postgres/Zähler-Ω-😀-中文");
  EXPECT_EQ(h.at("SerialNumber"), std::string(60, 'x') + "Ω😀中");
  EXPECT_EQ(h.at("Manufacturer"), std::string(97, 'm') + "äΩ中");
  EXPECT_EQ(h.at("Multiplier"), "99999.9999");
  EXPECT_EQ(h.at("LastReadingValue"), "999999999999999.999");
  EXPECT_EQ(h.at("LastReadingAt"), "9999-12-31 23:59:59.999999");
  EXPECT_EQ(h.at("Latitude"), "90.000000");
  EXPECT_EQ(h.at("Longitude"), "180.000000");
  EXPECT_EQ(h.at("InstallDate"), "9999-12-31");
  EXPECT_EQ(h.at("SourceCommittedAt"), "9999-12-31 23:59:59.999000");
  const Row& l = all.at("postgres/low");
  EXPECT_EQ(l.at("SerialNumber"), "ß");
  EXPECT_EQ(l.at("Manufacturer"), std::nullopt);
  EXPECT_EQ(l.at("Multiplier"), "-99999.9999");
  EXPECT_EQ(l.at("LastReadingValue"), "-999999999999999.999");
  EXPECT_EQ(l.at("LastReadingAt"), "1900-01-01 00:00:00.000001");
  EXPECT_EQ(l.at("Latitude"), "-0.000001");
  EXPECT_EQ(l.at("Longitude"), std::nullopt);
  EXPECT_EQ(l.at("InstallDate"), std::nullopt);
  const Row& z = all.at("postgres/zero");
  EXPECT_EQ(z.at("LastReadingValue"), "0.000");
  EXPECT_EQ(z.at("LastReadingAt"), std::nullopt);
  EXPECT_EQ(z.at("Latitude"), "0.000000");
  EXPECT_EQ(z.at("Multiplier"), "1.0000");
  EXPECT_EQ(z.at("InstallDate"), "2024-10-04");
  EXPECT_EQ(z.at("LastReadingAt"), std::nullopt);
}

TEST_P(SinkServerTest, LargeBatchesSpanStageChunks) {
  auto sink = make_sink();
  std::vector<MeterChange> changes;
  for (int i = 0; i < 400; ++i)
    changes.push_back(upsert(std::to_string(i), "p1" + std::to_string(1000 + i), "v1"));
  // Repeated updates of the same meters inside the batch: the last one wins.
  for (int i = 0; i < 400; i += 2)
    changes.push_back(upsert(std::to_string(i), "p2" + std::to_string(1000 + i), "v2"));
  sink->apply(batch(changes, {{0, 600}}, 600));
  auto all = rows();
  ASSERT_EQ(all.size(), 400u);
  for (int i = 0; i < 400; ++i) {
    EXPECT_EQ(all.at("postgres/" + std::to_string(i)).at("SerialNumber"), i % 2 == 0 ? "v2" : "v1")
        << i;
  }
  // A second batch: half of it stale, half newer.
  changes.clear();
  for (int i = 0; i < 400; ++i) {
    changes.push_back(
        upsert(std::to_string(i), (i % 2 == 0 ? "p0" : "p3") + std::to_string(1000 + i), "v3"));
  }
  sink->apply(batch(changes, {{0, 1000}}, 400));
  all = rows();
  for (int i = 0; i < 400; ++i) {
    EXPECT_EQ(all.at("postgres/" + std::to_string(i)).at("SerialNumber"), i % 2 == 0 ? "v2" : "v3")
        << i;
  }
  EXPECT_EQ(sink->records_applied("metersync-test"), 1000);
}

TEST_P(SinkServerTest, ConcurrentWritersOfTheSameKeysConverge) {
  make_sink();
  // Two sinks (two connections) write overlapping new and existing keys at the same
  // time; without serialization both would insert the same new key. Retried on
  // Transient errors (deadlocks), as the pipeline does.
  std::atomic<int> failures{0};
  const auto writer = [&](int parity) {
    try {
      Sink sink(config_);
      for (int round = 0; round < 15; ++round) {
        std::vector<MeterChange> changes;
        for (int key = 0; key < 40; ++key) {
          const std::string position =
              "p" + std::to_string(100 + round) + "-" + std::to_string(parity);
          changes.push_back(
              upsert(std::to_string(key + round * 5), position, "w" + std::to_string(parity)));
        }
        Batch b = batch(changes, {{parity, round + 1}}, 40);
        for (int attempt = 0;; ++attempt) {
          try {
            sink.apply(b);
            break;
          } catch (const SinkError& error) {
            if (error.kind() != SinkError::Kind::Transient || attempt > 20) throw;
          }
        }
      }
    } catch (const std::exception& error) {
      ++failures;
      ADD_FAILURE() << "writer " << parity << ": " << error.what();
    }
  };
  std::thread first(writer, 0);
  std::thread second(writer, 1);
  first.join();
  second.join();
  ASSERT_EQ(failures.load(), 0);
  const auto all = rows();
  ASSERT_EQ(all.size(), 110u);  // keys 0..109
  // Every key holds the highest position any writer sent for it.
  for (int key = 0; key < 110; ++key) {
    const int last_round = std::min(14, key / 5);
    EXPECT_EQ(all.at("postgres/" + std::to_string(key)).at("SourcePosition"),
              "p" + std::to_string(100 + last_round) + "-1")
        << key;
  }
  Sink reader(config_);
  EXPECT_EQ(reader.records_applied("metersync-test"), 2 * 15 * 40);
  EXPECT_EQ(reader.load_offsets("metersync-test", "postgres.public.meter"),
            (Offsets{{0, 15}, {1, 15}}));
}

TEST_P(SinkServerTest, AWriterWaitsForAnotherWritersTransactionOnTheSameSource) {
  if (target_.dialect == config::Dialect::SqlServer)
    GTEST_SKIP() << "sp_getapplock: ConcurrentWritersOfTheSameKeysConverge and the T-SQL checks";
  make_sink();
  // The writer lock as the sink names it: the pipeline's offsets rows, schema-qualified.
  const auto schema = raw_->query(dialect_->default_schema_sql());
  raw_->end_transaction(true);
  ASSERT_FALSE(schema.empty());
  const auto qualified = Dialect::create(
      target_.dialect, {*schema[0][0], config_.table, config_.offsets_table, config_.truncates_table});
  const std::string resource = "metersync:" + qualified->offsets_table() + ":metersync-test";
  // Another writer (a previous owner of the partitions during a hand-over) holds it in an
  // open transaction.
  OdbcConnection holder(environment_, target_.connection, target_.dialect);
  holder.set_autocommit(false);
  const auto status = holder.query(dialect_->lock_sql(), {SqlParam::national(resource, 255)});
  ASSERT_EQ(status.size(), 1u);
  ASSERT_EQ(status[0][0], std::optional<std::string>("0"));

  std::atomic<bool> applied{false};
  std::string failure;
  // Outlives the writer thread: its session (and a session-scoped lock) stays open.
  Sink sink(config_);
  std::thread writer([&] {
    try {
      sink.apply(batch({upsert("1", "p1", "waited")}, {{0, 1}}, 1));
      applied = true;
    } catch (const std::exception& error) {
      failure = error.what();
    }
  });
  // The sink's session shows up waiting for that lock (bounded: 100 looks, 100 ms apart,
  // well inside the lock's 30 s timeout).
  const std::string waiting =
      target_.dialect == config::Dialect::Postgres
          ? "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
            "wait_event = 'advisory' AND datname = current_database()"
          : "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'User lock'";
  OdbcConnection observer(environment_, target_.connection, target_.dialect);
  bool seen_waiting = false;
  for (int look = 0; look < 100 && !seen_waiting && !applied; ++look) {
    const auto count = observer.query(waiting);
    observer.end_transaction(true);
    seen_waiting = !count.empty() && count[0][0] && *count[0][0] != "0";
    if (!seen_waiting) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen_waiting) << "the sink did not wait for the writer lock";
  EXPECT_FALSE(applied.load()) << "the batch committed while another writer held the lock";
  EXPECT_TRUE(rows().empty());
  // The other writer's transaction ends: the lock is released (MariaDB: explicitly, it
  // belongs to the session), the batch goes through.
  holder.end_transaction(false);
  if (!dialect_->unlock_sql().empty()) holder.query(dialect_->unlock_sql());
  holder.end_transaction(true);
  writer.join();
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_TRUE(applied.load());
  EXPECT_EQ(rows().at("postgres/1").at("SerialNumber"), "waited");
  // The sink released its own lock after committing: another transaction gets it at once.
  const auto again = holder.query(dialect_->lock_sql(), {SqlParam::national(resource, 255)});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0][0], std::optional<std::string>("0"));
  holder.end_transaction(false);
  if (!dialect_->unlock_sql().empty()) holder.query(dialect_->unlock_sql());
  holder.end_transaction(true);
}

TEST_P(SinkServerTest, TextNeedingJsonEscapesRoundTripsExactly) {
  auto sink = make_sink();
  // PostgreSQL and MariaDB receive rows inside one JSON document: quotes, backslashes
  // and control characters must come back byte for byte, in keys and positions too.
  const std::string id = "id \"q\" \\ b\\\\s /x";
  MeterChange change = upsert(id, "p\"0001\\", "tab\tnl\ncr\r\x01\x1f-\x7f-end");
  change.row.manufacturer = "\\u0041 is not A; \"quoted\" 😀";
  sink->apply(batch({change, key_only_delete("k\"\\", "p0009")}, {{0, 2}}, 2));
  const auto all = rows();
  ASSERT_EQ(all.size(), 1u);
  const Row& row = all.at("postgres/" + id);
  EXPECT_EQ(row.at("SerialNumber"), "tab\tnl\ncr\r\x01\x1f-\x7f-end");
  EXPECT_EQ(row.at("Manufacturer"), "\\u0041 is not A; \"quoted\" 😀");
  EXPECT_EQ(row.at("SourcePosition"), "p\"0001\\");
  // A key-only delete whose key needs escapes finds its row.
  sink->apply(batch({key_only_delete(id, "p\"0002")}, {{0, 3}}, 1));
  EXPECT_EQ(rows().at("postgres/" + id).at("IsDeleted"), "1");
  EXPECT_EQ(rows().at("postgres/" + id).at("SourcePosition"), "p\"0002");
}

TEST_P(SinkServerTest, EveryValueTheServerRefusesIsADataError) {
  auto sink = make_sink();
  sink->apply(batch({upsert("1", "p0001", "a")}, {{0, 1}}, 1));
  const auto before = rows();
  MeterChange too_large = upsert("2", "p0002", "b");
  too_large.row.last_reading_value = Decimal{false, "1000000000000000000", 3};  // 10^15
  MeterChange multiplier = upsert("3", "p0003", "c");
  multiplier.row.multiplier = Decimal{true, "1000000000", 4};  // -10^5 in DECIMAL(9,4)
  MeterChange long_id = upsert(std::string(64, 'i') + "Ω", "p0004", "d");
  MeterChange long_manufacturer = upsert("5", "p0005", "e");
  long_manufacturer.row.manufacturer = std::string(100, 'm') + "😀";
  MeterChange long_type = upsert("6", "p0006", "f");
  long_type.row.meter_type = std::string(17, 't');
  std::vector<MeterChange> refused{long_id, long_manufacturer, long_type};
  // Babelfish reports a DECIMAL overflow as 42000 with its generic number 33557097,
  // which is Fatal; SQL Server's own 8115 (22003) is Data.
  if (target_.dialect != config::Dialect::SqlServer) {
    refused.push_back(too_large);
    refused.push_back(multiplier);
  }
  for (const MeterChange& bad : refused) {
    try {
      sink->apply(batch({upsert("1", "p0010", "changed"), bad}, {{0, 5}}, 2));
      FAIL() << "accepted " << bad.row.source_meter_id;
    } catch (const SinkError& error) {
      EXPECT_EQ(error.kind(), SinkError::Kind::Data) << error.what();
    }
    EXPECT_EQ(rows(), before) << bad.row.source_meter_id;
    EXPECT_EQ(sink->load_offsets("metersync-test", "postgres.public.meter"), (Offsets{{0, 1}}));
  }
}

TEST_P(SinkServerTest, BatchesLargerThanOneDocumentApplyEveryRow) {
  auto sink = make_sink();
  // About 500 bytes a row: 10,000 rows are more than one document on every server (4 MiB;
  // 16 KiB on SQL Server's JSON stage, about 310 documents in one statement), so full rows go in
  // several statements and the key-only deletes after all of them.
  std::vector<MeterChange> changes;
  const std::string manufacturer = [] {
    std::string text;
    for (int i = 0; i < 50; ++i) text += "Ωä";
    return text;
  }();
  for (int i = 0; i < 10'000; ++i) {
    MeterChange change = upsert(std::string(50, 'k') + std::to_string(i),
                                "p1" + std::to_string(100000 + i), std::string(60, 's'));
    change.row.manufacturer = manufacturer;
    changes.push_back(change);
  }
  for (int i = 0; i < 10'000; i += 1000) {
    changes.push_back(key_only_delete(std::string(50, 'k') + std::to_string(i),
                                      "p2" + std::to_string(100000 + i)));
  }
  sink->apply(batch(changes, {{0, 10'010}}, 10'010));
  const auto all = rows();
  ASSERT_EQ(all.size(), 10'000u);
  int deleted = 0;
  for (const auto& [key, row] : all) {
    EXPECT_EQ(row.at("Manufacturer"), manufacturer) << key;
    if (row.at("IsDeleted") == "1") ++deleted;
  }
  EXPECT_EQ(deleted, 10);
  EXPECT_EQ(all.at("postgres/" + std::string(50, 'k') + "9000").at("SourcePosition"), "p2109000");
  EXPECT_EQ(sink->records_applied("metersync-test"), 10'010);
}

INSTANTIATE_TEST_SUITE_P(Servers, SinkServerTest,
                         ::testing::Values("postgres", "mariadb", "sqlserver", "sqlserver_rows"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace metersync::sink
