// Turns the position-bearing fields of a Debezium `source` block into a core::Position
// whose byte-wise order is the source's own log order (format in core/change_event.hpp).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "core/change_event.hpp"

namespace metersync::debezium {

// The fields each connector writes (Debezium's <Connector>SourceInfoStructMaker):
//   postgres  lsn (int64; absent in incremental-snapshot reads), sequence (text
//             '["<last commit lsn>","<lsn>"]': in an incremental-snapshot read, where the
//             stream stood when the read's window closed)
//   mysql, mariadb  file (string), pos (int64), row (int32)
//   sqlserver commit_lsn, change_lsn (strings "0000002d:00000f58:0003"; change_lsn is
//             null in snapshot reads), event_serial_no (int64, null in snapshot reads)
//   oracle    commit_scn (decimal string, null in snapshot reads), scn (decimal string),
//             ssn (int64)
// Views point into the decoder's parse buffer; they only live for one decode.
struct SourceCoordinates {
  std::optional<int64_t> lsn;
  std::optional<std::string_view> sequence;
  std::optional<std::string_view> file;
  std::optional<int64_t> pos;
  std::optional<int64_t> row;
  std::optional<std::string_view> commit_lsn;
  std::optional<std::string_view> change_lsn;
  std::optional<int64_t> event_serial_no;
  std::optional<std::string_view> commit_scn;
  std::optional<std::string_view> scn;
  std::optional<int64_t> ssn;
  bool snapshot = false;              // source.snapshot is anything but "false"
  bool incremental_snapshot = false;  // source.snapshot == "incremental"
};

// The LSN a PostgreSQL `sequence` ends with ('[null,"31501648"]' -> 31501648); nullopt
// when it ends with null or is not of that form.
std::optional<uint64_t> last_sequence_lsn(std::string_view sequence);

// The error names the missing or malformed field ("source.lsn is missing").
std::expected<Position, std::string> encode_position(Connector connector,
                                                     const SourceCoordinates& source);

}  // namespace metersync::debezium
