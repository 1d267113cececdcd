#include "sink/error_classifier.hpp"

#include <array>
#include <optional>

namespace metersync::sink {
namespace {

using Kind = SinkError::Kind;
using config::Dialect;

struct NativeRule {
  Dialect dialect;
  long native;
  Kind kind;
};

// Server error numbers whose SQLSTATE alone would be misread (they arrive as HY000,
// 42000 or 40001 depending on the driver). Sources: SQL Server "Database engine
// events and errors"; MariaDB "MariaDB Error Codes".
constexpr std::array kNativeRules{
    // SQL Server
    NativeRule{Dialect::SqlServer, 1205, Kind::Transient},  // chosen as deadlock victim
    NativeRule{Dialect::SqlServer, 1222, Kind::Transient},  // lock request time out period exceeded
    NativeRule{Dialect::SqlServer, 3960, Kind::Transient},  // snapshot isolation update conflict
    NativeRule{Dialect::SqlServer, 233,
               Kind::Transient},  // no process on the other end of the pipe
    NativeRule{Dialect::SqlServer, 10053, Kind::Transient},  // transport-level error
    NativeRule{Dialect::SqlServer, 10054, Kind::Transient},  // connection reset by peer
    NativeRule{Dialect::SqlServer, 40197, Kind::Transient},  // Azure SQL: service error, retry
    NativeRule{Dialect::SqlServer, 40501, Kind::Transient},  // Azure SQL: service busy
    NativeRule{Dialect::SqlServer, 40613, Kind::Transient},  // Azure SQL: database unavailable
    // metersync's own: sp_getapplock not granted in time (SqlServerDialect::kLockNotGranted)
    NativeRule{Dialect::SqlServer, 51001, Kind::Transient},
    NativeRule{Dialect::SqlServer, 2627, Kind::Data},        // PRIMARY KEY / UNIQUE violation
    NativeRule{Dialect::SqlServer, 2601, Kind::Data},        // duplicate key in unique index
    NativeRule{Dialect::SqlServer, 515, Kind::Data},         // NULL into NOT NULL column
    NativeRule{Dialect::SqlServer, 8152, Kind::Data},  // string or binary data would be truncated
    NativeRule{Dialect::SqlServer, 2628, Kind::Data},  // same, with the column named (2019+)
    NativeRule{Dialect::SqlServer, 8115, Kind::Data},  // arithmetic overflow converting
    NativeRule{Dialect::SqlServer, 241, Kind::Data},   // conversion failed (date/time)
    NativeRule{Dialect::SqlServer, 245, Kind::Data},   // conversion failed
    NativeRule{Dialect::SqlServer, 8114, Kind::Data},  // error converting data type
    // MariaDB
    NativeRule{Dialect::MariaDb, 1205, Kind::Transient},  // ER_LOCK_WAIT_TIMEOUT
    NativeRule{Dialect::MariaDb, 1213, Kind::Transient},  // ER_LOCK_DEADLOCK
    NativeRule{Dialect::MariaDb, 1927, Kind::Transient},  // ER_CONNECTION_KILLED
    NativeRule{Dialect::MariaDb, 2002, Kind::Transient},  // CR_CONNECTION_ERROR
    NativeRule{Dialect::MariaDb, 2003, Kind::Transient},  // CR_CONN_HOST_ERROR
    NativeRule{Dialect::MariaDb, 2006, Kind::Transient},  // CR_SERVER_GONE_ERROR
    NativeRule{Dialect::MariaDb, 2013, Kind::Transient},  // CR_SERVER_LOST
    NativeRule{Dialect::MariaDb, 1040,
               Kind::Transient},                      // ER_CON_COUNT_ERROR: too many connections
    NativeRule{Dialect::MariaDb, 1062, Kind::Data},   // ER_DUP_ENTRY
    NativeRule{Dialect::MariaDb, 1406, Kind::Data},   // ER_DATA_TOO_LONG
    NativeRule{Dialect::MariaDb, 1264, Kind::Data},   // ER_WARN_DATA_OUT_OF_RANGE
    NativeRule{Dialect::MariaDb, 1292, Kind::Data},   // ER_TRUNCATED_WRONG_VALUE (bad date)
    NativeRule{Dialect::MariaDb, 1366, Kind::Data},   // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    NativeRule{Dialect::MariaDb, 1048, Kind::Data},   // ER_BAD_NULL_ERROR
    NativeRule{Dialect::MariaDb, 1045, Kind::Fatal},  // ER_ACCESS_DENIED_ERROR
    NativeRule{Dialect::MariaDb, 1146, Kind::Fatal},  // ER_NO_SUCH_TABLE
};

struct StateRule {
  std::string_view prefix;  // a whole SQLSTATE, or its two-character class
  Kind kind;
};

// SQLSTATEs (ISO/ODBC, plus PostgreSQL's own classes as psqlODBC passes them through).
// Exact states come before the classes that contain them.
constexpr std::array kStateRules{
    StateRule{"HYT00", Kind::Transient},  // timeout expired
    StateRule{"HYT01", Kind::Transient},  // connection timeout expired
    StateRule{"HY008", Kind::Transient},  // operation cancelled
    StateRule{"40P01", Kind::Transient},  // PostgreSQL deadlock_detected
    StateRule{"40001", Kind::Transient},  // serialization failure / deadlock
    StateRule{"40003", Kind::Transient},  // statement completion unknown
    StateRule{"55P03", Kind::Transient},  // PostgreSQL lock_not_available
    StateRule{"57014", Kind::Transient},  // PostgreSQL query_canceled (statement_timeout)
    StateRule{"57P01", Kind::Transient},  // PostgreSQL admin_shutdown
    StateRule{"57P02", Kind::Transient},  // PostgreSQL crash_shutdown
    StateRule{"57P03", Kind::Transient},  // PostgreSQL cannot_connect_now
    StateRule{"08", Kind::Transient},     // connection exception
    StateRule{"53", Kind::Transient},     // PostgreSQL insufficient resources
    StateRule{"22", Kind::Data},          // data exception
    StateRule{"23", Kind::Data},          // integrity constraint violation
    StateRule{"28", Kind::Fatal},         // invalid authorisation
    StateRule{"42", Kind::Fatal},         // syntax error or access rule violation
    StateRule{"3D", Kind::Fatal},         // invalid catalog (database) name
    StateRule{"3F", Kind::Fatal},         // invalid schema name
    StateRule{"IM", Kind::Fatal},         // driver manager: driver missing, bad DSN
};

}  // namespace

SinkError::Kind classify(config::Dialect dialect, std::string_view sqlstate, long native) {
  for (const NativeRule& rule : kNativeRules) {
    if (rule.dialect == dialect && rule.native == native) return rule.kind;
  }
  for (const StateRule& rule : kStateRules) {
    if (sqlstate.substr(0, rule.prefix.size()) == rule.prefix) return rule.kind;
  }
  // Anything unrecognised stops the pipeline with the server's message rather than
  // retrying forever or dead-lettering rows that may be fine.
  return Kind::Fatal;
}

std::string_view kind_name(SinkError::Kind kind) {
  switch (kind) {
    case Kind::Transient:
      return "transient";
    case Kind::Data:
      return "data";
    case Kind::Fatal:
      return "fatal";
  }
  return "fatal";
}

}  // namespace metersync::sink
