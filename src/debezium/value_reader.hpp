// Reads one column value of a Debezium row (a simdjson On-Demand value) as the
// column's logical type says, into a core Value. Owns the scratch buffers that make
// this allocation-free beyond the Value itself; one per decoder, not thread-safe.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "core/value.hpp"
#include "debezium/column_types.hpp"

namespace metersync::debezium {

class ValueReader {
 public:
  // The error is the reason only ("expected an integer, got string"); the caller names
  // the field.
  std::expected<Value, std::string> read(simdjson::ondemand::value& value, ColumnType type);

  // For undeclared columns of schemaless messages: by JSON type alone.
  std::expected<Value, std::string> read_untyped(simdjson::ondemand::value& value);

 private:
  std::expected<Value, std::string> read_decimal(std::string_view base64, int32_t scale);
  std::expected<Value, std::string> read_variable_scale_decimal(simdjson::ondemand::value& value);

  std::string bytes_;            // base64-decoded bytes of the current value
  std::vector<uint32_t> limbs_;  // base-1e9 digits of a decimal wider than 64 bits
};

}  // namespace metersync::debezium
