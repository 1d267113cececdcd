#include "engine/record_intake.hpp"

#include <spdlog/spdlog.h>

namespace metersync::engine {

RecordIntake::RecordIntake(const config::SourceConfig& source)
    : source_(source.name), processor_(source) {}

InFlightRecord RecordIntake::take(kafka::Message message) {
  InFlightRecord record;
  record.partition = message.partition();
  record.offset = message.offset();
  record.timestamp_ms = message.timestamp_ms();
  record.outcome = process(message);
  if (const auto* rejected = std::get_if<Rejected>(&record.outcome)) log_rejection(record, *rejected);
  record.original = RetainedRecord(message.key(), message.value(), processor_.schema_prefix());
  record.held_bytes = held_bytes(record);
  return record;
}

Outcome RecordIntake::process(const kafka::Message& message) {
  pipeline::Outcome outcome = processor_.process(message.value());
  if (auto* processed = std::get_if<pipeline::Processed>(&outcome)) return std::move(processed->change);
  if (auto* rejected = std::get_if<pipeline::Rejected>(&outcome)) {
    return Rejected{rejected->stage, std::move(rejected->reason)};
  }
  return Tombstone{};
}

void RecordIntake::log_rejection(const InFlightRecord& record, const Rejected& rejected) {
  using namespace std::chrono_literals;
  const auto now = std::chrono::steady_clock::now();
  if (now - rejection_window_ >= 10s) {
    if (rejections_unlogged_ > 0) {
      spdlog::warn("{}: {} more records went to the dead-letter topic", source_, rejections_unlogged_);
    }
    rejection_window_ = now;
    rejections_logged_ = 0;
    rejections_unlogged_ = 0;
  }
  if (rejections_logged_ < 10) {
    ++rejections_logged_;
    spdlog::warn("{}: partition {} offset {} goes to the dead-letter topic ({}): {}", source_,
                 record.partition, record.offset, stage_name(rejected.stage), rejected.reason);
  } else {
    ++rejections_unlogged_;
  }
}

}  // namespace metersync::engine
