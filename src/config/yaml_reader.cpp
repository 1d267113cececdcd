#include "config/yaml_reader.hpp"

#include <set>

#include "config/config.hpp"
#include "config/interpolate.hpp"

namespace metersync::config {

std::string join_key(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  std::string out(parent);
  out.push_back('.');
  out += child;
  return out;
}

std::string_view node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a value";
    default:
      return "nothing";
  }
}

std::optional<std::string> scalar_text(const YAML::Node& node, std::string_view key_path) {
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  if (!node.IsScalar())
    throw ConfigError(std::string(key_path) + ": expected a single value, found " +
                      std::string(node_kind(node)));
  return interpolate(node.Scalar(), key_path);
}

std::vector<std::pair<std::string, YAML::Node>> map_entries(const YAML::Node& node,
                                                            std::string_view key_path,
                                                            bool null_is_empty) {
  std::vector<std::pair<std::string, YAML::Node>> entries;
  if (null_is_empty && (!node.IsDefined() || node.IsNull())) return entries;
  if (!node.IsMap())
    throw ConfigError(std::string(key_path.empty() ? "the configuration" : key_path) +
                      ": expected a map of keys, found " + std::string(node_kind(node)));
  std::set<std::string> seen;
  for (const auto& item : node) {
    if (!item.first.IsScalar())
      throw ConfigError(std::string(key_path) + ": a key must be a plain name, found " +
                        std::string(node_kind(item.first)));
    std::string key = item.first.Scalar();
    if (!seen.insert(key).second)
      throw ConfigError(join_key(key_path, key) + " appears twice; keep one");
    entries.emplace_back(std::move(key), item.second);
  }
  return entries;
}

}  // namespace metersync::config
