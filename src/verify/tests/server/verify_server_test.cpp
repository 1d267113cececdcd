// verify against real servers, PostgreSQL (psqlODBC) and MariaDB (MariaDB ODBC), each started
// for this process in a temp dir: the shipped sources' tables and mappings (config/metersync.yaml)
// read over ODBC, Meter Master written by the sink, digests computed by each database.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "config/config.hpp"
#include "mapping/source_mapper.hpp"
#include "pipeline/record_processor.hpp"
#include "sink/odbc_connection.hpp"
#include "sink/odbc_environment.hpp"
#include "sink/sink.hpp"
#include "throwaway_server.hpp"
#include "verify/odbc_sides.hpp"
#include "verify/source_values.hpp"
#include "verify/verifier.hpp"

namespace metersync::verify {
namespace {

using sink::testing::ThrowawayServer;

class Servers : public ::testing::Environment {
 public:
  void TearDown() override { ThrowawayServer::stop_all(); }
};
const auto* const kServers = ::testing::AddGlobalTestEnvironment(new Servers);

class VerifyServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // "sqlserver": the source on the throwaway PostgreSQL, Meter Master on the SQL Server-compatible
    // server METERSYNC_SQLSERVER_ODBC names (skipped without it).
    sqlserver_ = GetParam() == "sqlserver";
    const char* sqlserver = std::getenv("METERSYNC_SQLSERVER_ODBC");
    if (sqlserver_ && (sqlserver == nullptr || *sqlserver == '\0'))
      GTEST_SKIP() << "set METERSYNC_SQLSERVER_ODBC to an ODBC connection string of a SQL Server-compatible server";
    ThrowawayServer& server = ThrowawayServer::get(sqlserver_ ? "postgres" : GetParam());
    if (!server.running()) {
      if (server.binaries_missing()) GTEST_SKIP() << GetParam() << " skipped: " << server.problem();
      FAIL() << server.problem();
    }
    postgres_ = GetParam() != "mariadb";
    ::setenv("SINK_ODBC", "unused", 0);
    config_ = config::load_file(std::string(METERSYNC_SOURCE_DIR) + "/config/metersync.yaml");
    static int counter = 0;
    suffix_ = std::to_string(::getpid()) + "_" + std::to_string(++counter);
    for (auto& source : config_.sources)
      if (source.name == (postgres_ ? "postgres" : "mysql")) source_ = source;
    table_ = (postgres_ ? "meter_" : "meters_") + suffix_;
    source_.topic = postgres_ ? "postgres.public." + table_ : "mysql.metersync_test." + table_;
    source_.connection = server.connection_string();
    config_.sink.dialect = sqlserver_ ? config::Dialect::SqlServer
                           : postgres_ ? config::Dialect::Postgres
                                       : config::Dialect::MariaDb;
    config_.sink.connection = sqlserver_ ? std::string(sqlserver) : server.connection_string();
    config_.sink.schema = "";
    config_.sink.table = "MM_" + suffix_;
    config_.sink.offsets_table = "OFF_" + suffix_;
    config_.sink.truncates_table = "TR_" + suffix_;
    raw_ = std::make_unique<sink::OdbcConnection>(environment_, server.connection_string(),
                                                  postgres_ ? config::Dialect::Postgres : config::Dialect::MariaDb);
    mm_raw_ = sqlserver_ ? std::make_unique<sink::OdbcConnection>(environment_, config_.sink.connection,
                                                                  config::Dialect::SqlServer)
                         : nullptr;
    const char* rows = std::getenv("METERSYNC_VERIFY_ROWS");
    measuring_ = rows != nullptr && *rows != '\0' && std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()).starts_with("Measure");
    create_source(measuring_ ? std::atoi(rows) : 700);
    sink_ = std::make_unique<sink::Sink>(config_.sink);
    sink_->init();
    columns_ = compared_columns(source_);
  }

  // Meter Master's own connection (the source's server but for SQL Server).
  sink::OdbcConnection& mm() { return mm_raw_ ? *mm_raw_ : *raw_; }

  void TearDown() override {
    if (!raw_) return;
    sink_.reset();
    try {
      raw_->execute("DROP TABLE " + std::string(postgres_ ? "\"" + table_ + "\"" : "`" + table_ + "`"));
    } catch (const sink::SinkError&) {
    }
    for (const std::string& t : {config_.sink.table, config_.sink.offsets_table, config_.sink.truncates_table})
      try {
        mm().execute("DROP TABLE " + q(t));
      } catch (const sink::SinkError&) {
      }
  }

  void create_source(int rows = 700) {
    const std::string n = std::to_string(rows);
    if (postgres_) {
      raw_->execute("CREATE TABLE public." + table_ + R"( (
        meter_id UUID PRIMARY KEY, serial_number TEXT NOT NULL, kind TEXT NOT NULL,
        manufacturer TEXT, active BOOLEAN NOT NULL DEFAULT true, removed_at TIMESTAMPTZ,
        installed_on DATE, multiplier NUMERIC(9,4) NOT NULL DEFAULT 1, last_reading NUMERIC,
        last_reading_at TIMESTAMPTZ, location JSONB))");
      // Every kind of value the mapping turns: rounding, JSON fields present or not, the
      // status cases, offsets other than UTC, NULLs.
      raw_->execute("INSERT INTO public." + table_ + R"(
        SELECT md5('m' || i)::uuid, 'SN-' || i, (ARRAY['electric','water','gas'])[1 + i % 3],
               CASE WHEN i % 4 = 0 THEN NULL ELSE 'Maker ' || (i % 7) || ' é' END,
               i % 5 <> 0, CASE WHEN i % 11 = 0 THEN TIMESTAMPTZ '2026-01-02 03:04:05+02' END,
               DATE '2020-01-01' + i, 1 + (i % 9) * 0.1234, CASE WHEN i % 6 <> 0 THEN i * 1.23456789 END,
               CASE WHEN i % 3 <> 0 THEN TIMESTAMPTZ '2026-11-24 19:43:00.123456+01' + i * INTERVAL '1 second' END,
               CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN jsonb_build_object('lat', 51.5 + i * 0.0000001234, 'lon', -0.1425)
                          WHEN 2 THEN '{"lat": 48.8584}'::jsonb ELSE '{}'::jsonb END
        FROM generate_series(1, )" + n + ") AS i");
    } else {
      raw_->execute("CREATE TABLE " + table_ + R"( (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, serial VARCHAR(64) NOT NULL,
        type ENUM('electric','water','gas') NOT NULL, manufacturer VARCHAR(100) NULL,
        status ENUM('active','inactive','removed') NOT NULL DEFAULT 'active', installed_at DATETIME NULL,
        multiplier DECIMAL(9,4) NOT NULL DEFAULT 1.0000, last_reading DOUBLE NULL,
        last_reading_at TIMESTAMP(6) NULL, latitude DOUBLE NULL, longitude DOUBLE NULL
      ) DEFAULT CHARSET=utf8mb4)");
      raw_->execute("INSERT INTO " + table_ + R"(
        SELECT CASE WHEN seq = )" + n + R"( THEN 18446744073709551615 ELSE seq * 3 END, CONCAT('SN-', seq),
               ELT(1 + seq % 3, 'electric', 'water', 'gas'),
               IF(seq % 4 = 0, NULL, CONCAT('Maker ', seq % 7, ' é')),
               ELT(1 + seq % 3, 'active', 'inactive', 'removed'),
               IF(seq % 5 = 0, NULL, TIMESTAMP '2020-01-01 13:14:15' + INTERVAL seq DAY),
               1 + (seq % 9) * 0.1234, IF(seq % 6 = 0, NULL, seq * 1.23456789),
               IF(seq % 3 = 0, NULL, TIMESTAMP '2026-11-24 19:43:00.123456' + INTERVAL seq SECOND),
               IF(seq % 4 = 0, NULL, 51.5 + seq * 0.0000001234), IF(seq % 4 = 0, NULL, -0.1425)
        FROM seq_1_to_)" + n);
    }
  }

  // Meter Master as the pipeline leaves it: every source row mapped and applied by the sink.
  void sync_meter_master() {
    mapping::SourceMapper mapper(source_);
    if (postgres_) raw_->execute("SET TIME ZONE 'UTC'");
    else raw_->execute("SET time_zone = '+00:00'");
    const std::string key = postgres_ ? "meter_id" : "id";
    const std::vector<std::string> table{postgres_ ? "public" : "metersync_test", table_};
    std::optional<std::string> last, cast;
    int64_t offset = 0;
    while (true) {
      std::vector<sink::SqlParam> params;
      if (last) params.push_back(sink::SqlParam::national(*last));
      const auto page = raw_->query_described(
          source_page_sql(source_.connector, table, key, 5000, last ? cast : std::nullopt), params);
      if (page.rows.empty()) break;
      // query_described reads with a block cursor (text narrow where the driver's narrow text is
      // UTF-8); query with per-cell SQLGetData as UTF-16. Every value of every kind must be the
      // same text both ways, or Meter Master written here would repeat a wrong reading.
      if (!measuring_) {
        ASSERT_EQ(page.rows, raw_->query(source_page_sql(source_.connector, table, key, 5000,
                                                         last ? cast : std::nullopt),
                                         params));
      }
      if (!cast) cast = key_cast(source_.connector, page.columns[0]);
      last = page.rows.back()[0];
      sink::Batch batch{"verify-test", source_.topic, {}, {{0, ++offset}}, 1};
      for (const auto& raw : page.rows) {
        auto row = source_row(page.columns, raw);
        ASSERT_TRUE(row.has_value()) << row.error().reason;
        ChangeEvent event{pipeline::connector_of(source_), Op::Read, std::nullopt, *row,
                          Position{postgres_ ? "S/00000000/00000001" : "f/00000000000000000001/0000000001"},
                          1'700'000'000'000, table_, true};
        auto change = mapper.map(event);
        ASSERT_TRUE(change.has_value()) << change.error().reason;
        batch.changes.push_back(std::move(*change));
      }
      sink_->apply(batch);
    }
  }

  // `recheck`: the re-check rounds run, with a pipeline that is always caught up (no Kafka here).
  SourceReport verify(bool recheck = false) {
    OdbcSourceTable source(environment_, source_, columns_, 64);  // pages of 64: paging exercised
    OdbcMeterMaster meter_master(environment_, config_.sink, source_.name, columns_);
    VerifyOptions options;
    for (const auto* c : columns_) options.column_names.emplace_back(c->name);
    if (recheck) options.catch_up = []() -> Result<bool> { return true; };
    return Verifier(source, meter_master, options).run(source_.name);
  }

  std::string mm(const std::string& column) { return "\"" + column + "\""; }
  std::string q(const std::string& name) {
    if (sqlserver_) return "[" + name + "]";
    return postgres_ ? "\"" + name + "\"" : "`" + name + "`";
  }

  bool postgres_ = true;
  bool sqlserver_ = false;
  std::unique_ptr<sink::OdbcConnection> mm_raw_;
  bool measuring_ = false;
  config::Config config_;
  config::SourceConfig source_;
  std::string suffix_, table_;
  sink::OdbcEnvironment environment_;
  std::unique_ptr<sink::OdbcConnection> raw_;
  std::unique_ptr<sink::Sink> sink_;
  std::vector<const config::TargetColumn*> columns_;
};

// The pass reads key ranges planned at its start over several connections; rows inserted into
// a range after that (here the last one, read last) are read too, the range page by page.
TEST_P(VerifyServerTest, APassReadsEveryRangeAndRowsInsertedAfterItsPlan) {
  OdbcSourceTable source(environment_, source_, columns_, 64, 3);
  source.restart();
  auto first = source.next_page();
  ASSERT_TRUE(first.has_value()) << first.error().describe();
  ASSERT_EQ(first->size(), 64u);
  int64_t rows = static_cast<int64_t>(first->size());
  // 150 keys above every existing one: more than a range's 65-row read.
  if (postgres_)
    raw_->execute("INSERT INTO public." + table_ +
                  " (meter_id, serial_number, kind) SELECT ('ffffffff-ffff-ffff-ffff-' || lpad(i::text, 12, '0'))::uuid, "
                  "'late-' || i, 'gas' FROM generate_series(1, 150) AS i");
  else
    raw_->execute("INSERT INTO " + table_ + " (id, serial, type) SELECT 18446744073709551000 + seq, "
                  "CONCAT('late-', seq), 'gas' FROM seq_1_to_150");
  std::set<std::string> keys;
  for (const auto& row : *first) keys.insert(row.source_key);
  while (true) {
    auto page = source.next_page();
    ASSERT_TRUE(page.has_value()) << page.error().describe();
    if (page->empty()) break;
    rows += static_cast<int64_t>(page->size());
    for (const auto& row : *page) {
      EXPECT_TRUE(row.mapped.has_value()) << row.source_key << ": " << row.failure;
      EXPECT_TRUE(keys.insert(row.source_key).second) << row.source_key << " read twice";
    }
  }
  EXPECT_EQ(rows, 700 + 150);
  // A second pass plans again and reads the same rows.
  source.restart();
  int64_t again = 0;
  while (true) {
    auto page = source.next_page();
    ASSERT_TRUE(page.has_value()) << page.error().describe();
    if (page->empty()) break;
    again += static_cast<int64_t>(page->size());
  }
  EXPECT_EQ(again, 850);
}

TEST_P(VerifyServerTest, AnEqualTableIsVerifiedFromTheDatabasesDigests) {
  sync_meter_master();
  const SourceReport report = verify();
  EXPECT_EQ(report.error, "");
  EXPECT_EQ(report.source_rows, 700);
  EXPECT_EQ(report.meter_master_rows, 700);
  EXPECT_EQ(report.differing_buckets, 0u) << "the database's digests differ from metersync's";
  EXPECT_EQ(report.meter_master_rows_read, 0);
  EXPECT_TRUE(report.equal());
}

TEST_P(VerifyServerTest, EachPlantedDivergenceIsReportedWithItsColumns) {
  sync_meter_master();
  const auto keys = mm().query("SELECT " + q("SourceMeterId") + " FROM " + q(config_.sink.table) +
                                " ORDER BY " + q("SourceMeterId"));
  ASSERT_GE(keys.size(), 4u);
  const std::string deleted = *keys[0][0], changed = *keys[1][0], source_changed = *keys[2][0];
  const std::string where = " WHERE " + q("SourceSystem") + " = '" + source_.name + "' AND " +
                            q("SourceMeterId") + " = ";
  mm().execute("DELETE FROM " + q(config_.sink.table) + where + "'" + deleted + "'");
  mm().execute("UPDATE " + q(config_.sink.table) + " SET " + q("SerialNumber") + " = 'hand edit'" +
                where + "'" + changed + "'");
  mm().execute("INSERT INTO " + q(config_.sink.table) + " (" + q("SourceSystem") + ", " +
                q("SourceMeterId") + ", " + q("SerialNumber") + ", " + q("MeterType") + ", " +
                q("Status") + ", " + q("Multiplier") + ", " + q("IsDeleted") + ", " +
                q("SourceCommittedAt") + ", " + q("SourcePosition") + ", " + q("SyncedAt") + ") VALUES ('" +
                source_.name + "', 'extra', 'X', 'gas', 'active', 1, " + (postgres_ && !sqlserver_ ? "false" : "0") +
                ", '2026-01-01 00:00:00', 'x', '2026-01-01 00:00:00')");
  // A source change Meter Master never saw.
  const std::string source_key = postgres_ ? "meter_id" : "id";
  const std::string source_key_value =
      postgres_ ? source_changed : source_changed;  // SourceMeterId is the key's text in both
  raw_->execute("UPDATE " + table_ + " SET manufacturer = 'Renamed' WHERE " + source_key + " = '" +
                source_key_value + "'");

  const SourceReport report = verify();
  ASSERT_EQ(report.error, "");
  std::map<std::string, Difference> by_key;
  for (const auto& d : report.differences) by_key.emplace(d.key, d);
  ASSERT_EQ(by_key.size(), 4u);
  EXPECT_EQ(by_key.at(deleted).kind, Difference::Kind::Missing);
  EXPECT_EQ(by_key.at("extra").kind, Difference::Kind::ExtraLive);
  ASSERT_EQ(by_key.at(changed).columns.size(), 1u);
  EXPECT_EQ(by_key.at(changed).columns[0].column, "SerialNumber");
  EXPECT_EQ(by_key.at(changed).columns[0].meter_master, "hand edit");
  ASSERT_EQ(by_key.at(source_changed).columns.size(), 1u);
  EXPECT_EQ(by_key.at(source_changed).columns[0].column, "Manufacturer");
  EXPECT_EQ(by_key.at(source_changed).columns[0].source, "Renamed");
  EXPECT_LT(report.meter_master_rows_read, 200);  // only the differing buckets' rows
}

TEST_P(VerifyServerTest, ReChecksLookDifferingKeysUpBySourceKey) {
  sync_meter_master();
  const auto keys = mm().query("SELECT " + q("SourceMeterId") + " FROM " + q(config_.sink.table) +
                               " ORDER BY " + q("SourceMeterId"));
  ASSERT_GE(keys.size(), 700u);
  // The last keys too: the largest BIGINT UNSIGNED is looked up on MariaDB.
  const std::string deleted = *keys[3][0], changed = *keys.back()[0];
  const std::string where = " WHERE " + q("SourceSystem") + " = '" + source_.name + "' AND " +
                            q("SourceMeterId") + " = ";
  mm().execute("DELETE FROM " + q(config_.sink.table) + where + "'" + deleted + "'");
  mm().execute("UPDATE " + q(config_.sink.table) + " SET " + q("Multiplier") + " = 7" + where + "'" + changed + "'");
  const SourceReport report = verify(true);
  ASSERT_EQ(report.error, "");
  ASSERT_EQ(report.differences.size(), 2u);
  std::map<std::string, Difference> by_key;
  for (const auto& d : report.differences) by_key.emplace(d.key, d);
  EXPECT_EQ(by_key.at(deleted).kind, Difference::Kind::Missing);
  ASSERT_EQ(by_key.at(changed).columns.size(), 1u);
  EXPECT_EQ(by_key.at(changed).columns[0].column, "Multiplier");
  EXPECT_EQ(by_key.at(changed).columns[0].meter_master, "7.0000");
  EXPECT_EQ(report.source_passes, 2);           // digests, rows of the differing buckets
  EXPECT_EQ(report.source_rows_looked_up, 4);   // two keys, two re-check rounds
  EXPECT_EQ(report.caught_up, true);
}

TEST_P(VerifyServerTest, AMissingSourceTableIsAClearError) {
  source_.topic = postgres_ ? "postgres.public.no_such_table" : "mysql.metersync_test.no_such_table";
  const SourceReport report = verify();
  EXPECT_FALSE(report.equal());
  EXPECT_NE(report.error.find("no_such_table"), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("fix: sources." + source_.name + ".topic"), std::string::npos) << report.error;
  std::cout << report.error << "\n";
}

// The source is read with a block cursor into buffers of a bounded size per cell; a longer
// value (here in row 1,500 of 2,000, after blocks were fetched) makes the read start again with
// per-cell SQLGetData, so every value arrives whole, NULLs and non-ASCII text included.
TEST_P(VerifyServerTest, AValueLongerThanTheBlockBuffersIsReadWhole) {
  if (sqlserver_) GTEST_SKIP() << "the source side is the PostgreSQL one";
  const std::string sql =
      postgres_ ? "SELECT i, CASE WHEN i = 1500 THEN repeat(U&'\\00E9', 3000) WHEN i % 7 = 0 THEN NULL "
                  "ELSE U&'r\\00E9' || i END AS t FROM generate_series(1, 2000) AS i ORDER BY i"
                : "SELECT seq AS i, CASE WHEN seq = 1500 THEN REPEAT(CONVERT(X'C3A9' USING utf8mb4), 3000) "
                  "WHEN seq % 7 = 0 THEN NULL ELSE CONCAT(CONVERT(X'72C3A9' USING utf8mb4), seq) END AS t "
                  "FROM seq_1_to_2000 ORDER BY seq";
  const auto result = raw_->query_described(sql);
  ASSERT_EQ(result.rows.size(), 2000u);
  ASSERT_EQ(result.columns.size(), 2u);
  std::string long_text;
  for (int i = 0; i < 3000; ++i) long_text += "\xC3\xA9";
  for (int i = 1; i <= 2000; ++i) {
    const auto& row = result.rows[static_cast<size_t>(i - 1)];
    ASSERT_EQ(row[0], std::optional<std::string>(std::to_string(i)));
    if (i == 1500)
      EXPECT_EQ(row[1], std::optional<std::string>(long_text));
    else if (i % 7 == 0)
      EXPECT_EQ(row[1], std::nullopt) << i;
    else
      EXPECT_EQ(row[1], std::optional<std::string>("r\xC3\xA9" + std::to_string(i))) << i;
  }
}

// Not a check: times verify on a large table when METERSYNC_VERIFY_ROWS is set (docs/verify.md),
// beside a plain paged read of both tables through ODBC.
TEST_P(VerifyServerTest, MeasureLargeTable) {
  if (!measuring_ || sqlserver_) GTEST_SKIP() << "set METERSYNC_VERIFY_ROWS to measure (PostgreSQL, MariaDB)";
  sync_meter_master();
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
  };
  // This process's CPU time (all threads): what metersync's side costs, whatever else runs.
  const auto cpu_seconds = [] {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  };
  // Baseline: both tables read whole, page by page, as text, without mapping.
  double cpu_started = cpu_seconds();
  auto started = Clock::now();
  int64_t read = 0;
  const std::vector<std::string> table{postgres_ ? "public" : "metersync_test", table_};
  const std::string key = postgres_ ? "meter_id" : "id";
  std::optional<std::string> last, cast;
  while (true) {
    std::vector<sink::SqlParam> params;
    if (last) params.push_back(sink::SqlParam::national(*last));
    const auto page = raw_->query_described(
        source_page_sql(source_.connector, table, key, 10000, last ? cast : std::nullopt), params);
    if (page.rows.empty()) break;
    if (!cast) cast = key_cast(source_.connector, page.columns[0]);
    last = page.rows.back()[0];
    read += static_cast<int64_t>(page.rows.size());
  }
  const std::string mm_table = q(config_.sink.table);
  std::optional<std::string> mm_last;
  while (true) {
    std::vector<sink::SqlParam> params{sink::SqlParam::ascii(source_.name)};
    if (mm_last) params.push_back(sink::SqlParam::national(*mm_last));
    const auto rows = raw_->query("SELECT * FROM " + mm_table + " WHERE " + q("SourceSystem") + " = ?" +
                                  (mm_last ? " AND " + q("SourceMeterId") + " > ?" : "") + " ORDER BY " +
                                  q("SourceMeterId") + " LIMIT 10000", params);
    if (rows.empty()) break;
    mm_last = rows.back()[1];
    read += static_cast<int64_t>(rows.size());
  }
  const double baseline = seconds(started);
  const double baseline_cpu = cpu_seconds() - cpu_started;
  cpu_started = cpu_seconds();
  const SourceReport equal = verify();
  const double equal_cpu = cpu_seconds() - cpu_started;
  EXPECT_TRUE(equal.equal());
  // About 0.1% of the rows (4 in 4,096 by their key's MD5), the same ones in every run.
  raw_->execute("UPDATE " + mm_table + " SET " + q("SerialNumber") + " = 'measured' WHERE " +
                (postgres_ ? "substr(md5(" : "SUBSTRING(MD5(") + q("SourceMeterId") + "), 1, 3) < '004'");
  const auto changed_rows = raw_->query("SELECT COUNT(*) FROM " + mm_table + " WHERE " + q("SerialNumber") +
                                        " = 'measured'");
  const size_t changed = std::stoul(changed_rows.at(0).at(0).value_or("0"));
  const SourceReport differing = verify();
  EXPECT_EQ(differing.differences.size(), changed);
  std::cout << GetParam() << " " << equal.source_rows << " rows: read both tables whole " << baseline
            << " s (" << read << " rows); verify equal " << equal.seconds << " s (" << equal.buckets
            << " buckets; Meter Master digests " << equal.digest_seconds << " s, source pass "
            << equal.first_pass_seconds << " s); verify with " << differing.differences.size() << " differing "
            << differing.seconds << " s (" << differing.differing_buckets << " buckets differed, "
            << differing.source_passes << " source passes, " << differing.meter_master_rows_read
            << " Meter Master rows read)\n";
  // The same figures on one line for bench/verify.py (bench/run --parts verify).
  std::cout << "METERSYNC_VERIFY_MEASURE {\"source\": \"" << GetParam() << "\", \"rows\": " << equal.source_rows
            << ", \"read_whole_s\": " << baseline << ", \"read_whole_cpu_s\": " << baseline_cpu
            << ", \"read_rows\": " << read << ", \"equal_s\": " << equal.seconds << ", \"equal_cpu_s\": " << equal_cpu
            << ", \"equal\": " << (equal.equal() ? "true" : "false") << ", \"buckets\": " << equal.buckets
            << ", \"digest_s\": " << equal.digest_seconds << ", \"first_pass_s\": " << equal.first_pass_seconds
            << ", \"changed\": " << changed << ", \"differing_s\": " << differing.seconds
            << ", \"differences\": " << differing.differences.size()
            << ", \"differing_buckets\": " << differing.differing_buckets << ", \"source_passes\": "
            << differing.source_passes << ", \"meter_master_rows_read\": " << differing.meter_master_rows_read
            << "}\n" << std::flush;
}

INSTANTIATE_TEST_SUITE_P(Servers, VerifyServerTest, ::testing::Values("postgres", "mariadb", "sqlserver"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metersync::verify
