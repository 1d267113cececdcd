// Folds a batch of changes into what the database must do, in memory, before any
// statement is sent: per key (SourceSystem, SourceMeterId) at most one full row and at
// most one key-only delete after it, and truncates as barriers between segments.
//
// Each change carries its whole row, so for a key only the newest change matters. Newest
// means highest position (byte-wise, as positions are encoded to sort in source order);
// among equal positions the later in Kafka order. In a well-ordered topic that is simply
// the last change; a redelivered older event inside a batch is dropped here just as the
// database's guard would drop it.
//
// A key-only delete (the before image held only the key) has no values: when the batch
// holds an older full row for the key, both are kept, so the full row is written first
// (if newer than the stored one) and then flagged; otherwise the stored row is flagged.
//
// A truncate splits the batch: what precedes it is applied, then the truncate, then the
// rest. What a truncate covers is decided by position, not by where it sits in the
// batch: a truncate event has no Kafka key, so it lands on any partition and the batch
// interleaves it with other partitions' changes in poll order. A change before it in the
// batch but newer by position survives it (the truncate flags only older rows); a full
// row after it in the batch but older by position is kept with IsDeleted = 1 (the
// source dropped it). The database applies the same rule across batches through each
// source's truncate watermark (StageStatements::stage_truncated_sql, DocumentStatements::upsert_document_sql).
#pragma once

#include <optional>
#include <vector>

#include "core/meter_row.hpp"

namespace metersync::sink {

struct StagedChange {
  MeterRow row;
  bool key_only = false;  // flag the stored row (IsDeleted = 1), values untouched
  bool inserted = false;  // a full row of a key the segment saw inserted (MeterChange::inserted)
};

struct BatchStep {
  std::vector<StagedChange> rows;    // keys in order of first appearance; full rows of a
                                     // key precede its key-only delete
  std::optional<MeterRow> truncate;  // set: this step is a truncate of row.source_system
};

std::vector<BatchStep> fold_changes(const std::vector<MeterChange>& changes);

}  // namespace metersync::sink
