// Helpers for the decoder tests: reading fixtures, building expected values, and
// comparing whole rows column by column with readable failures.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/change_event.hpp"
#include "core/value.hpp"

namespace metersync::debezium::testing {

inline std::string fixture_dir() {
  return std::string(METERSYNC_SOURCE_DIR) + "/tests/fixtures/debezium/";
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string fixture(const std::string& relative) {
  return read_file(fixture_dir() + relative);
}

// Expected-value builders.
inline Value dec(std::string_view text) {
  auto d = Decimal::parse(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(Decimal{});
}
inline Value str(std::string text) { return Value{std::move(text)}; }
inline Value i64(int64_t v) { return Value{v}; }
inline Value f64(double v) { return Value{v}; }
inline Value ts(int64_t seconds, int32_t nanos) { return Timestamp{seconds, nanos}; }
inline Value date(int32_t days) { return Date{days}; }
inline Value json(std::string text) { return Json{std::move(text)}; }
inline Value null() { return Null{}; }

using Columns = std::vector<std::pair<std::string, Value>>;

inline std::string describe(const Value& value) {
  struct Visitor {
    std::string operator()(const Null&) const { return "null"; }
    std::string operator()(bool b) const { return b ? "bool true" : "bool false"; }
    std::string operator()(int64_t v) const { return "int " + std::to_string(v); }
    std::string operator()(double v) const {
      std::ostringstream out;
      out.precision(17);
      out << "double " << v;
      return out.str();
    }
    std::string operator()(const std::string& s) const { return "string '" + s + "'"; }
    std::string operator()(const Decimal& d) const {
      return "decimal " + d.to_string() + " (scale " + std::to_string(d.scale) + ")";
    }
    std::string operator()(const Date& d) const { return "date " + d.to_iso(); }
    std::string operator()(const Timestamp& t) const { return "timestamp " + t.to_iso(9); }
    std::string operator()(const TimeOfDay& t) const { return "time " + t.to_iso(); }
    std::string operator()(const Bytes& b) const {
      return "bytes[" + std::to_string(b.data.size()) + "]";
    }
    std::string operator()(const Json& j) const { return "json " + j.text; }
    std::string operator()(const Unavailable&) const { return "unavailable"; }
  };
  return std::visit(Visitor{}, value);
}

inline void expect_row(const std::optional<Row>& row, const Columns& expected,
                       const std::string& what) {
  ASSERT_TRUE(row.has_value()) << what << " is absent";
  ASSERT_EQ(row->columns.size(), expected.size()) << what << ": column count";
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& [name, value] = row->columns[i];
    EXPECT_EQ(name, expected[i].first) << what << " column #" << i;
    EXPECT_TRUE(value == expected[i].second) << what << "." << name << ": got " << describe(value)
                                             << ", expected " << describe(expected[i].second);
  }
}

// A copy of `base` with some columns replaced (keeps the order).
inline Columns with(Columns base, const Columns& changes) {
  for (const auto& [name, value] : changes) {
    bool found = false;
    for (auto& column : base) {
      if (column.first == name) {
        column.second = value;
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no column " << name << " to replace";
  }
  return base;
}

}  // namespace metersync::debezium::testing
