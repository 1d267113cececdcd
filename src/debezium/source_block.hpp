// Reads a Debezium `source` block: the commit time, the table, the snapshot marker and
// the connector's position coordinates (see position.hpp for which fields each
// connector writes). Only the fields this connector defines are read; others skipped.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "core/change_event.hpp"
#include "debezium/position.hpp"

namespace metersync::debezium {

// Views point into the parser's buffers: valid until the parser's next document.
struct SourceBlock {
  std::optional<int64_t> ts_ms;
  std::optional<std::string_view> table;
  bool snapshot = false;
  SourceCoordinates coordinates;
};

// `value` must be a JSON object. The error names the field ("source.lsn: expected an
// integer").
std::expected<SourceBlock, std::string> read_source_block(simdjson::ondemand::value& value,
                                                          Connector connector);

}  // namespace metersync::debezium
