// The columns of one table as the decoder reads them: name and logical type, in the
// connector's order. Compiled once per distinct message schema (or once from the
// declared columns) and reused for every message that carries the same schema.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "debezium/column_types.hpp"

namespace simdjson::dom {
class parser;
}

namespace metersync::debezium {

struct ColumnSpec {
  std::string name;
  ColumnType type;
};

class RowLayout {
 public:
  RowLayout() = default;

  // From the Connect schema of a Debezium envelope (the "schema" of a JsonConverter
  // message): the fields of its "after" (or "before") struct. `parser` is reused scratch.
  static std::expected<RowLayout, std::string> from_envelope_schema(std::string_view schema_json,
                                                                    simdjson::dom::parser& parser);
  static RowLayout from_declared(const DeclaredColumns& declared);

  // The column called `name`, or nullptr. `hint` is the index to try first and is
  // advanced past the match: payload fields normally come in schema order, so a
  // row's lookups are one comparison each.
  const ColumnSpec* find(std::string_view name, size_t& hint) const;

  size_t size() const { return columns_.size(); }
  bool empty() const { return columns_.empty(); }
  const std::vector<ColumnSpec>& columns() const { return columns_; }

 private:
  std::vector<ColumnSpec> columns_;
};

}  // namespace metersync::debezium
