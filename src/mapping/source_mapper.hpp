// Maps one source's change events into Meter Master changes, by that source's rules
// from the configuration (config::MappingSpec). No source is known to the code.
#pragma once

#include <expected>
#include <string>

#include "config/config.hpp"
#include "core/change_event.hpp"
#include "core/meter_row.hpp"

namespace metersync::mapping {

struct MapError {
  std::string reason;  // e.g. "SerialNumber: 70 characters, the column holds 64"
};

class SourceMapper {
 public:
  // Compiles the rules; throws ConfigError naming sources.<name>.mapping.<column>.
  explicit SourceMapper(const config::SourceConfig& source);

  std::expected<MeterChange, MapError> map(const ChangeEvent& event) const;
};

}  // namespace metersync::mapping
