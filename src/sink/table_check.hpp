// Whether a sink table has the columns metersync writes: read from INFORMATION_SCHEMA and
// compared with the dialect's column list. Used by `init` (after creating the tables) and by
// `metersync check` (before anything is created).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "sink/dialect.hpp"
#include "sink/odbc_connection.hpp"

namespace metersync::sink {

struct TableCheck {
  bool exists = false;
  // One "\\n  column … ; fix: …" line per column missing or of another type ("" when right).
  std::string problems;
};

// A result cell as an integer; nullopt for NULL or text that is not one.
std::optional<int64_t> integer_cell(const std::optional<std::string>& text);

TableCheck check_columns(OdbcConnection& connection, const Dialect& dialect,
                         const std::string& table, std::span<const Column> expected);

}  // namespace metersync::sink
