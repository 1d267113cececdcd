// The Meter Master row (../../docs/meter-master.md): the one target shape every source
// is mapped into. The sink writes it, the dispatcher sends it as `meter`.
#pragma once

#include <optional>
#include <string>

#include "core/change_event.hpp"
#include "core/value.hpp"

namespace metersync {

struct MeterRow {
  std::string source_system;    // VARCHAR(16)   'mssql' | 'oracle' | 'mysql' | 'postgres' | ...
  std::string source_meter_id;  // NVARCHAR(64)
  std::string serial_number;    // NVARCHAR(64)
  std::string meter_type;       // VARCHAR(16)   'electric' | 'water' | 'gas'
  std::optional<std::string> manufacturer;   // NVARCHAR(100)
  std::string status;                        // VARCHAR(16)  'active' | 'inactive' | 'removed'
  std::optional<Date> install_date;          // DATE
  Decimal multiplier;                        // DECIMAL(9,4)
  std::optional<Decimal> last_reading_value; // DECIMAL(18,3)
  std::optional<Timestamp> last_reading_at;  // DATETIME2(6), UTC
  std::optional<Decimal> latitude;           // DECIMAL(9,6)
  std::optional<Decimal> longitude;          // DECIMAL(9,6)
  bool is_deleted = false;                   // BIT
  Timestamp source_committed_at;             // DATETIME2(3), UTC
  Position source_position;                  // VARCHAR(100)
  // SyncedAt is set by the sink database at write time, not carried here.

  bool operator==(const MeterRow&) const = default;
};

// What one change event means for Meter Master.
struct MeterChange {
  enum class Kind {
    Upsert,         // create / update / snapshot read: `row` is complete, is_deleted = false
    Delete,         // delete with a full before image: `row` is complete, is_deleted = true
    DeleteKeyOnly,  // delete whose before image holds only the key: flag the stored row,
                    // keep its values (only source_system, source_meter_id, position and
                    // committed_at are set in `row`)
    Truncate,       // the whole source table: every row of `row.source_system` is flagged
  };
  Kind kind;
  MeterRow row;
  // An Upsert of a row the source inserted (create) or read in a snapshot: Meter Master most
  // likely lacks the key yet. Decides only the order of the SQL Server sink's statements
  // (sink::StageStatements::apply_stage), never what is written.
  bool inserted = false;
};

}  // namespace metersync
