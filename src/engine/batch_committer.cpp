#include "engine/batch_committer.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/failpoint.hpp"

namespace metersync::engine {

BatchCommitter::BatchCommitter(ChangeWriter& writer, DeadLetterWriter& dead_letters,
                               std::string pipeline, std::string topic, CommittedHook committed)
    : writer_(writer),
      dead_letters_(dead_letters),
      pipeline_(std::move(pipeline)),
      topic_(std::move(topic)),
      committed_(std::move(committed)) {}

Result<void> BatchCommitter::commit(InFlightBatch& batch) {
  done_ = 0;
  Result<void> result = commit_all(batch);
  if (!result) {
    batch.erase_front(done_);
    return result;
  }
  batch.clear();
  return {};
}

// Ranges are committed front to back, each with the offsets of exactly its records, so a
// stored offset never passes a record that was neither written nor dead-lettered. A range
// the destination refuses with a Data error is split in two (the front half first) until
// the refused change is alone; that one is dead-lettered and its range committed again.
Result<void> BatchCommitter::commit_all(InFlightBatch& batch) {
  if (auto delivered = deliver_dead_letters(batch, 0, batch.size()); !delivered) return delivered;
  std::vector<std::pair<std::size_t, std::size_t>> pending;  // the next range to commit last
  if (!batch.empty()) pending.emplace_back(0, batch.size());
  while (!pending.empty()) {
    const auto [begin, end] = pending.back();
    pending.pop_back();
    sink::Batch slice = batch.slice(begin, end, pipeline_, topic_);
    const auto started = std::chrono::steady_clock::now();
    Result<void> applied = writer_.apply(slice);
    if (applied) {
      done_ = end;
      report(batch, slice, begin, end, std::chrono::steady_clock::now() - started);
      continue;
    }
    if (refused_) refused_(applied.error());
    if (applied.error().kind != ErrorKind::Data) return applied;
    const std::size_t changes = batch.changes_in(begin, end);
    if (changes == 0) return applied;  // the offsets alone were refused: nothing to isolate
    if (changes == 1) {
      dead_letter_refused_change(batch, begin, end, applied.error());
      if (auto delivered = deliver_dead_letters(batch, begin, end); !delivered) return delivered;
      pending.emplace_back(begin, end);
      continue;
    }
    const std::size_t middle = batch.split_point(begin, end);
    pending.emplace_back(middle, end);
    pending.emplace_back(begin, middle);
  }
  return {};
}

void BatchCommitter::dead_letter_refused_change(InFlightBatch& batch, std::size_t begin,
                                                std::size_t end, const Error& refusal) {
  for (std::size_t i = begin; i < end; ++i) {
    if (!std::holds_alternative<MeterChange>(batch[i].outcome)) continue;
    spdlog::warn("{}: sink rejected the change at partition {} offset {}: {}", pipeline_,
                 batch[i].partition, batch[i].offset, refusal.reason);
    std::string reason = "sink rejected the row";
    if (!refusal.sqlstate.empty()) reason += " (SQLSTATE " + refusal.sqlstate + ")";
    reason += ": " + refusal.reason;
    batch[i].outcome = Rejected{Stage::Sink, std::move(reason)};
    return;
  }
}

Result<void> BatchCommitter::deliver_dead_letters(InFlightBatch& batch, std::size_t begin,
                                                  std::size_t end) {
  bool any = false;
  for (std::size_t i = begin; i < end; ++i) {
    auto* rejected = std::get_if<Rejected>(&batch[i].outcome);
    if (rejected == nullptr || rejected->delivered) continue;
    if (auto sent = dead_letters_.send(batch[i], *rejected); !sent) return sent;
    any = true;
  }
  if (!any) return {};
  // Only an acknowledged dead letter may be skipped by a commit.
  if (auto flushed = dead_letters_.flush(); !flushed) return flushed;
  // A crash here sends these dead letters again after the restart, with the same identity
  // (docs/operating.md, Dead letters); the fault test stops here and kills the process.
  failpoint("dead-letter-flushed");
  for (std::size_t i = begin; i < end; ++i) {
    if (auto* rejected = std::get_if<Rejected>(&batch[i].outcome)) rejected->delivered = true;
  }
  return {};
}

void BatchCommitter::report(const InFlightBatch& batch, const sink::Batch& slice, std::size_t begin,
                            std::size_t end, std::chrono::duration<double> took) {
  if (!committed_) return;
  CommitSummary summary{slice, topic_, {}, 0, {}, -1};
  summary.took = took;
  for (std::size_t i = begin; i < end; ++i) {
    if (std::holds_alternative<Rejected>(batch[i].outcome)) summary.dead_letters.push_back(&batch[i]);
    if (std::holds_alternative<Tombstone>(batch[i].outcome)) ++summary.tombstones;
    summary.newest_timestamp_ms = std::max(summary.newest_timestamp_ms, batch[i].timestamp_ms);
  }
  committed_(summary);
}

}  // namespace metersync::engine
