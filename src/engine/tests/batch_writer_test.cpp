#include "engine/batch_writer.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

#include "batch_test_support.hpp"

namespace metersync::engine {
namespace {

using namespace std::chrono_literals;
using testing::change_for;
using testing::FakeDeadLetters;
using testing::FakeSink;
using testing::record;

// A sink whose writes can be held open, to see what happens while a transaction is in
// progress. Only the writer thread calls apply(); the test reads after the writer is
// idle or stopped (both synchronise through the writer's mutex).
class GatedSink : public ChangeWriter {
 public:
  Result<void> apply(const sink::Batch& batch) override {
    {
      std::unique_lock lock(mutex_);
      ++entered_;
      entered_changed_.notify_all();
      open_changed_.wait(lock, [this] { return open_; });
    }
    Result<void> applied = inner.apply(batch);
    if (applied) log("written");
    return applied;
  }
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    open_changed_.notify_all();
  }
  void wait_entered(int n) {
    std::unique_lock lock(mutex_);
    entered_changed_.wait(lock, [&] { return entered_ >= n; });
  }
  void log(const std::string& what) {
    std::lock_guard lock(mutex_);
    events.push_back(what);
  }
  std::vector<std::string> events_copy() {
    std::lock_guard lock(mutex_);
    return events;
  }

  FakeSink inner;
  std::vector<std::string> events;

 private:
  std::mutex mutex_;
  std::condition_variable entered_changed_;
  std::condition_variable open_changed_;
  int entered_ = 0;
  bool open_ = true;
};

struct Harness {
  explicit Harness(std::size_t max_events, std::chrono::milliseconds retry = 1ms) {
    settings.max_batch_events = max_events;
    settings.retry_initial = retry;
    settings.retry_max = retry;
  }
  GatedSink sink;
  FakeDeadLetters dead_letters;
  BatchCommitter committer{sink, dead_letters, "metersync-postgres", "postgres.public.meter", nullptr};
  BatchWriter::Settings settings;
  std::promise<std::string> first_transient;
  bool transient_seen = false;
  BatchWriter::Hooks hooks() {
    BatchWriter::Hooks h;
    h.transient_failure = [this](const std::string& message) {
      if (!transient_seen) first_transient.set_value(message);
      transient_seen = true;
    };
    return h;
  }

  std::vector<std::string> written() const {
    std::vector<std::string> ids;
    for (const auto& b : sink.inner.committed)
      for (const auto& c : b.changes) ids.push_back(c.row.source_meter_id);
    return ids;
  }
};

void add_changes(BatchWriter& writer, int32_t partition, int from, int to) {
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE(writer.wait_for_room(1h));
    writer.add(record(partition, i, change_for("p" + std::to_string(partition) + "-" + std::to_string(i))));
  }
}

TEST(BatchWriter, WritesEveryRecordInOrderInBatchesOfAtMostTheLimit) {
  Harness h(7);
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  add_changes(writer, 0, 0, 50);
  ASSERT_TRUE(writer.wait_until_idle(1h));
  writer.stop();

  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) expected.push_back("p0-" + std::to_string(i));
  EXPECT_EQ(h.written(), expected);
  for (const auto& batch : h.sink.inner.committed) EXPECT_LE(batch.record_count, 7);
  EXPECT_EQ(h.sink.inner.committed.back().next_offsets.at(0), 50);
  EXPECT_FALSE(writer.failure());
}

TEST(BatchWriter, FillsTheNextBatchWhileOneIsBeingWritten) {
  Harness h(10);
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  h.sink.close();
  add_changes(writer, 0, 0, 1);
  h.sink.wait_entered(1);  // the first record is being written, alone
  // The pipeline goes on: a whole batch fits beside the write in progress, no more.
  add_changes(writer, 0, 1, 11);
  EXPECT_FALSE(writer.has_room());
  EXPECT_EQ(writer.unwritten(), 11u);
  h.sink.open();
  ASSERT_TRUE(writer.wait_until_idle(1h));
  writer.stop();

  ASSERT_EQ(h.sink.inner.committed.size(), 2u);
  EXPECT_EQ(h.sink.inner.committed[0].record_count, 1);
  EXPECT_EQ(h.sink.inner.committed[1].record_count, 10);
  EXPECT_EQ(h.sink.inner.committed[1].next_offsets.at(0), 11);
}

TEST(BatchWriter, TheQueuedBatchIsAlsoBoundedByItsHeldBytes) {
  Harness h(100);
  h.settings.max_batch_bytes = 1000;
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  h.sink.close();
  auto sized = [](int64_t offset) {
    InFlightRecord r = record(0, offset, change_for("m" + std::to_string(offset)));
    r.held_bytes = 400;
    return r;
  };
  writer.add(sized(0));
  h.sink.wait_entered(1);  // written alone; the next batch fills beside it
  writer.add(sized(1));
  writer.add(sized(2));
  EXPECT_TRUE(writer.has_room());  // 800 bytes queued
  writer.add(sized(3));
  EXPECT_FALSE(writer.has_room());  // 1200: full long before 100 records
  h.sink.open();
  ASSERT_TRUE(writer.wait_until_idle(1h));
  writer.stop();
  ASSERT_EQ(h.sink.inner.committed.size(), 2u);
  EXPECT_EQ(h.sink.inner.committed[1].record_count, 3);
}

TEST(BatchWriter, SettingsComeFromTheSinkKeys) {
  config::SinkConfig sink;
  sink.max_batch_events = 250;
  sink.max_batch_bytes = 32u << 20;
  sink.max_batch_wait = std::chrono::milliseconds(7);
  sink.retry_initial = std::chrono::milliseconds(300);
  sink.retry_max = std::chrono::milliseconds(9000);
  const BatchWriter::Settings settings = BatchWriter::Settings::from(sink);
  EXPECT_EQ(settings.max_batch_events, 250u);
  EXPECT_EQ(settings.max_batch_bytes, 32u << 20);
  EXPECT_EQ(settings.max_batch_wait.count(), 7);
  EXPECT_EQ(settings.retry_initial.count(), 300);
  EXPECT_EQ(settings.retry_max.count(), 9000);
}

TEST(BatchWriter, RevokeWaitsForTheWriteInProgressAndDropsThePartitionsRecords) {
  Harness h(100);
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  h.sink.close();
  add_changes(writer, 1, 0, 1);
  h.sink.wait_entered(1);             // partition 1's record is in a transaction
  add_changes(writer, 1, 1, 3);       // queued behind it
  add_changes(writer, 2, 0, 2);       // another partition, queued

  auto revoked = std::async(std::launch::async, [&] {
    const std::size_t dropped = writer.revoke({1});
    const auto events = h.sink.events_copy();
    return std::make_pair(dropped, events.size());  // writes ended when revoke() returned
  });
  // revoke() has dropped the queued records of partition 1 and waits for the write.
  while (writer.unwritten() != 3) std::this_thread::yield();
  h.sink.open();
  const auto [dropped, written_before_return] = revoked.get();
  EXPECT_EQ(dropped, 2u);  // the two queued ones; the one in the transaction committed
  EXPECT_GE(written_before_return, 1u);  // that transaction ended before revoke() returned
  ASSERT_TRUE(writer.wait_until_idle(1h));
  writer.stop();

  // Nothing of partition 1 was written after revoke() returned.
  EXPECT_EQ(h.written(), (std::vector<std::string>{"p1-0", "p2-0", "p2-1"}));
  EXPECT_FALSE(h.sink.inner.committed[1].next_offsets.contains(1));
}

TEST(BatchWriter, RetriesTheUnwrittenRecordsAfterATransientFailure) {
  Harness h(100);
  h.sink.inner.transient_on_call = {1, 2};
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  add_changes(writer, 0, 0, 5);
  ASSERT_TRUE(writer.wait_until_idle(1h));
  writer.stop();

  EXPECT_EQ(h.first_transient.get_future().get(), "connection lost [SQLSTATE 08S01]");
  EXPECT_EQ(h.written(), (std::vector<std::string>{"p0-0", "p0-1", "p0-2", "p0-3", "p0-4"}));
  EXPECT_FALSE(writer.retrying());
}

TEST(BatchWriter, RevokeWhileBackingOffDropsTheRecordsThatWouldHaveBeenRetried) {
  Harness h(100, 1h);  // the backoff outlasts the test: only revoke() or stop() end it
  h.sink.inner.transient_on_call = {1};
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  add_changes(writer, 3, 0, 4);
  h.first_transient.get_future().wait();
  EXPECT_TRUE(writer.retrying());
  EXPECT_EQ(writer.revoke({3}), 4u);
  // Nothing is held back any more: a pipeline paused for the retry reads again.
  EXPECT_FALSE(writer.retrying());
  ASSERT_TRUE(writer.wait_until_idle(1h));
  writer.stop();
  EXPECT_TRUE(h.sink.inner.committed.empty());
}

TEST(BatchWriter, StopAbandonsRecordsStillBackingOff) {
  Harness h(100, 1h);
  h.sink.inner.transient_on_call = {1};
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  add_changes(writer, 0, 0, 3);
  h.first_transient.get_future().wait();
  writer.stop();
  EXPECT_TRUE(h.sink.inner.committed.empty());
  EXPECT_EQ(writer.unwritten(), 0u);
}

TEST(BatchWriter, AFatalSinkErrorEndsTheWriterWithItsMessage) {
  Harness h(100);
  h.sink.inner.fatal = true;
  BatchWriter writer(h.committer, h.settings, h.hooks());
  writer.start();
  add_changes(writer, 0, 0, 2);
  writer.wait_until_idle(1h);  // returns on failure
  ASSERT_TRUE(writer.failure());
  EXPECT_EQ(*writer.failure(), "table missing [SQLSTATE 42S02]");
  writer.stop();
  EXPECT_TRUE(h.sink.inner.committed.empty());
}

}  // namespace
}  // namespace metersync::engine
