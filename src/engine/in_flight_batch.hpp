// The records a pipeline has read but not yet committed to the sink, in Kafka order,
// each with what decoding and mapping made of it.
//
// Any contiguous range [begin, end) can be turned into a sink::Batch covering exactly
// those records: their changes, the next offset of every partition they touch, and
// their count. Committing ranges front to back therefore never moves a partition's
// stored offset past a record that was not written or dead-lettered.
//
// Thread: owned by one pipeline thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "engine/retained_record.hpp"
#include "core/error.hpp"
#include "core/meter_row.hpp"
#include "pipeline/record_processor.hpp"
#include "sink/sink.hpp"

namespace metersync::engine {

// A null Kafka value: nothing to write, but the record is covered by the offsets.
using pipeline::Tombstone;

// A record that goes to the dead-letter topic instead of the table.
struct Rejected {
  Stage stage;
  std::string reason;
  bool delivered = false;  // acknowledged by the dead-letter topic
};

using Outcome = std::variant<MeterChange, Tombstone, Rejected>;

struct InFlightRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  // What holding the record costs: the batch's memory bound counts it (held_bytes()).
  std::size_t held_bytes = 0;
  // The key and value as consumed, kept for dead-lettering the record unchanged.
  RetainedRecord original;
  Outcome outcome;
};

// sizeof the record, its retained key and value, and the heap text of its change or
// rejection: an estimate that follows the record's real size (strings' capacities).
std::size_t held_bytes(const InFlightRecord& record);

class InFlightBatch {
 public:
  void add(InFlightRecord record) { records_.push_back(std::move(record)); }
  std::size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  InFlightRecord& operator[](std::size_t i) { return records_[i]; }
  const InFlightRecord& operator[](std::size_t i) const { return records_[i]; }

  // The sink batch covering records [begin, end).
  sink::Batch slice(std::size_t begin, std::size_t end, const std::string& pipeline,
                    const std::string& topic) const;
  // Records of [begin, end) whose outcome is a change.
  std::size_t changes_in(std::size_t begin, std::size_t end) const;
  // An index m in (begin, end) with about half of the range's changes before it.
  // Precondition: changes_in(begin, end) >= 2.
  std::size_t split_point(std::size_t begin, std::size_t end) const;

  // Drops the first n records (they were committed).
  void erase_front(std::size_t n);
  // Drops every record of these partitions (they were revoked before being written).
  void drop_partitions(const std::vector<int32_t>& partitions);
  void clear() { records_.clear(); }

 private:
  std::vector<InFlightRecord> records_;
};

}  // namespace metersync::engine
