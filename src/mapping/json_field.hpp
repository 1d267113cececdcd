// One field of a JSON value (PostgreSQL jsonb, JSON text), as a decoded Value.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.hpp"

namespace metersync::mapping {

// The field at `path` (object keys, outermost first). Absent or JSON null: Null.
// Numbers keep their exact text (Decimal, never a double); strings and booleans as
// such; objects and arrays as Json. Malformed JSON or a path through a non-object is
// an error. Thread-safe (one parser per thread).
std::expected<Value, std::string> json_field(std::string_view json_text,
                                             const std::vector<std::string>& path);

}  // namespace metersync::mapping
