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
  bool inserted = false;  // any full-row change of the key in the segment was an insert
};

bool newer_or_same(const Position& incoming, const Position& held) { return !(incoming < held); }

class Segment {
 public:
  // `truncated`: a truncate of the row's source at a later position is already known.
  void add(const MeterChange& change, bool truncated) {
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
    state.inserted = state.inserted || change.inserted;
    if (state.full && !newer_or_same(position, state.full->source_position)) return;
    state.full = change.row;
    state.full->is_deleted = change.kind == MeterChange::Kind::Delete || truncated;
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
      if (state.full) rows.push_back({std::move(*state.full), false, state.inserted});
      if (state.key_only) rows.push_back({std::move(*state.key_only), true, false});
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
  // Per source system, the highest truncate position read so far in this batch.
  std::map<std::string, Position> watermarks;
  for (const MeterChange& change : changes) {
    if (change.kind == MeterChange::Kind::Truncate) {
      if (!segment.empty()) steps.push_back({segment.take(), std::nullopt});
      steps.push_back({{}, change.row});
      auto [it, inserted] =
          watermarks.try_emplace(change.row.source_system, change.row.source_position);
      if (!inserted && it->second < change.row.source_position)
        it->second = change.row.source_position;
      continue;
    }
    // Read after the truncate but older than it: from another partition, committed
    // before the truncate at the source, so it is already gone there.
    const auto watermark = watermarks.find(change.row.source_system);
    segment.add(change,
                watermark != watermarks.end() && change.row.source_position < watermark->second);
  }
  if (!segment.empty()) steps.push_back({segment.take(), std::nullopt});
  return steps;
}

}  // namespace metersync::sink
