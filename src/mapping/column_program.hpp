// One Meter Master column's rule, compiled: checked against the column's type at
// start-up, then run on each source row.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "config/mapping_spec.hpp"
#include "core/change_event.hpp"

namespace metersync::mapping {

// Why a column could not be mapped. `incomplete` marks a row image that lacks data
// (a missing column, the unavailable placeholder, NULL where the column needs a
// value): for a delete that means "only the key was logged".
struct ColumnFailure {
  std::string reason;  // "SerialNumber: 70 characters, the column holds 64"
  bool incomplete = false;
};

class ColumnProgram {
 public:
  // Throws ConfigError naming rule.key_path when the rule cannot work for the column.
  ColumnProgram(const config::ColumnRule& rule, const config::TargetColumn& target);

  // The value for the column, already in the column's type: Null, std::string (Text),
  // Decimal with the column's scale, Date, or Timestamp (UTC).
  std::expected<Value, ColumnFailure> run(const Row& row) const;

  const config::TargetColumn& target() const { return *target_; }
  // The source columns the rule reads (from, cases).
  const std::vector<std::string>& columns_read() const { return columns_read_; }

 private:
  std::expected<Value, ColumnFailure> evaluate(const Row& row) const;
  std::expected<Value, ColumnFailure> to_target(Value value) const;
  void check_outputs(const config::ColumnRule& rule) const;

  const config::TargetColumn* target_;
  std::vector<config::Step> steps_;
  std::vector<std::string> columns_read_;
  int32_t zone_offset_ = 0;  // from a time_zone step
};

}  // namespace metersync::mapping
