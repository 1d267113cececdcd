#include "sink/batch_fold.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>

namespace metersync::sink {
namespace {

// The newest full row and the newest key-only delete of one key in one segment.
// Invariant: when both are set, the delete is newer than the full row.
struct KeyState {
  std::optional<MeterRow> full;
  std::optional<MeterRow> key_only;
};

bool newer_or_same(const Position& incoming, const Position& held) { return !(incoming < held); }

class Segment {
 public:
  void add(const MeterChange& change) {
    KeyState& state = state_for(change.row);
    const Position& position = change.row.source_position;
    if (change.kind == MeterChange::Kind::DeleteKeyOnly) {
      if (state.key_only && !newer_or_same(position, state.key_only->source_position)) return;
      // Older than the full row held: the full row already supersedes it.
      if (state.full && position < state.full->source_position) return;
      MeterRow flag;
      flag.source_system = change.row.source_system;
      flag.source_meter_id = change.row.source_meter_id;
      flag.is_deleted = true;
      flag.source_committed_at = change.row.source_committed_at;
      flag.source_position = position;
      state.key_only = std::move(flag);
      return;
    }
    if (state.full && !newer_or_same(position, state.full->source_position)) return;
    state.full = change.row;
    state.full->is_deleted = change.kind == MeterChange::Kind::Delete;
    // A full row at or after the held delete supersedes it (a re-create).
    if (state.key_only && newer_or_same(position, state.key_only->source_position))
      state.key_only.reset();
  }

  bool empty() const { return order_.empty(); }

  std::vector<StagedChange> take() {
    std::vector<StagedChange> rows;
    rows.reserve(order_.size());
    for (const auto& key : order_) {
      KeyState& state = states_.at(key);
      if (state.full) rows.push_back({std::move(*state.full), false});
      if (state.key_only) rows.push_back({std::move(*state.key_only), true});
    }
    order_.clear();
    states_.clear();
    return rows;
  }

 private:
  KeyState& state_for(const MeterRow& row) {
    auto key = std::make_pair(row.source_system, row.source_meter_id);
    auto [it, inserted] = states_.try_emplace(key);
    if (inserted) order_.push_back(std::move(key));
    return it->second;
  }

  std::map<std::pair<std::string, std::string>, KeyState> states_;
  std::vector<std::pair<std::string, std::string>> order_;
};

}  // namespace

std::vector<BatchStep> fold_changes(const std::vector<MeterChange>& changes) {
  std::vector<BatchStep> steps;
  Segment segment;
  for (const MeterChange& change : changes) {
    if (change.kind == MeterChange::Kind::Truncate) {
      if (!segment.empty()) steps.push_back({segment.take(), std::nullopt});
      steps.push_back({{}, change.row});
      continue;
    }
    segment.add(change);
  }
  if (!segment.empty()) steps.push_back({segment.take(), std::nullopt});
  return steps;
}

}  // namespace metersync::sink
