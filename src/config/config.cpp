#include "config/config.hpp"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "config/key_table.hpp"
#include "config/mapping_parser.hpp"
#include "config/suggest.hpp"
#include "config/yaml_reader.hpp"

namespace metersync::config {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 128 || std::isdigit(static_cast<unsigned char>(s.front())))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool is_source_name(std::string_view s) {
  if (s.empty() || s.size() > static_cast<size_t>(kMaxSourceNameBytes)) return false;
  if (!(s.front() >= 'a' && s.front() <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::vector<std::string> split_choices(std::string_view choices) {
  std::vector<std::string> out;
  while (!choices.empty()) {
    const size_t bar = choices.find('|');
    out.emplace_back(choices.substr(0, bar));
    choices = bar == std::string_view::npos ? std::string_view{} : choices.substr(bar + 1);
  }
  return out;
}

// Converts and checks one written value; null is "not given" (monostate).
template <class Target>
Setting convert(const Key<Target>& key, const YAML::Node& node, const std::string& path) {
  if (key.type == KeyType::StringMap) {
    std::map<std::string, std::string> values;
    for (const auto& [name, child] : map_entries(node, path, true))
      values[name] = scalar_text(child, join_key(path, name)).value_or("");
    return values;
  }
  const auto text = scalar_text(node, path);
  if (!text) return std::monostate{};
  switch (key.type) {
    case KeyType::Integer: {
      int64_t value = 0;
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
      if (ec != std::errc{} || end != text->data() + text->size() || text->empty())
        throw ConfigError(path + ": expected an integer (" + check_text(key) + "), found '" +
                          *text + "'");
      if (value < key.min || value > key.max)
        throw ConfigError(path + ": " + *text + " is out of range; use " + check_text(key));
      return value;
    }
    case KeyType::Boolean: {
      std::string lower = *text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true") return true;
      if (lower == "false") return false;
      throw ConfigError(path + ": expected true or false, found '" + *text + "'");
    }
    case KeyType::Choice: {
      const auto choices = split_choices(key.choices);
      if (std::find(choices.begin(), choices.end(), *text) == choices.end())
        throw ConfigError(path + ": '" + *text + "' is not " + check_text(key) +
                          did_you_mean(*text, choices));
      return *text;
    }
    default:
      break;
  }
  switch (key.format) {
    case Format::NonEmpty:
      if (text->empty())
        throw ConfigError(path + ": must not be empty (" + std::string(key.help) + ")");
      break;
    case Format::Identifier:
      if (!is_identifier(*text))
        throw ConfigError(path + ": '" + *text + "' is not a plain SQL name; use " +
                          check_text(key));
      break;
    case Format::HttpUrl: {
      const bool http = text->starts_with("http://") || text->starts_with("https://");
      const size_t host = text->find("//") + 2;
      if (!http || text->size() <= host || (*text)[host] == '/')
        throw ConfigError(path + ": '" + *text + "' is not an http:// or https:// URL with a host");
      break;
    }
    case Format::ListenAddress: {
      if (text->empty()) break;  // no listener
      const size_t colon = text->rfind(':');
      int port = 0;
      const char* first = text->data() + (colon == std::string::npos ? 0 : colon + 1);
      const char* last = text->data() + text->size();
      auto [end, ec] = std::from_chars(first, last, port);
      if (colon == std::string::npos || colon == 0 || ec != std::errc{} || end != last ||
          first == last || port < 1 || port > 65535)
        throw ConfigError(path + ": '" + *text +
                          "' is not host:port (e.g. 127.0.0.1:9180, 0.0.0.0:9180 for every "
                          "interface), or \"\" for no listener");
      break;
    }
    case Format::UtcTime:
      if (!text->empty() && !parse_utc_time(*text))
        throw ConfigError(path + ": '" + *text + "' is not a UTC time; use " + check_text(key) +
                          " (e.g. 2026-12-01T00:00:00Z)");
      break;
    case Format::Any:
      break;
  }
  return *text;
}

template <class Target>
Setting default_setting(const Key<Target>& key) {
  switch (key.type) {
    case KeyType::StringMap:
      return std::map<std::string, std::string>{};
    case KeyType::Integer: {
      int64_t value = 0;
      std::from_chars(key.default_value.data(), key.default_value.data() + key.default_value.size(),
                      value);
      return value;
    }
    case KeyType::Boolean:
      return key.default_value == "true";
    default:
      return key.default_value == "\"\"" ? std::string{} : std::string(key.default_value);
  }
}

// Reads the keys of one table from `node` (a map) into `target`. Table names may be
// dotted ("sink.table"): their first parts are nested maps. Mapping and Section keys
// are handed to `special(key, node, path)`; every other key is converted and set.
template <class Target, class Special>
void read_table(const YAML::Node& node, const std::string& base, std::span<const Key<Target>> keys,
                Target& target, Special&& special) {
  std::set<std::string> given;
  auto walk = [&](auto& self, const YAML::Node& map, const std::string& relative) -> void {
    const std::string here = relative.empty() ? base : join_key(base, relative);
    for (const auto& [name, child] : map_entries(map, here, true)) {
      const std::string rel = join_key(relative, name);
      const std::string path = join_key(base, rel);
      const auto key =
          std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.name == rel; });
      if (key != keys.end()) {
        if (key->type == KeyType::Mapping || key->type == KeyType::Section) {
          special(*key, child, path);
          given.insert(rel);
          continue;
        }
        Setting value = convert(*key, child, path);
        if (std::holds_alternative<std::monostate>(value))
          continue;  // `key:` with nothing = not given
        key->set(target, value);
        given.insert(rel);
        continue;
      }
      const bool is_section = std::any_of(keys.begin(), keys.end(), [&](const auto& k) {
        return std::string_view(k.name).starts_with(rel + ".");
      });
      if (is_section) {
        self(self, child, rel);
        continue;
      }
      std::vector<std::string> siblings;  // the names allowed at this level
      for (const auto& k : keys) {
        std::string_view n = k.name;
        if (!relative.empty()) {
          if (!n.starts_with(relative + ".")) continue;
          n.remove_prefix(relative.size() + 1);
        }
        std::string first(n.substr(0, n.find('.')));
        if (std::find(siblings.begin(), siblings.end(), first) == siblings.end())
          siblings.push_back(first);
      }
      std::string allowed;
      for (const auto& s : siblings) allowed += (allowed.empty() ? "" : ", ") + s;
      const std::string hint = did_you_mean(name, siblings);
      throw ConfigError("unknown key " + path +
                        (hint.empty() ? "; the keys here are " + allowed : hint));
    }
  };
  walk(walk, node, "");
  for (const auto& key : keys) {
    if (given.contains(std::string(key.name))) continue;
    if (key.required)
      throw ConfigError(join_key(base, key.name) + " is missing: " + std::string(key.help));
    if (!key.derived && !key.default_value.empty() && key.set != nullptr)
      key.set(target, default_setting(key));
  }
}

EndpointConfig read_endpoint(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) throw ConfigError(path + ": expected a map with at least `url:`");
  EndpointConfig endpoint;
  read_table(node, path, endpoint_keys(), endpoint,
             [](const auto&, const YAML::Node&, const std::string&) {});
  if (endpoint.retry_initial > endpoint.retry_max)
    throw ConfigError(
        path + ".retry_initial_ms: larger than retry_max_ms; lower it or raise retry_max_ms");
  if (endpoint.signing_secret_previous && !endpoint.signing_secret)
    throw ConfigError(path +
                      ".signing_secret_previous: set without signing_secret; a rotation needs the "
                      "new secret in signing_secret and the old one here");
  return endpoint;
}

SourceConfig read_source(const std::string& name, const YAML::Node& node, const std::string& path) {
  if (!is_source_name(name))
    throw ConfigError(path +
                      ": source names are lower-case letters, digits and _, starting with a "
                      "letter, at most " +
                      std::to_string(kMaxSourceNameBytes) +
                      " characters (they are SourceSystem values, VARCHAR(16))");
  if (!node.IsMap()) throw ConfigError(path + ": expected a map with topic, connector and mapping");
  SourceConfig source;
  source.name = name;
  YAML::Node endpoint_node;
  read_table(
      node, path, source_keys(), source,
      [&](const Key<SourceConfig>& key, const YAML::Node& child, const std::string& key_path) {
        if (key.type == KeyType::Mapping)
          source.mapping = parse_mapping(child, key_path);
        else
          endpoint_node = child;
      });
  if (endpoint_node.IsDefined() && !endpoint_node.IsNull())
    source.endpoint = read_endpoint(endpoint_node, path + ".endpoint");
  return source;
}

// A metric label and Kafka's group.instance.id (at most 249 characters there); kept to
// what reads unambiguously in both, and in a log line.
void check_instance_id(const std::string& id) {
  constexpr std::size_t kMaxInstanceIdBytes = 64;
  const bool plain = std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
  if (id.empty() || id.size() > kMaxInstanceIdBytes || !plain)
    throw ConfigError("instance_id: '" + id + "' is not a usable instance id (letters, digits, '.', '_' and '-', 1 to " +
                      std::to_string(kMaxInstanceIdBytes) +
                      " characters); set instance_id to a name of its own for this instance");
}

Config parse(const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull())
    throw ConfigError("the configuration is empty; see docs/configuration.md");
  Config config;
  read_table(root, "", top_level_keys(), config,
             [&](const Key<Config>&, const YAML::Node& node, const std::string& path) {
               for (const auto& [name, child] : map_entries(node, path))
                 config.sources.push_back(read_source(name, child, join_key(path, name)));
             });
  if (config.sources.empty())
    throw ConfigError("sources: no source is configured; add at least one");
  if (config.sink.schema.empty() && config.sink.dialect != Dialect::MariaDb)
    config.sink.schema = config.sink.dialect == Dialect::SqlServer ? "dbo" : "public";
  if (config.sink.retry_initial > config.sink.retry_max)
    throw ConfigError(
        "sink.retry_initial_ms: larger than sink.retry_max_ms; lower it or raise retry_max_ms");
  if (config.instance_id.empty()) config.instance_id = host_name();
  check_instance_id(config.instance_id);
  std::map<std::string, std::string> topics;  // topic -> source using it
  for (const auto& source : config.sources) {
    auto [it, inserted] = topics.emplace(source.topic, source.name);
    if (!inserted)
      throw ConfigError("sources." + source.name + ".topic: '" + source.topic +
                        "' is also the topic of sources." + it->second +
                        "; each source has its own topic");
  }
  return config;
}

Config parse_text(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("not valid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return parse(root);
}

}  // namespace

Config load_string(const std::string& yaml_text) { return parse_text(yaml_text); }

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "metersync";
  return std::string(name.data());
}

Config load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError("cannot read the configuration file " + path +
                      "; check the path given with --config");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_text(text.str());
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

std::optional<ListenAddress> listen_address(const HttpConfig& http) {
  if (http.listen.empty()) return std::nullopt;
  const size_t colon = http.listen.rfind(':');
  ListenAddress address;
  address.host = http.listen.substr(0, colon);
  // [::1]:9180 names an IPv6 host; the listener wants it without the brackets.
  if (address.host.size() > 2 && address.host.front() == '[' && address.host.back() == ']')
    address.host = address.host.substr(1, address.host.size() - 2);
  address.port = std::stoi(http.listen.substr(colon + 1));
  return address;
}

std::string dialect_name(Dialect dialect) {
  switch (dialect) {
    case Dialect::SqlServer:
      return "sqlserver";
    case Dialect::Postgres:
      return "postgres";
    case Dialect::MariaDb:
      return "mariadb";
  }
  return "?";
}

}  // namespace metersync::config
