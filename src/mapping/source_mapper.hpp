// Maps one source's change events into Meter Master changes, by that source's rules
// from the configuration (config::MappingSpec). No source is known to the code.
//
// Compiled once at start-up; map() is const and thread-safe, and copies share the
// compiled rules.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/change_event.hpp"
#include "core/error.hpp"
#include "core/meter_row.hpp"

namespace metersync::mapping {

class ColumnProgram;

class SourceMapper {
 public:
  // Compiles the rules; throws ConfigError naming sources.<name>.mapping.<column>.
  explicit SourceMapper(const config::SourceConfig& source);

  // create / update / snapshot read -> Upsert of the mapped `after`;
  // delete -> Delete of the mapped `before`, or DeleteKeyOnly when `before` lacks the
  //           other rules' columns (only the key was logged);
  // truncate -> Truncate of the whole source.
  // Anything that cannot be mapped exactly is an Error of kind Data at stage Map, with the column
  // and reason.
  Result<MeterChange> map(const ChangeEvent& event) const;

  const std::string& source_system() const { return source_system_; }

 private:
  std::string source_system_;
  std::shared_ptr<const std::vector<ColumnProgram>> programs_;
};

}  // namespace metersync::mapping
