#include "engine/record_intake.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

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
  const auto turn = rejection_log_.next(std::chrono::steady_clock::now());
  if (turn.held_back > 0) {
    spdlog::warn("{}: {} more records went to the dead-letter topic", source_, turn.held_back);
  }
  if (turn.write) {
    spdlog::warn("{}: partition {} offset {} goes to the dead-letter topic ({}): {}", source_,
                 record.partition, record.offset, stage_name(rejected.stage), rejected.reason);
  }
}

}  // namespace metersync::engine
