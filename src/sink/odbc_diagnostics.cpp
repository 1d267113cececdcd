#include "sink/odbc_diagnostics.hpp"

#include <sqlext.h>

#include "sink/error_classifier.hpp"

namespace metersync::sink {

std::vector<DiagnosticRecord> read_diagnostics(SQLSMALLINT handle_type, SQLHANDLE handle) {
  std::vector<DiagnosticRecord> records;
  if (handle == SQL_NULL_HANDLE) return records;
  for (SQLSMALLINT index = 1;; ++index) {
    SQLCHAR state[6] = {};
    SQLINTEGER native = 0;
    SQLCHAR text[2048] = {};
    SQLSMALLINT text_length = 0;
    const SQLRETURN rc =
        SQLGetDiagRec(handle_type, handle, index, state, &native, text, sizeof text, &text_length);
    if (rc != SQL_SUCCESS && rc != SQL_SUCCESS_WITH_INFO) break;
    records.push_back({reinterpret_cast<const char*>(state), static_cast<long>(native),
                       reinterpret_cast<const char*>(text)});
  }
  return records;
}

SinkError make_odbc_error(config::Dialect dialect, SQLSMALLINT handle_type, SQLHANDLE handle,
                          std::string_view context) {
  const std::vector<DiagnosticRecord> records = read_diagnostics(handle_type, handle);
  std::string message = "sink: ";
  message += context;
  if (records.empty()) {
    message += ": the ODBC driver reported an error without diagnostics";
    return SinkError(SinkError::Kind::Fatal, "", message);
  }
  // Drivers sometimes put an informational record (01xxx) first; the first real error
  // decides.
  size_t decisive = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].sqlstate.rfind("01", 0) != 0) {
      decisive = i;
      break;
    }
  }
  for (const DiagnosticRecord& record : records) {
    message += " [" + record.sqlstate + "/" + std::to_string(record.native) + "] " + record.message;
  }
  const DiagnosticRecord& first = records[decisive];
  // Every record is read, not only the first: a driver may put a generic error first and
  // the lost link (08xxx) after it. A connection error anywhere means the statement's
  // fate is unknown, so the batch is retried on a new connection.
  for (const DiagnosticRecord& record : records) {
    if (record.sqlstate.rfind("08", 0) == 0) {
      return SinkError(SinkError::Kind::Transient, record.sqlstate, message, record.native);
    }
  }
  return SinkError(classify(dialect, first.sqlstate, first.native), first.sqlstate, message,
                   first.native);
}

}  // namespace metersync::sink
