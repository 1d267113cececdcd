#include "core/change_event.hpp"

namespace metersync {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::Create:
      return "create";
    case Op::Update:
      return "update";
    case Op::Delete:
      return "delete";
    case Op::Read:
      return "snapshot";
    case Op::Truncate:
      return "truncate";
  }
  return "unknown";
}

const Value* Row::find(std::string_view column) const {
  // Tables have a handful of columns: a linear scan beats hashing and keeps the
  // connector's column order, which the dispatcher reproduces.
  for (const auto& [name, value] : columns) {
    if (name == column) return &value;
  }
  return nullptr;
}

}  // namespace metersync
