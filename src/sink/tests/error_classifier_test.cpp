#include "sink/error_classifier.hpp"

#include <gtest/gtest.h>

namespace metersync::sink {
namespace {

using Kind = SinkError::Kind;
using config::Dialect;

struct Case {
  Dialect dialect;
  const char* sqlstate;
  long native;
  Kind expected;
};

TEST(ErrorClassifier, Table) {
  const Case cases[] = {
      // Connection trouble, timeouts, deadlocks: retry the batch.
      {Dialect::Postgres, "08001", 0, Kind::Transient},
      {Dialect::Postgres, "08S01", 0, Kind::Transient},
      {Dialect::SqlServer, "08S01", 20004, Kind::Transient},
      {Dialect::MariaDb, "08004", 0, Kind::Transient},
      {Dialect::SqlServer, "HYT00", 0, Kind::Transient},
      {Dialect::Postgres, "HYT01", 0, Kind::Transient},
      {Dialect::SqlServer, "40001", 1205, Kind::Transient},
      {Dialect::SqlServer, "HY000", 1205, Kind::Transient},
      {Dialect::SqlServer, "HY000", 1222, Kind::Transient},
      {Dialect::Postgres, "40P01", 7, Kind::Transient},
      {Dialect::Postgres, "40001", 7, Kind::Transient},
      {Dialect::Postgres, "57P01", 7, Kind::Transient},
      {Dialect::Postgres, "53300", 7, Kind::Transient},
      {Dialect::MariaDb, "HY000", 1205, Kind::Transient},
      {Dialect::MariaDb, "40001", 1213, Kind::Transient},
      {Dialect::MariaDb, "HY000", 2006, Kind::Transient},
      {Dialect::MariaDb, "HY000", 2013, Kind::Transient},
      // The server rejected a value: dead-letter the row.
      {Dialect::Postgres, "22001", 7, Kind::Data},
      {Dialect::Postgres, "22003", 7, Kind::Data},
      {Dialect::Postgres, "23505", 7, Kind::Data},
      {Dialect::SqlServer, "23000", 2627, Kind::Data},
      {Dialect::SqlServer, "22001", 8152, Kind::Data},
      {Dialect::SqlServer, "42000", 8152, Kind::Data},  // native number decides
      {Dialect::SqlServer, "22003", 8115, Kind::Data},
      {Dialect::MariaDb, "22001", 1406, Kind::Data},
      {Dialect::MariaDb, "HY000", 1406, Kind::Data},
      {Dialect::MariaDb, "23000", 1062, Kind::Data},
      // Schema, permission, configuration: stop.
      {Dialect::Postgres, "42P01", 7, Kind::Fatal},
      {Dialect::Postgres, "42501", 7, Kind::Fatal},
      {Dialect::Postgres, "28P01", 7, Kind::Fatal},
      {Dialect::SqlServer, "42S02", 208, Kind::Fatal},
      {Dialect::SqlServer, "28000", 18456, Kind::Fatal},
      {Dialect::SqlServer, "42000", 33557097, Kind::Fatal},
      {Dialect::MariaDb, "42S02", 1146, Kind::Fatal},
      {Dialect::MariaDb, "28000", 1045, Kind::Fatal},
      {Dialect::Postgres, "IM002", 0, Kind::Fatal},
      // Native numbers belong to one server: MariaDB's 1222 is not a lock timeout.
      {Dialect::MariaDb, "HY000", 1222, Kind::Fatal},
      // Unknown: stop with the message rather than loop or drop rows.
      {Dialect::Postgres, "HY000", 0, Kind::Fatal},
      {Dialect::Postgres, "", 0, Kind::Fatal},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(classify(c.dialect, c.sqlstate, c.native), c.expected)
        << "dialect " << static_cast<int>(c.dialect) << " sqlstate '" << c.sqlstate << "' native "
        << c.native;
  }
}

TEST(ErrorClassifier, KindNames) {
  EXPECT_EQ(kind_name(Kind::Transient), "transient");
  EXPECT_EQ(kind_name(Kind::Data), "data");
  EXPECT_EQ(kind_name(Kind::Fatal), "fatal");
}

}  // namespace
}  // namespace metersync::sink

namespace metersync::sink {
namespace {

TEST(ErrorClassifier, ARefusalBecomesTheOneErrorValueWithItsCodes) {
  Error data = to_error(SinkError(SinkError::Kind::Data, "22003", "numeric field overflow", 8115));
  EXPECT_EQ(data.kind, ErrorKind::Data);
  EXPECT_EQ(data.stage, Stage::Sink);
  EXPECT_EQ(data.sqlstate, "22003");
  EXPECT_EQ(data.native, 8115);
  EXPECT_EQ(data.describe(), "numeric field overflow [SQLSTATE 22003]");
  EXPECT_EQ(to_error(SinkError(SinkError::Kind::Transient, "08S01", "lost")).kind, ErrorKind::Transient);
  EXPECT_EQ(to_error(SinkError(SinkError::Kind::Fatal, "42S02", "no table")).kind, ErrorKind::Fatal);
}

}  // namespace
}  // namespace metersync::sink
