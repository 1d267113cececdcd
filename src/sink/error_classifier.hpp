// The one place that decides what an ODBC error means for a batch: retry it
// (Transient), isolate the rejected row (Data) or stop (Fatal). Pinned by the table
// test in tests/error_classifier_test.cpp.
#pragma once

#include <string_view>

#include "config/config.hpp"
#include "sink/sink.hpp"

namespace metersync::sink {

// `sqlstate` is the five-character ODBC SQLSTATE, `native` the server's own error
// number (SQL Server error number, MariaDB error code; psqlODBC reports the server's
// SQLSTATE and no useful native number). Native numbers are server-specific, so the
// dialect decides which native table applies: MariaDB 1205 is a lock wait timeout,
// SQL Server 1205 a deadlock victim; both are Transient, but 1222 only means
// "lock request time out" on SQL Server.
SinkError::Kind classify(config::Dialect dialect, std::string_view sqlstate, long native);

std::string_view kind_name(SinkError::Kind kind);  // "transient", "data", "fatal"

}  // namespace metersync::sink
