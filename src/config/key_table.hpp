// Every configuration key, declared once: name, type, default, check, help, and where
// its value goes. The loader walks these tables to parse and validate, to name
// unknown keys and suggest the right one, and reference_markdown() prints them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"

namespace metersync::config {

enum class KeyType {
  String,
  Integer,
  Boolean,
  Choice,     // one of `choices`
  StringMap,  // a map of names to values
  Mapping,    // the mapping rule language (mapping_parser.hpp)
  Section,    // a map of keys with a table of its own (sources.<name>.endpoint)
};

// Extra checks on a String value.
enum class Format { Any, NonEmpty, Identifier, HttpUrl, ListenAddress, UtcTime };

// A checked value on its way into the structs: null, text, integer, flag or map.
using Setting =
    std::variant<std::monostate, std::string, int64_t, bool, std::map<std::string, std::string>>;

template <class Target>
struct Key {
  std::string_view name{};  // relative to the table: "sink.max_batch_events"
  KeyType type = KeyType::String;
  std::string_view default_value{};  // as it would be written in YAML ("" = none)
  bool required = false;
  bool derived = false;  // the default is computed; `default_value` describes it
  int64_t min = 0;       // Integer bounds (inclusive)
  int64_t max = 0;
  std::string_view choices{};  // Choice: "a|b|c"
  Format format = Format::Any;
  std::string_view help{};
  void (*set)(Target&, const Setting&) = nullptr;  // null for Mapping and Section keys
};

// The top level (kafka.*, sink.*, status_file; `sources` is its own table).
std::span<const Key<Config>> top_level_keys();
// sources.<name>.*
std::span<const Key<SourceConfig>> source_keys();
// sources.<name>.endpoint.*
std::span<const Key<EndpointConfig>> endpoint_keys();

// Human text of a key's check ("1 to 1000000", "sqlserver, postgres or mariadb").
template <class Target>
std::string check_text(const Key<Target>& key);

std::string_view type_name(KeyType type);

// "2026-12-01T00:00:00Z" (RFC 3339, UTC, whole seconds): Format::UtcTime. nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_utc_time(std::string_view text);

// Source names become SourceSystem values (VARCHAR(16)), topic prefixes and routes.
inline constexpr int kMaxSourceNameBytes = 16;

}  // namespace metersync::config
