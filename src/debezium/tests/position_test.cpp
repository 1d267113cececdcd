// Positions must sort, as plain strings, in each source's own log order. Each table
// lists coordinates in source order; the test encodes them and checks the strings are
// strictly increasing (and that std::sort of shuffled strings restores that order).
#include "debezium/position.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

namespace metersync::debezium {
namespace {

std::string encode_ok(Connector connector, const SourceCoordinates& at) {
  auto position = encode_position(connector, at);
  EXPECT_TRUE(position.has_value()) << (position ? "" : position.error());
  return position ? position->text : std::string();
}

void expect_strictly_increasing(const std::vector<std::string>& encoded) {
  for (size_t i = 1; i < encoded.size(); ++i) {
    EXPECT_LT(encoded[i - 1], encoded[i]) << "entries " << i - 1 << " and " << i;
  }
  std::vector<std::string> shuffled = encoded;
  std::mt19937 random(7);
  std::shuffle(shuffled.begin(), shuffled.end(), random);
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, encoded);
}

SourceCoordinates pg(int64_t lsn) {
  SourceCoordinates at;
  at.lsn = lsn;
  return at;
}

TEST(PostgresPosition, FormatIsHighAndLowHalvesInFixedWidthHex) {
  EXPECT_EQ(encode_ok(Connector::Postgres, pg(0x16E9378)), "W/00000000/016E9378");
  EXPECT_EQ(encode_ok(Connector::Postgres, pg(0x1A2B3C4D5E6F7081)), "W/1A2B3C4D/5E6F7081");
}

TEST(PostgresPosition, SortsInLsnOrder) {
  std::vector<std::string> encoded;
  for (int64_t lsn : {int64_t{0}, int64_t{9}, int64_t{10}, int64_t{0xF}, int64_t{0x10},
                      int64_t{0xFFFFFFFF}, int64_t{0x100000000}, int64_t{0x100000001},
                      int64_t{0xA00000000}, int64_t{0x7FFFFFFFFFFFFFFF}}) {
    encoded.push_back(encode_ok(Connector::Postgres, pg(lsn)));
  }
  expect_strictly_increasing(encoded);
}

// A transaction may write before the slot's consistent point and commit after it: it is
// streamed with an LSN below the snapshot's and must still replace the snapshot row.
TEST(PostgresPosition, AStreamedChangeIsNewerThanASnapshotReadWhateverTheLsn) {
  SourceCoordinates snapshot = pg(0x2000);
  snapshot.snapshot = true;
  SourceCoordinates streamed_below = pg(0x1000);
  EXPECT_LT(encode_ok(Connector::Postgres, snapshot),
            encode_ok(Connector::Postgres, streamed_below));
  EXPECT_EQ(encode_ok(Connector::Postgres, snapshot), "S/00000000/00002000");
}

TEST(PostgresPosition, MissingLsnIsAnErrorExceptForIncrementalSnapshots) {
  SourceCoordinates at;
  auto missing = encode_position(Connector::Postgres, at);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), "source.lsn is missing");
  at.incremental_snapshot = true;
  EXPECT_EQ(encode_ok(Connector::Postgres, at), "S/00000000/00000000");
}

// An incremental-snapshot read as the PostgreSQL connector 3.6 sends it (lsn null, the
// stream's position at the window in `sequence`) sorts as a change streamed there: after
// the stored row of every earlier change of its key, before every later one.
TEST(PostgresPosition, IncrementalSnapshotReadsTakeTheirWindowsLsn) {
  SourceCoordinates at;
  at.incremental_snapshot = true;
  at.snapshot = true;
  at.sequence = R"(["31506192","31506192"])";
  EXPECT_EQ(encode_ok(Connector::Postgres, at), "W/00000000/01E0BF10");
  SourceCoordinates earlier;
  earlier.lsn = 31506000;
  SourceCoordinates later;
  later.lsn = 31506300;
  EXPECT_LT(encode_ok(Connector::Postgres, earlier), encode_ok(Connector::Postgres, at));
  EXPECT_GT(encode_ok(Connector::Postgres, later), encode_ok(Connector::Postgres, at));
  at.sequence = R"([null,"4294967296"])";
  EXPECT_EQ(encode_ok(Connector::Postgres, at), "W/00000001/00000000");
  at.sequence = R"(["31506192",null])";  // no window position: it fills gaps only
  EXPECT_EQ(encode_ok(Connector::Postgres, at), "S/00000000/00000000");
}

TEST(PostgresPosition, LastSequenceLsn) {
  EXPECT_EQ(last_sequence_lsn(R"(["1","22"])"), 22u);
  EXPECT_EQ(last_sequence_lsn(R"([null,"18446744073709551615"])"), 18446744073709551615u);
  EXPECT_EQ(last_sequence_lsn(R"(["1",null])"), std::nullopt);
  EXPECT_EQ(last_sequence_lsn(R"(["1","2x"])"), std::nullopt);
  EXPECT_EQ(last_sequence_lsn(R"(["1",""])"), std::nullopt);
  EXPECT_EQ(last_sequence_lsn(R"(["18446744073709551616"])"), std::nullopt);
  EXPECT_EQ(last_sequence_lsn(""), std::nullopt);
}

// A negative LSN cast to unsigned would be the highest position there is: every later
// change of that meter would then be ignored as stale.
TEST(PostgresPosition, NegativeLsnIsAnError) {
  for (int64_t lsn : {int64_t{-1}, int64_t{-0x16E9378}, std::numeric_limits<int64_t>::min()}) {
    auto position = encode_position(Connector::Postgres, pg(lsn));
    ASSERT_FALSE(position.has_value()) << lsn;
    EXPECT_EQ(position.error(), "source.lsn " + std::to_string(lsn) + " is negative");
    SourceCoordinates snapshot = pg(lsn);
    snapshot.snapshot = true;
    EXPECT_FALSE(encode_position(Connector::Postgres, snapshot).has_value()) << lsn;
  }
}

SourceCoordinates binlog(std::string_view file, int64_t pos, int64_t row) {
  SourceCoordinates at;
  at.file = file;
  at.pos = pos;
  at.row = row;
  return at;
}

TEST(BinlogPosition, Format) {
  EXPECT_EQ(encode_ok(Connector::MySql, binlog("mysql-bin.000003", 157, 2)),
            "mysql-bin.000003/00000000000000000157/0000000002");
}

TEST(BinlogPosition, SortsByFileThenPositionThenRow) {
  for (Connector connector : {Connector::MySql, Connector::MariaDb}) {
    std::vector<std::string> encoded;
    for (const auto& at :
         {binlog("mysql-bin.000001", 4, 0), binlog("mysql-bin.000001", 9, 0),
          binlog("mysql-bin.000001", 10, 0), binlog("mysql-bin.000001", 10, 1),
          binlog("mysql-bin.000001", 10, 9), binlog("mysql-bin.000001", 10, 10),
          binlog("mysql-bin.000001", 4294967296, 0), binlog("mysql-bin.000009", 4, 0),
          binlog("mysql-bin.000010", 4, 0), binlog("mysql-bin.000099", 100, 0),
          binlog("mysql-bin.000100", 4, 0), binlog("mysql-bin.999999", 4, 0)}) {
      encoded.push_back(encode_ok(connector, at));
    }
    expect_strictly_increasing(encoded);
  }
}

TEST(BinlogPosition, MissingOrNegativeFieldsAreErrors) {
  SourceCoordinates at = binlog("mysql-bin.000001", 4, 0);
  at.file.reset();
  EXPECT_EQ(encode_position(Connector::MySql, at).error(), "source.file is missing");
  at = binlog("mysql-bin.000001", 4, 0);
  at.pos.reset();
  EXPECT_EQ(encode_position(Connector::MariaDb, at).error(), "source.pos is missing");
  at = binlog("mysql-bin.000001", 4, 0);
  at.row.reset();
  EXPECT_EQ(encode_position(Connector::MySql, at).error(), "source.row is missing");
  EXPECT_FALSE(encode_position(Connector::MySql, binlog("mysql-bin.000001", -1, 0)).has_value());
  EXPECT_FALSE(encode_position(Connector::MySql, binlog("mysql-bin.000001", 4, -1)).has_value());
}

// '/' separates the position's parts; a control or non-ASCII byte is no server's file name.
TEST(BinlogPosition, MalformedFileNameIsAnError) {
  for (std::string_view bad : {std::string_view("a/mysql-bin.000001"), std::string_view("bin 1"),
                               std::string_view("bin\t1"), std::string_view("bin\x7f"),
                               std::string_view("Z\xc3\xa4hler.1")}) {
    auto position = encode_position(Connector::MariaDb, binlog(bad, 4, 0));
    ASSERT_FALSE(position.has_value()) << bad;
    EXPECT_TRUE(position.error().starts_with("source.file '")) << position.error();
  }
  EXPECT_EQ(encode_position(Connector::MySql, binlog("mysql-bin.000001", -4, 0)).error(),
            "source.pos -4 is negative");
}

TEST(BinlogPosition, TooLongForTheColumnIsAnError) {
  const std::string file(80, 'f');
  auto position = encode_position(Connector::MySql, binlog(file, 4, 0));
  ASSERT_FALSE(position.has_value());
  EXPECT_NE(position.error().find("longer than 100"), std::string::npos) << position.error();
}

SourceCoordinates mssql(std::optional<std::string_view> commit,
                        std::optional<std::string_view> change, std::optional<int64_t> serial) {
  SourceCoordinates at;
  at.commit_lsn = commit;
  at.change_lsn = change;
  at.event_serial_no = serial;
  return at;
}

TEST(SqlServerPosition, FormatUpperCasesDebeziumsLowerCaseHex) {
  EXPECT_EQ(
      encode_ok(Connector::SqlServer, mssql("0000002d:00000f58:0005", "0000002d:00000f58:0003", 2)),
      "0000002D:00000F58:0005/0000002D:00000F58:0003/0000000002");
  EXPECT_EQ(
      encode_ok(Connector::SqlServer, mssql("0000002d:00000f58:0005", std::nullopt, std::nullopt)),
      "0000002D:00000F58:0005/00000000:00000000:0000/0000000000");
}

TEST(SqlServerPosition, SortsByCommitLsnThenChangeLsnThenSerial) {
  std::vector<std::string> encoded;
  for (const auto& at : {
           mssql("0000002d:00000f58:0003", std::nullopt, std::nullopt),  // snapshot
           mssql("0000002d:00000f58:0003", "0000002d:00000f50:0002", 1),
           mssql("0000002d:00000f58:0003", "0000002d:00000f50:0002", 2),
           mssql("0000002d:00000f58:0003", "0000002d:00000f50:0002", 10),
           mssql("0000002d:00000f58:0003", "0000002d:00000f51:0002", 1),
           mssql("0000002d:00000f58:0009", "0000002d:00000f40:0002", 1),
           mssql("0000002d:00000f58:000a", "0000002d:00000f40:0002", 1),
           mssql("0000002d:00000f59:0000", "0000002d:00000f40:0002", 1),
           mssql("0000002e:00000000:0000", "0000002d:00000f40:0002", 1),
           mssql("ffffffff:ffffffff:ffff", "ffffffff:ffffffff:fffe", 1),
       }) {
    encoded.push_back(encode_ok(Connector::SqlServer, at));
  }
  expect_strictly_increasing(encoded);
}

TEST(SqlServerPosition, MalformedLsnIsAnError) {
  EXPECT_EQ(encode_position(Connector::SqlServer, mssql(std::nullopt, std::nullopt, 1)).error(),
            "source.commit_lsn is missing");
  for (std::string_view bad : {"0000002d:00000f58", "0000002d-00000f58-0003",
                               "0000002g:00000f58:0003", "2d:f58:3", "0000002d:00000f58:00030"}) {
    auto position = encode_position(Connector::SqlServer, mssql(bad, "0000002d:00000f58:0003", 1));
    ASSERT_FALSE(position.has_value()) << bad;
    EXPECT_NE(position.error().find("source.commit_lsn"), std::string::npos);
  }
}

SourceCoordinates ora(std::optional<std::string_view> commit, std::string_view scn,
                      std::optional<int64_t> ssn) {
  SourceCoordinates at;
  at.commit_scn = commit;
  at.scn = scn;
  at.ssn = ssn;
  return at;
}

TEST(OraclePosition, SnapshotUsesItsScnAsTheCommitScn) {
  EXPECT_EQ(encode_ok(Connector::Oracle, ora(std::nullopt, "2122184", 0)),
            "00000000000002122184/00000000000002122184/0000000000");
}

TEST(OraclePosition, SortsByCommitScnThenScnThenSsn) {
  std::vector<std::string> encoded;
  for (const auto& at : {
           ora(std::nullopt, "9", 0),  // snapshot at SCN 9
           ora("10", "8", 0),          // committed at 10, changed at 8
           ora("10", "9", 0),
           ora("10", "9", 1),
           ora("10", "9", 10),
           ora("10", "10", 0),
           ora("11", "2", 0),
           ora("99999999999", "5", 0),
           ora("9223372036854775808", "5", 0),  // beyond int64
           ora("18446744073709551615", "5", 0),
       }) {
    encoded.push_back(encode_ok(Connector::Oracle, at));
  }
  expect_strictly_increasing(encoded);
}

TEST(OraclePosition, MalformedScnIsAnError) {
  SourceCoordinates at;
  EXPECT_EQ(encode_position(Connector::Oracle, at).error(), "source.scn is missing");
  EXPECT_FALSE(encode_position(Connector::Oracle, ora("12a", "5", 0)).has_value());
  EXPECT_FALSE(
      encode_position(Connector::Oracle, ora("10", "123456789012345678901", 0)).has_value());
  EXPECT_FALSE(encode_position(Connector::Oracle, ora("10", "", 0)).has_value());
  EXPECT_FALSE(encode_position(Connector::Oracle, ora("10", "5", -1)).has_value());
}

}  // namespace
}  // namespace metersync::debezium
