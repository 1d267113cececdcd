#include "engine/batch_committer.hpp"

#include <spdlog/spdlog.h>

namespace metersync::engine {

BatchCommitter::BatchCommitter(ChangeWriter& writer, DeadLetterWriter& dead_letters,
                               std::string pipeline, std::string topic, CommittedHook committed)
    : writer_(writer),
      dead_letters_(dead_letters),
      pipeline_(std::move(pipeline)),
      topic_(std::move(topic)),
      committed_(std::move(committed)) {}

void BatchCommitter::commit(InFlightBatch& batch) {
  done_ = 0;
  try {
    deliver_dead_letters(batch, 0, batch.size());
    commit_range(batch, 0, batch.size());
  } catch (...) {
    batch.erase_front(done_);
    throw;
  }
  batch.clear();
}

void BatchCommitter::deliver_dead_letters(InFlightBatch& batch, std::size_t begin, std::size_t end) {
  bool any = false;
  for (std::size_t i = begin; i < end; ++i) {
    auto* rejected = std::get_if<Rejected>(&batch[i].outcome);
    if (rejected == nullptr || rejected->delivered) continue;
    auto sent = dead_letters_.send(batch[i], *rejected);
    if (!sent) throw DeadLetterError(sent.error());
    any = true;
  }
  if (!any) return;
  // Only an acknowledged dead letter may be skipped by a commit.
  auto flushed = dead_letters_.flush();
  if (!flushed) throw DeadLetterError(flushed.error());
  for (std::size_t i = begin; i < end; ++i) {
    if (auto* rejected = std::get_if<Rejected>(&batch[i].outcome)) rejected->delivered = true;
  }
}

void BatchCommitter::commit_range(InFlightBatch& batch, std::size_t begin, std::size_t end) {
  if (begin == end) return;
  sink::Batch slice = batch.slice(begin, end, pipeline_, topic_);
  try {
    writer_.apply(slice);
  } catch (const sink::SinkError& e) {
    if (e.kind() != sink::SinkError::Kind::Data) throw;
    const std::size_t changes = batch.changes_in(begin, end);
    if (changes == 0) throw;  // the offsets alone were refused: nothing to isolate
    if (changes == 1) {
      for (std::size_t i = begin; i < end; ++i) {
        if (!std::holds_alternative<MeterChange>(batch[i].outcome)) continue;
        spdlog::warn("{}: sink rejected the change at partition {} offset {}: {}", pipeline_,
                     batch[i].partition, batch[i].offset, e.what());
        std::string reason = "sink rejected the row";
        if (!e.sqlstate().empty()) reason += " (SQLSTATE " + e.sqlstate() + ")";
        reason += std::string(": ") + e.what();
        batch[i].outcome = Rejected{kafka::Stage::Sink, std::move(reason)};
        break;
      }
      deliver_dead_letters(batch, begin, end);
      commit_range(batch, begin, end);
      return;
    }
    const std::size_t middle = batch.split_point(begin, end);
    commit_range(batch, begin, middle);
    commit_range(batch, middle, end);
    return;
  }
  done_ = end;
  CommitSummary summary{slice};
  for (std::size_t i = begin; i < end; ++i) {
    if (std::holds_alternative<Rejected>(batch[i].outcome)) ++summary.dead_lettered;
    if (std::holds_alternative<Tombstone>(batch[i].outcome)) ++summary.tombstones;
  }
  if (committed_) committed_(summary);
}

}  // namespace metersync::engine
