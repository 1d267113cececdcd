// Keeps secrets out of logs and printed configuration.
#pragma once

#include <string>
#include <string_view>

namespace metersync::app {

// An ODBC connection string with the values of PWD / Password (any case) replaced by
// "***": "Driver=X;UID=u;PWD=secret" -> "Driver=X;UID=u;PWD=***". Braced values
// ("PWD={a;b}") are replaced whole.
std::string redact_connection_string(std::string_view connection);

}  // namespace metersync::app
