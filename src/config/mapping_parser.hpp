// Parses `sources.<name>.mapping` into MappingSpec: the shape of the rule language
// (column names, step names, argument types, case lists). What a step means for a
// target column is checked when mapping::SourceMapper compiles the spec.
#pragma once

#include <yaml-cpp/yaml.h>

#include <span>
#include <string_view>

#include "config/mapping_spec.hpp"

namespace metersync::config {

// One step of the language, for parsing (unknown-step suggestions) and the docs.
struct StepDoc {
  std::string_view key;       // "round"
  bool starts_rule;           // from / value / cases
  std::string_view argument;  // "integer 0 to 18"
  std::string_view help;
  std::string_view example;  // "{ from: last_reading, round: 3 }"
};
std::span<const StepDoc> step_docs();

// Throws ConfigError naming `key_path` (sources.<name>.mapping) or a key below it.
MappingSpec parse_mapping(const YAML::Node& node, std::string_view key_path);

}  // namespace metersync::config
