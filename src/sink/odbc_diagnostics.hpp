// Reads an ODBC handle's diagnostic records into a classified SinkError.
#pragma once

#include <sql.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "sink/sink.hpp"

namespace metersync::sink {

struct DiagnosticRecord {
  std::string sqlstate;
  long native = 0;
  std::string message;
};

std::vector<DiagnosticRecord> read_diagnostics(SQLSMALLINT handle_type, SQLHANDLE handle);

// The first record decides SQLSTATE, native number and kind; every record's text goes
// into the message after `context` (what the sink was doing, never bound values).
SinkError make_odbc_error(config::Dialect dialect, SQLSMALLINT handle_type, SQLHANDLE handle,
                          std::string_view context);

}  // namespace metersync::sink
