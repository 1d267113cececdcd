// One row-level change as Debezium captured it, decoded (see value.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/value.hpp"

namespace metersync {

// Debezium's `op`: c, u, d, r, t. Tombstones (null Kafka values) never become events.
enum class Op { Create, Update, Delete, Read, Truncate };

std::string_view op_name(Op op);  // "create", "update", "delete", "snapshot", "truncate"

// A source row, columns in the order the connector sent them.
struct Row {
  std::vector<std::pair<std::string, Value>> columns;
  // nullptr when the column is absent (absent is not the same as null).
  const Value* find(std::string_view column) const;
};

// Which Debezium connector produced the event; decides how `source` becomes a position.
enum class Connector { Postgres, MySql, MariaDb, SqlServer, Oracle };

// Where in the source's log a change came from, encoded so that plain byte-wise string
// comparison gives the source's own order (fixed-width hex / zero-padded decimals),
// at most 100 characters (Meter Master's SourcePosition column). Formats:
//   postgres   "<phase>/<lsn hi 8 hex>/<lsn lo 8 hex>"         e.g. "W/00000000/01A2B3C8"
//              phase S for snapshot reads, W for changes streamed from the WAL: a
//              streamed change is newer than any snapshot read even when its LSN is
//              lower (it committed after the snapshot point but wrote before it)
//   mysql/mariadb "<binlog file>/<pos 20 digits>/<row 10 digits>"
//   sqlserver  "<commit_lsn>/<change_lsn>/<event_serial_no 10 digits>" (LSNs as Debezium
//              prints them: "00000027:00000758:0003", fixed-width upper-case hex)
//   oracle     "<commit_scn 20 digits>/<scn 20 digits>/<ssn 10 digits>"
//              (snapshot rows have no commit_scn: the snapshot scn stands in for it)
// Only positions of the same source are ever compared.
struct Position {
  std::string text;
  auto operator<=>(const Position&) const = default;
};

struct ChangeEvent {
  Connector connector;
  Op op;
  std::optional<Row> before;  // absent for create/snapshot/truncate
  std::optional<Row> after;   // absent for delete/truncate
  Position position;
  int64_t committed_at_ms = 0;  // source.ts_ms: commit time at the source, UTC
  std::string table;            // source.table as Debezium names it ("meter", "Meters", ...)
  bool snapshot = false;        // source.snapshot is "true"/"first"/"last"/"incremental"
};

}  // namespace metersync
