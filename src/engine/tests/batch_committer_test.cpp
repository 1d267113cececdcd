#include "engine/batch_committer.hpp"

#include <gtest/gtest.h>

#include <map>

#include "batch_test_support.hpp"

namespace metersync::engine {
namespace {

using testing::change_for;
using testing::FakeDeadLetters;
using testing::FakeSink;
using testing::record;

// n changes of meters m0..m<n-1> on partition 0, offsets 100.., with extra outcomes
// substituted at chosen offsets.
InFlightBatch changes(int n, std::map<int, Outcome> others = {}) {
  InFlightBatch batch;
  for (int i = 0; i < n; ++i) {
    auto found = others.find(i);
    batch.add(record(0, 100 + i,
                     found != others.end() ? std::move(found->second) : Outcome(change_for("m" + std::to_string(i)))));
  }
  return batch;
}

struct Totals {
  int64_t records = 0;
  std::size_t dead_lettered = 0;
  std::size_t tombstones = 0;
  sink::Offsets last;
};

struct Harness {
  FakeSink sink;
  FakeDeadLetters dead_letters;
  std::vector<std::string> events;
  Totals totals;
  BatchCommitter committer{sink, dead_letters, "metersync-postgres", "postgres.public.meter",
                           [this](const CommitSummary& s) {
                             totals.records += s.batch.record_count;
                             totals.dead_lettered += s.dead_letters.size();
                             totals.tombstones += s.tombstones;
                             for (auto [p, o] : s.batch.next_offsets) totals.last[p] = o;
                           }};
  Harness() {
    sink.events = &events;
    dead_letters.events = &events;
  }
  // Every meter id written, in commit order.
  std::vector<std::string> written() const {
    std::vector<std::string> ids;
    for (const auto& b : sink.committed)
      for (const auto& c : b.changes) ids.push_back(c.row.source_meter_id);
    return ids;
  }
};

std::vector<std::string> ids(std::initializer_list<int> numbers) {
  std::vector<std::string> out;
  for (int n : numbers) out.push_back("m" + std::to_string(n));
  return out;
}

TEST(BatchCommitter, CleanBatchIsOneTransaction) {
  Harness h;
  InFlightBatch batch = changes(4);
  ASSERT_TRUE(h.committer.commit(batch));
  EXPECT_TRUE(batch.empty());
  ASSERT_EQ(h.sink.committed.size(), 1u);
  EXPECT_EQ(h.sink.committed[0].record_count, 4);
  EXPECT_EQ(h.sink.committed[0].next_offsets, (sink::Offsets{{0, 104}}));
  EXPECT_EQ(h.written(), ids({0, 1, 2, 3}));
}

TEST(BatchCommitter, DeadLettersAreAcknowledgedBeforeTheCommitThatSkipsThem) {
  Harness h;
  InFlightBatch batch = changes(5, {{1, Rejected{Stage::Decode, "not JSON"}}, {3, Tombstone{}}});
  ASSERT_TRUE(h.committer.commit(batch));
  EXPECT_EQ(h.events, (std::vector<std::string>{"send", "flush", "apply"}));
  ASSERT_EQ(h.dead_letters.delivered.size(), 1u);
  EXPECT_EQ(h.dead_letters.delivered[0].offset, 101);
  EXPECT_EQ(h.dead_letters.delivered[0].stage, Stage::Decode);
  EXPECT_EQ(h.written(), ids({0, 2, 4}));
  EXPECT_EQ(h.totals.records, 5);
  EXPECT_EQ(h.totals.dead_lettered, 1u);
  EXPECT_EQ(h.totals.tombstones, 1u);
}

TEST(BatchCommitter, BisectionIsolatesTheRowTheSinkRejects) {
  Harness h;
  h.sink.poisoned = {"m6"};
  InFlightBatch batch = changes(10);
  ASSERT_TRUE(h.committer.commit(batch));
  EXPECT_TRUE(batch.empty());
  // Everything else written once, in Kafka order.
  EXPECT_EQ(h.written(), ids({0, 1, 2, 3, 4, 5, 7, 8, 9}));
  ASSERT_EQ(h.dead_letters.delivered.size(), 1u);
  EXPECT_EQ(h.dead_letters.delivered[0].offset, 106);
  EXPECT_EQ(h.dead_letters.delivered[0].stage, Stage::Sink);
  EXPECT_NE(h.dead_letters.delivered[0].reason.find("22003"), std::string::npos);
  EXPECT_NE(h.dead_letters.delivered[0].reason.find("numeric field overflow"), std::string::npos);
  // The committed slices cover every record exactly once and end at the batch's end.
  EXPECT_EQ(h.totals.records, 10);
  EXPECT_EQ(h.totals.dead_lettered, 1u);
  EXPECT_EQ(h.totals.last, (sink::Offsets{{0, 110}}));
  int64_t expected_next = 100;
  for (const auto& b : h.sink.committed) {
    EXPECT_EQ(b.next_offsets.at(0) - b.record_count, expected_next) << "slices must be contiguous";
    expected_next = b.next_offsets.at(0);
  }
}

TEST(BatchCommitter, SeveralRejectedRowsAllFound) {
  Harness h;
  h.sink.poisoned = {"m0", "m5", "m6", "m15"};
  InFlightBatch batch = changes(16);
  ASSERT_TRUE(h.committer.commit(batch));
  EXPECT_EQ(h.written(), ids({1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14}));
  std::vector<int64_t> dead;
  for (const auto& l : h.dead_letters.delivered) dead.push_back(l.offset);
  EXPECT_EQ(dead, (std::vector<int64_t>{100, 105, 106, 115}));
  EXPECT_EQ(h.totals.records, 16);
}

TEST(BatchCommitter, TransientFailureMidBisectionLeavesExactlyTheUnwrittenSuffix) {
  Harness h;
  h.sink.poisoned = {"m2"};
  // Call 1: whole batch (Data). Call 2: [0,4) (Data). Call 3: [0,2) commits. Call 4: fails.
  h.sink.transient_on_call = {4};
  InFlightBatch batch = changes(8);
  auto failed = h.committer.commit(batch);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::Transient);
  ASSERT_EQ(batch.size(), 6u);
  EXPECT_EQ(batch[0].offset, 102);
  EXPECT_EQ(h.written(), ids({0, 1}));

  ASSERT_TRUE(h.committer.commit(batch));  // the retry
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(h.written(), ids({0, 1, 3, 4, 5, 6, 7}));
  EXPECT_EQ(h.totals.records, 8);  // nothing counted twice
  ASSERT_EQ(h.dead_letters.delivered.size(), 1u);
  EXPECT_EQ(h.dead_letters.delivered[0].offset, 102);
}

TEST(BatchCommitter, UnacknowledgedDeadLettersBlockTheCommitAndAreSentAgain) {
  Harness h;
  h.dead_letters.fail_flushes = 1;
  InFlightBatch batch = changes(3, {{0, Rejected{Stage::Map, "unknown code"}}});
  auto unacknowledged = h.committer.commit(batch);
  ASSERT_FALSE(unacknowledged);
  EXPECT_EQ(unacknowledged.error().stage, Stage::DeadLetter);
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_TRUE(h.sink.committed.empty());
  ASSERT_TRUE(h.committer.commit(batch));
  EXPECT_EQ(h.dead_letters.delivered.size(), 1u);
  EXPECT_EQ(h.written(), ids({1, 2}));
}

TEST(BatchCommitter, RefusedOffsetsWithNoRowToBlameAreNotSwallowed) {
  Harness h;
  h.sink.refuse_offsets = true;
  InFlightBatch batch = changes(2, {{0, Tombstone{}}, {1, Tombstone{}}});
  auto refused = h.committer.commit(batch);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Data);
  EXPECT_EQ(batch.size(), 2u);
}

TEST(BatchCommitter, FatalErrorsPassThroughUntouched) {
  Harness h;
  h.sink.fatal = true;
  InFlightBatch batch = changes(3);
  auto failed = h.committer.commit(batch);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::Fatal);
  EXPECT_EQ(failed.error().sqlstate, "42S02");
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_TRUE(h.dead_letters.delivered.empty());
}

}  // namespace
}  // namespace metersync::engine
