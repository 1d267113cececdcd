// Small builders and fakes shared by the engine unit tests.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/batch_committer.hpp"
#include "engine/in_flight_batch.hpp"

namespace metersync::engine::testing {

inline MeterChange change_for(const std::string& meter_id) {
  MeterChange change{MeterChange::Kind::Upsert, {}};
  change.row.source_system = "postgres";
  change.row.source_meter_id = meter_id;
  return change;
}

inline InFlightRecord record(int32_t partition, int64_t offset, Outcome outcome) {
  InFlightRecord r;
  r.partition = partition;
  r.offset = offset;
  r.outcome = std::move(outcome);
  return r;
}

// A sink that rejects batches holding a poisoned meter id (as a constraint would) and
// can fail transiently on chosen calls.
class FakeSink : public ChangeWriter {
 public:
  Result<void> apply(const sink::Batch& batch) override {
    ++calls;
    events->push_back("apply");
    if (transient_on_call.contains(calls)) return refusal(ErrorKind::Transient, "08S01", "connection lost");
    if (fatal) return refusal(ErrorKind::Fatal, "42S02", "table missing");
    if (refuse_offsets) return refusal(ErrorKind::Data, "22001", "offsets refused");
    for (const auto& change : batch.changes) {
      if (poisoned.contains(change.row.source_meter_id)) {
        return refusal(ErrorKind::Data, "22003", "numeric field overflow for " + change.row.source_meter_id);
      }
    }
    committed.push_back(batch);
    return {};
  }

  static std::unexpected<Error> refusal(ErrorKind kind, std::string sqlstate, std::string reason) {
    return std::unexpected(Error{kind, Stage::Sink, std::move(reason), std::move(sqlstate), 0, 0});
  }

  std::set<std::string> poisoned;
  std::set<int> transient_on_call;
  bool fatal = false;
  bool refuse_offsets = false;
  int calls = 0;
  std::vector<sink::Batch> committed;
  std::vector<std::string>* events = &own_events;
  std::vector<std::string> own_events;
};

class FakeDeadLetters : public DeadLetterWriter {
 public:
  Result<void> send(const InFlightRecord& record, const Rejected& rejection) override {
    events->push_back("send");
    pending.push_back({record.offset, rejection.stage, rejection.reason});
    return {};
  }
  Result<void> flush() override {
    events->push_back("flush");
    if (fail_flushes > 0) {
      --fail_flushes;
      pending.clear();
      return std::unexpected(
          Error{ErrorKind::Transient, Stage::DeadLetter, "not acknowledged", {}, 0, 0});
    }
    delivered.insert(delivered.end(), pending.begin(), pending.end());
    pending.clear();
    return {};
  }

  struct Letter {
    int64_t offset;
    Stage stage;
    std::string reason;
  };
  std::vector<Letter> pending;
  std::vector<Letter> delivered;
  int fail_flushes = 0;
  std::vector<std::string>* events = &own_events;
  std::vector<std::string> own_events;
};

}  // namespace metersync::engine::testing
