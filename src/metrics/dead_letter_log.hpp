// The dead letters this process wrote, for the operations page: each one's source,
// destination, stage, reason and the record it came from, the newest `capacity` kept in
// memory (older ones drop off; the dead-letter topics keep them all), and how many records
// each destination dead-lettered since the process started.
//
// Filled by DestinationMetrics::dead_letter(), the same call that counts
// metersync_dead_letters_total, so the page's counts and the metric never disagree.
//
// Threads: any; a mutex. add() happens once per dead letter, never per record delivered.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace metersync::metrics {

// What a dead letter says about itself: the same facts as its metersync.* headers.
struct DeadLetterNote {
  std::string stage;   // decode, map, sink, endpoint
  std::string reason;
  std::string topic;   // the original record's
  int32_t partition = 0;
  int64_t offset = 0;  // an endpoint batch: its first record's
  int64_t records = 1; // an endpoint batch: the records it carries
};

struct KeptDeadLetter {
  std::chrono::system_clock::time_point at;
  std::string source;
  std::string destination;  // meter_master | endpoint
  DeadLetterNote note;
};

class DeadLetterLog {
 public:
  // The operations page shows the newest 100; a reason longer than kReasonBytes is cut, so
  // the log stays within about 100 KiB whatever the records say.
  static constexpr std::size_t kCapacity = 100;
  static constexpr std::size_t kReasonBytes = 1000;

  explicit DeadLetterLog(std::size_t capacity = kCapacity) : capacity_(capacity) {}

  void add(KeptDeadLetter letter);
  std::vector<KeptDeadLetter> newest_first() const;
  // Records dead-lettered since the start, by (source, destination).
  std::map<std::pair<std::string, std::string>, int64_t> totals() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<KeptDeadLetter> kept_;
  std::map<std::pair<std::string, std::string>, int64_t> totals_;
};

}  // namespace metersync::metrics
