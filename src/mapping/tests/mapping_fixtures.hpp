// Hand-built change events and the shipped configuration, for the mapping tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "core/change_event.hpp"
#include "mapping/source_mapper.hpp"

namespace metersync::mapping::testing {

inline Decimal dec(std::string_view text) {
  auto d = Decimal::parse(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(Decimal{});
}

inline Timestamp ts(int64_t seconds, int32_t nanos = 0) { return Timestamp{seconds, nanos}; }

// 2026-11-24T19:43:00Z and friends, as epoch seconds.
constexpr int64_t k2026_11_24T19_43 = 1795549380;
constexpr int32_t kDay2026_11_24 = 20781;

inline ChangeEvent event(Op op, std::optional<Row> before, std::optional<Row> after,
                         std::string position = "00000000/01A2B3C8",
                         int64_t committed_ms = 1795549380123) {
  ChangeEvent e{};
  e.connector = Connector::Postgres;
  e.op = op;
  e.before = std::move(before);
  e.after = std::move(after);
  e.position = Position{std::move(position)};
  e.committed_at_ms = committed_ms;
  e.table = "meter";
  return e;
}

inline ChangeEvent upsert(Row after) { return event(Op::Create, std::nullopt, std::move(after)); }

// The shipped config/metersync.yaml (the sink connection only has to be set).
inline const config::Config& shipped() {
  static const config::Config config = [] {
    ::setenv("SINK_ODBC", "DSN=test", 0);
    return config::load_file(std::string(METERSYNC_SOURCE_DIR) + "/config/metersync.yaml");
  }();
  return config;
}

inline const config::SourceConfig& shipped_source(std::string_view name) {
  for (const auto& source : shipped().sources)
    if (source.name == name) return source;
  throw std::runtime_error("no source " + std::string(name));
}

// Replaces (or adds) one column of a row.
inline Row with(Row row, const std::string& column, Value value) {
  for (auto& [name, v] : row.columns)
    if (name == column) {
      v = std::move(value);
      return row;
    }
  row.columns.emplace_back(column, std::move(value));
  return row;
}

inline Row without(Row row, const std::string& column) {
  std::erase_if(row.columns, [&](const auto& c) { return c.first == column; });
  return row;
}

// The reason of the Error `map` returns, or "" when it maps.
inline std::string map_error(const SourceMapper& mapper, const ChangeEvent& e) {
  auto result = mapper.map(e);
  return result ? std::string() : result.error().reason;
}

}  // namespace metersync::mapping::testing
