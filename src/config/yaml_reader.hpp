// Small, checked access to yaml-cpp nodes: every failure names the dotted key path.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metersync::config {

std::string join_key(std::string_view parent, std::string_view child);

// A scalar's text after `${VAR}` interpolation; nullopt for YAML null (`~`, `null`,
// nothing). Throws ConfigError for a map or a list.
std::optional<std::string> scalar_text(const YAML::Node& node, std::string_view key_path);

// The entries of a YAML map in the order written. Throws ConfigError when the node is
// not a map (null counts as an empty map when `null_is_empty`), a key is not a plain
// scalar, or a key appears twice.
std::vector<std::pair<std::string, YAML::Node>> map_entries(const YAML::Node& node,
                                                            std::string_view key_path,
                                                            bool null_is_empty = false);

// What a node is, for messages: "a map", "a list", "a value", "nothing".
std::string_view node_kind(const YAML::Node& node);

}  // namespace metersync::config
