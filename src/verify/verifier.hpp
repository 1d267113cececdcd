// One source's verification: the algorithm, over two small interfaces (the source table,
// Meter Master) so that it is tested without databases (docs/verify.md).
//
//   1. Meter Master counts the source's live rows; the bucket count follows (~16 rows each).
//   2. Meter Master computes every bucket's digest in SQL (meter_master_sql.hpp).
//   3. The source table is streamed in key order, page by page; every row is mapped by the
//      pipeline's own SourceMapper and folded into the same bucket digests in metersync.
//      Steps 1-2 run on Meter Master's connection while step 3 runs: the source is read from
//      the start, and its first rows are folded once the count is known.
//   4. Buckets whose digests agree are done. For the others, in groups that keep at most
//      `max_rows_in_memory` rows per side: the source is streamed again keeping only the
//      rows of the group's buckets, Meter Master returns its rows of those buckets, and the
//      two sorted sets are merge-joined key by key: missing, extra live, differing columns.
//   5. If anything differs, the differing keys are compared again (up to `rounds` in all):
//      their source rows are read by source key (the whole source again, for their buckets,
//      when an extra live key has no source row to look up), `catch_up` waits until the
//      pipeline has applied what the topic holds then, and Meter Master is read. Only keys that differ in every
//      round are reported: a change in flight differs once, not again after the pipeline
//      applied it.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "verify/row_digest.hpp"

namespace metersync::verify {

// A source row after mapping, or why it could not be mapped.
struct SourceRow {
  std::optional<ComparedRow> mapped;
  std::string source_key;  // the key as the source holds it, for messages
  std::string failure;     // when not mapped: the mapping's reason
};

class SourceTable {
 public:
  virtual ~SourceTable() = default;
  // Starts a new pass over the table in key order.
  virtual void restart() = 0;
  // The next page; empty at the end of the table.
  virtual Result<std::vector<SourceRow>> next_page() = 0;
  // The rows whose key has these values (SourceRow::source_key as read before); a key no
  // longer in the table gives no row.
  virtual Result<std::vector<SourceRow>> rows_with_keys(const std::vector<std::string>& source_keys) = 0;
};

class MeterMasterRows {
 public:
  virtual ~MeterMasterRows() = default;
  virtual Result<int64_t> live_rows() = 0;
  virtual Result<std::map<uint32_t, BucketDigest>> digests(uint32_t buckets) = 0;
  virtual Result<std::vector<ComparedRow>> rows(uint32_t buckets, const std::vector<uint32_t>& which) = 0;
};

struct ColumnDifference {
  std::string column;
  std::optional<std::string> source;        // canonical text after mapping; nullopt: NULL
  std::optional<std::string> meter_master;  // canonical text in Meter Master; nullopt: NULL
};

struct Difference {
  enum class Kind { Missing, ExtraLive, Differing };
  Kind kind;
  std::string key;                        // SourceMeterId
  std::vector<ColumnDifference> columns;  // Differing only
  std::string source_key;                 // the source row's key; empty for ExtraLive
};
std::string_view kind_name(Difference::Kind kind);  // "missing", "extra_live", "differing"

struct Unmappable {
  std::string source_key;
  std::string reason;
};

// What `verify --repair` did for a source (docs/verify.md, "Repair").
struct RepairReport {
  int signals = 0;                    // execute-snapshot signal rows written
  int64_t keys_signalled = 0;         // keys those signals name (missing, differing)
  int64_t delete_records = 0;         // delete records produced (extra live keys)
  std::vector<Difference> repaired;   // differed before repair, equal after it
  std::vector<Unmappable> not_attempted;  // keys repair could not ask for, and why
  double seconds = 0;                 // from the first signal or record to the last comparison
  bool timed_out = false;             // keys still differed when --repair-timeout ran out
  std::string error;                  // repair could not start: why
};

struct SourceReport {
  std::string source;
  std::string error;  // the source could not be verified: why; nothing else is meaningful
  int64_t source_rows = 0;        // rows read from the source in the first pass
  int64_t meter_master_rows = 0;  // live rows of the source in Meter Master
  uint32_t buckets = 0;
  uint32_t differing_buckets = 0;
  int source_passes = 0;
  int64_t source_rows_looked_up = 0;   // re-check rounds: source rows read by key
  int64_t meter_master_rows_read = 0;  // rows pulled through metersync (all passes)
  std::optional<bool> caught_up;       // set when a re-check was needed: the wait ended in time
  int64_t settled_in_flight = 0;       // keys that differed first, then no more
  std::vector<Difference> differences; // key order
  std::vector<Unmappable> unmappable;  // the first 100
  int64_t unmappable_rows = 0;
  double seconds = 0;
  double digest_seconds = 0;      // Meter Master's aggregate query
  double first_pass_seconds = 0;  // reading and mapping the source once
  std::optional<RepairReport> repair;  // --repair: `differences` are then what still differs

  bool equal() const { return error.empty() && differences.empty() && unmappable_rows == 0; }
};

struct VerifyOptions {
  Encoding encoding = Encoding::Utf8;
  std::vector<std::string> column_names;  // compared columns, SourceMeterId first
  int64_t max_rows_in_memory = 100'000;   // per side, in the row-by-row comparison
  // Waits until the pipeline has applied what the topic holds now; false when it did not
  // within its bound. Unset: no re-check (every difference found is reported).
  std::function<Result<bool>()> catch_up;
  // Comparisons of a differing key, the first included; reported only when it differed in all.
  int rounds = 3;
};

class Verifier {
 public:
  Verifier(SourceTable& source, MeterMasterRows& meter_master, VerifyOptions options);
  SourceReport run(const std::string& source_name);
  // After run(): these keys compared once more as a re-check round compares them (the
  // source read, then `between`, then Meter Master); the ones that still differ.
  Result<std::map<std::string, Difference>> compare_again(const std::vector<Difference>& keys,
                                                          SourceReport& report,
                                                          const std::function<void()>& between);

 private:
  // `between` runs after the source was read and before Meter Master is.
  Result<std::map<std::string, Difference>> compare_buckets(const std::vector<uint32_t>& buckets,
                                                            SourceReport& report,
                                                            const std::function<void()>& between = {});
  // A re-check of differing keys: their source rows read by key when every one has a source
  // row (missing, differing), else the buckets compared again.
  Result<std::map<std::string, Difference>> recheck(const std::map<std::string, Difference>& keys,
                                                    SourceReport& report,
                                                    const std::function<void()>& between);
  Result<std::map<std::string, Difference>> compare(const std::map<std::string, ComparedRow>& source_rows,
                                                    const std::map<std::string, std::string>& source_keys,
                                                    const std::vector<uint32_t>& buckets,
                                                    const std::set<std::string>* only, SourceReport& report);
  // `buckets` is Meter Master's count turned into buckets_ (counted while the source is read);
  // rows hashed before it is known wait in memory, 12 bytes each.
  Result<void> first_pass(std::vector<BucketDigest>& digests, std::shared_future<uint32_t> buckets,
                          SourceReport& report);

  SourceTable& source_;
  MeterMasterRows& meter_master_;
  VerifyOptions options_;
  uint32_t buckets_ = 0;
};

// Merge-join of two key-sorted row sets (compared form, same columns).
std::vector<Difference> diff_rows(const std::map<std::string, ComparedRow>& source,
                                  const std::map<std::string, ComparedRow>& meter_master,
                                  const std::vector<std::string>& column_names);

}  // namespace metersync::verify
