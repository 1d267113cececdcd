#include "engine/in_flight_batch.hpp"

#include <algorithm>

namespace metersync::engine {

namespace {

std::size_t heap_text(const std::string& s) {
  // Short strings live inside the object (libstdc++ keeps up to 15 characters there).
  return s.capacity() > 15 ? s.capacity() : 0;
}

std::size_t heap_text(const std::optional<std::string>& s) { return s ? heap_text(*s) : 0; }

}  // namespace

std::size_t held_bytes(const InFlightRecord& record) {
  std::size_t bytes = sizeof(InFlightRecord) + record.original.held_bytes();
  if (const auto* change = std::get_if<MeterChange>(&record.outcome)) {
    const MeterRow& row = change->row;
    bytes += heap_text(row.source_system) + heap_text(row.source_meter_id) +
             heap_text(row.serial_number) + heap_text(row.meter_type) +
             heap_text(row.manufacturer) + heap_text(row.status) +
             heap_text(row.source_position.text);
  } else if (const auto* rejected = std::get_if<Rejected>(&record.outcome)) {
    bytes += heap_text(rejected->reason);
  }
  return bytes;
}

sink::Batch InFlightBatch::slice(std::size_t begin, std::size_t end, const std::string& pipeline,
                                 const std::string& topic) const {
  sink::Batch batch;
  batch.pipeline = pipeline;
  batch.topic = topic;
  for (std::size_t i = begin; i < end; ++i) {
    const InFlightRecord& record = records_[i];
    if (const auto* change = std::get_if<MeterChange>(&record.outcome)) {
      batch.changes.push_back(*change);
    }
    // Records of one partition arrive in offset order, so the last one seen wins.
    batch.next_offsets[record.partition] = record.offset + 1;
  }
  batch.record_count = static_cast<int64_t>(end - begin);
  return batch;
}

std::size_t InFlightBatch::changes_in(std::size_t begin, std::size_t end) const {
  return static_cast<std::size_t>(
      std::count_if(records_.begin() + static_cast<std::ptrdiff_t>(begin),
                    records_.begin() + static_cast<std::ptrdiff_t>(end),
                    [](const InFlightRecord& r) { return std::holds_alternative<MeterChange>(r.outcome); }));
}

std::size_t InFlightBatch::split_point(std::size_t begin, std::size_t end) const {
  const std::size_t half = changes_in(begin, end) / 2;
  std::size_t seen = 0;
  for (std::size_t i = begin; i < end; ++i) {
    if (std::holds_alternative<MeterChange>(records_[i].outcome) && ++seen == half) return i + 1;
  }
  return end;  // unreachable when the precondition holds
}

void InFlightBatch::erase_front(std::size_t n) {
  records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(std::min(n, records_.size())));
}

void InFlightBatch::drop_partitions(const std::vector<int32_t>& partitions) {
  std::erase_if(records_, [&](const InFlightRecord& r) {
    return std::find(partitions.begin(), partitions.end(), r.partition) != partitions.end();
  });
}

}  // namespace metersync::engine
