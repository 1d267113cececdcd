// The pipeline's state machine on librdkafka's mock cluster (real consumer groups, offsets and
// rebalances): waiting for a busy writer, pausing while the destination is down, carrying
// fetched records across a revoke, a revoke during a write, and a stop. The destination is an
// in-memory one that keeps its offsets with its rows, as Meter Master does, and records every
// change it applied, so "exactly once, in order" is checked record by record.
#include "engine/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "engine/destination.hpp"
#include "engine/tests/captured_records.hpp"
#include "kafka/testing/mock_cluster.hpp"

namespace metersync::engine {
namespace {

using namespace std::chrono_literals;

// What every connection of the test's destinations shares: the rows (as the meter ids
// applied, in order) and the offsets stored with them.
struct Store {
  std::mutex mutex;
  std::vector<std::string> applied;
  std::map<std::string, sink::Offsets> offsets;  // per pipeline
};

// One pipeline's view of the store: its writes can be held open (gate) or fail transiently.
class MemoryDestination : public Destination {
 public:
  struct Control {
    std::mutex mutex;
    std::condition_variable changed;
    bool open = true;
    bool failing = false;
    int entered = 0;  // writes begun
    int refused = 0;  // writes failed transiently
    // Runs on the writer thread at the start of every write (set before the pipeline starts).
    std::function<void(const sink::Batch&)> on_apply;

    void set_open(bool value) {
      {
        std::lock_guard lock(mutex);
        open = value;
      }
      changed.notify_all();
    }
    void set_failing(bool value) {
      std::lock_guard lock(mutex);
      failing = value;
    }
    bool wait_entered(int n, std::chrono::seconds limit) {
      std::unique_lock lock(mutex);
      return changed.wait_for(lock, limit, [&] { return entered >= n; });
    }
    int refusals() {
      std::lock_guard lock(mutex);
      return refused;
    }
  };

  MemoryDestination(std::shared_ptr<Store> store, std::shared_ptr<Control> control)
      : store_(std::move(store)), control_(std::move(control)) {}

  Result<std::unique_ptr<DestinationConnection>> connect() override {
    return std::make_unique<Connection>(store_, control_);
  }

 private:
  class Connection : public DestinationConnection {
   public:
    Connection(std::shared_ptr<Store> store, std::shared_ptr<Control> control)
        : store_(std::move(store)), control_(std::move(control)) {}

    Result<void> apply(const sink::Batch& batch) override {
      if (control_->on_apply) control_->on_apply(batch);
      {
        std::unique_lock lock(control_->mutex);
        ++control_->entered;
        control_->changed.notify_all();
        control_->changed.wait(lock, [&] { return control_->open; });
        if (control_->failing) {
          ++control_->refused;
          return std::unexpected(Error{ErrorKind::Transient, Stage::Sink, "connection lost", "08S01", 0, 0});
        }
      }
      std::lock_guard lock(store_->mutex);  // the transaction: rows and offsets together
      for (const auto& change : batch.changes) store_->applied.push_back(change.row.source_meter_id);
      for (const auto& [partition, offset] : batch.next_offsets) store_->offsets[batch.pipeline][partition] = offset;
      return {};
    }

    Result<sink::Offsets> load_offsets(const std::string& pipeline, const std::string&) override {
      std::lock_guard lock(store_->mutex);
      return store_->offsets[pipeline];
    }

   private:
    std::shared_ptr<Store> store_;
    std::shared_ptr<Control> control_;
  };

  std::shared_ptr<Store> store_;
  std::shared_ptr<Control> control_;
};

using testing::captured_create;
using testing::eventually;
using testing::meter_id;
using testing::with_meter_id;

// A topic of the postgres source on its own mock cluster, and the configuration reading it.
class PipelineStates : public ::testing::Test {
 protected:
  void start_cluster(int partitions) {
    ::setenv("KAFKA_BOOTSTRAP", "127.0.0.1:1", 1);  // replaced below, once the cluster is up
    ::setenv("SINK_ODBC", "in-memory", 1);
    ::setenv("SINK_DIALECT", "postgres", 1);
    config_ = config::load_file(std::string(METERSYNC_SOURCE_DIR) + "/config/metersync.yaml");
    for (const auto& candidate : config_.sources)
      if (candidate.name == "postgres") source_ = &candidate;
    ASSERT_NE(source_, nullptr);
    cluster_ = std::make_unique<kafka::testing::MockCluster>(
        std::vector<std::string>{source_->topic, source_->topic + ".dlq"}, partitions);
    partitions_ = partitions;
    config_.kafka.bootstrap_servers = cluster_->bootstrap();
    config_.kafka.properties["session.timeout.ms"] = "6000";
    config_.kafka.properties["heartbeat.interval.ms"] = "200";
    config_.sink.max_batch_events = 5;
    config_.sink.retry_initial = 10ms;
    config_.sink.retry_max = 50ms;
  }

  // Records [0, count), spread over the partitions in turn.
  void produce(int count) {
    const std::string message = captured_create();
    for (int i = 0; i < count; ++i) {
      const std::string id = meter_id(i);
      cluster_->produce(source_->topic, id, with_meter_id(message, id), i % partitions_);
    }
  }

  std::unique_ptr<Pipeline> pipeline(std::shared_ptr<MemoryDestination::Control> control) {
    return std::make_unique<Pipeline>(config_, *source_,
                                      std::make_unique<MemoryDestination>(store_, std::move(control)));
  }

  std::vector<std::string> applied() {
    std::lock_guard lock(store_->mutex);
    return store_->applied;
  }

  // Every record once; within a partition in Kafka order (record i is in partition i % n).
  void expect_exactly_once_in_order(int count) {
    const std::vector<std::string> rows = applied();
    std::vector<std::string> sorted = rows;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> expected;
    for (int i = 0; i < count; ++i) expected.push_back(meter_id(i));
    EXPECT_EQ(sorted, expected) << "every record applied exactly once";
    std::map<int, int> last;  // partition -> last record seen
    for (const auto& id : rows) {
      const int i = std::stoi(id.substr(id.size() - 12));
      auto seen = last.find(i % partitions_);
      if (seen != last.end()) {
        EXPECT_LT(seen->second, i) << "out of order in partition " << i % partitions_;
      }
      last[i % partitions_] = i;
    }
    std::lock_guard lock(store_->mutex);
    sink::Offsets ends;
    for (int p = 0; p < partitions_; ++p) ends[p] = count / partitions_ + (p < count % partitions_ ? 1 : 0);
    EXPECT_EQ(store_->offsets[group_for(config_, *source_)], ends);
  }

  config::Config config_;
  const config::SourceConfig* source_ = nullptr;
  std::unique_ptr<kafka::testing::MockCluster> cluster_;
  int partitions_ = 1;
  std::shared_ptr<Store> store_ = std::make_shared<Store>();
};

TEST_F(PipelineStates, AFullQueuedBatchWaitsForTheBusyWriterAndReadsNoFurther) {
  start_cluster(1);
  produce(40);
  auto control = std::make_shared<MemoryDestination::Control>();
  control->set_open(false);
  auto first = pipeline(control);
  first->start();
  ASSERT_TRUE(control->wait_entered(1, 30s));
  // One batch in the writer, at most one more queued: nothing beyond is read meanwhile.
  ASSERT_TRUE(eventually([&] { return first->snapshot().records_consumed >= 5; }, 10s));
  std::this_thread::sleep_for(500ms);
  const int64_t consumed = first->snapshot().records_consumed;
  EXPECT_LE(consumed, 2 * 5);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(first->snapshot().records_consumed, consumed);
  EXPECT_TRUE(applied().empty());

  control->set_open(true);
  ASSERT_TRUE(eventually([&] { return applied().size() >= 40; }, 30s)) << applied().size();
  first->request_stop();
  first->join();
  expect_exactly_once_in_order(40);
  EXPECT_EQ(first->snapshot().records_consumed, 40);
}

// The status must never show more records applied than consumed: every record a write
// covers was read before it, so "consumed" counts it before the write can (the status file
// once showed 10,505 applied against 10,001 consumed while a backlog drained, because reads
// were counted in steps of 1000 and writes one batch at a time).
TEST_F(PipelineStates, TheStatusNeverShowsMoreRecordsAppliedThanConsumed) {
  start_cluster(2);
  produce(900);  // a backlog: the consumer's polls are not empty until it is read
  config_.sink.max_batch_events = 400;
  config_.sink.max_batch_wait = 1ms;  // the writer takes part-filled batches
  auto control = std::make_shared<MemoryDestination::Control>();
  std::unique_ptr<Pipeline> first;
  std::mutex checked_mutex;
  int64_t worst = std::numeric_limits<int64_t>::min();  // largest (applied + this write) - consumed seen
  int writes = 0;
  control->on_apply = [&](const sink::Batch& batch) {
    const PipelineSnapshot seen = first->snapshot();
    std::lock_guard lock(checked_mutex);
    worst = std::max(worst, seen.records_applied + batch.record_count - seen.records_consumed);
    ++writes;
  };
  first = pipeline(control);
  first->start();
  ASSERT_TRUE(eventually([&] { return applied().size() >= 900; }, 30s)) << applied().size();
  first->request_stop();
  first->join();
  expect_exactly_once_in_order(900);
  std::lock_guard lock(checked_mutex);
  EXPECT_GT(writes, 1);
  EXPECT_LE(worst, 0) << "a write covered records the status did not count as consumed yet";
  EXPECT_EQ(first->snapshot().records_consumed, 900);
  EXPECT_EQ(first->snapshot().records_applied, 900);
}

TEST_F(PipelineStates, WhileTheDestinationIsDownTheFullPipelinePausesAndThenLosesNothing) {
  start_cluster(1);
  produce(40);
  auto control = std::make_shared<MemoryDestination::Control>();
  control->set_failing(true);
  auto first = pipeline(control);
  first->start();
  ASSERT_TRUE(eventually([&] { return control->refusals() >= 3; }, 30s));
  EXPECT_EQ(first->snapshot().state, PipelineState::Retrying);
  // Paused: the retries go on, the reading does not.
  std::this_thread::sleep_for(300ms);
  const int64_t consumed = first->snapshot().records_consumed;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(first->snapshot().records_consumed, consumed);
  EXPECT_LT(consumed, 40);
  EXPECT_GE(first->snapshot().retries, 3);

  control->set_failing(false);
  ASSERT_TRUE(eventually([&] { return applied().size() >= 40; }, 30s)) << applied().size();
  EXPECT_TRUE(eventually([&] { return first->snapshot().state == PipelineState::Running; }, 5s));
  first->request_stop();
  first->join();
  expect_exactly_once_in_order(40);
}

TEST_F(PipelineStates, RecordsCarriedWhilePausedGoToTheRevokedPartitionsNextOwner) {
  start_cluster(4);
  produce(80);
  auto down = std::make_shared<MemoryDestination::Control>();
  down->set_failing(true);
  auto first = pipeline(down);
  first->start();
  ASSERT_TRUE(eventually([&] { return down->refusals() >= 3; }, 30s));
  std::this_thread::sleep_for(300ms);  // paused, with what it had fetched carried

  // A second member takes half of the partitions; the first drops what it holds of them.
  auto up = std::make_shared<MemoryDestination::Control>();
  auto second = pipeline(up);
  second->start();
  ASSERT_TRUE(eventually([&] { return !applied().empty(); }, 60s)) << "the second member wrote nothing";
  down->set_failing(false);
  ASSERT_TRUE(eventually([&] { return applied().size() >= 80; }, 60s)) << applied().size();
  first->request_stop();
  second->request_stop();
  first->join();
  second->join();
  expect_exactly_once_in_order(80);
  EXPECT_FALSE(first->failed_for_good());
  EXPECT_FALSE(second->failed_for_good());
}

TEST_F(PipelineStates, ARevokeDuringAWriteWaitsForItAndNothingIsAppliedTwice) {
  start_cluster(4);
  config_.sink.max_batch_events = 1000;  // the first member keeps polling while it writes
  produce(80);
  auto held = std::make_shared<MemoryDestination::Control>();
  held->set_open(false);
  auto first = pipeline(held);
  first->start();
  ASSERT_TRUE(held->wait_entered(1, 30s));
  ASSERT_TRUE(eventually([&] { return first->snapshot().records_consumed >= 80; }, 30s));

  // The join makes the first member revoke while its transaction is open: the revoke
  // waits for it, and the write commits before the partitions move.
  auto second = pipeline(std::make_shared<MemoryDestination::Control>());
  second->start();
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(applied().empty());
  held->set_open(true);
  ASSERT_TRUE(eventually([&] { return applied().size() >= 80; }, 60s)) << applied().size();
  std::this_thread::sleep_for(300ms);  // nothing is applied after the count was reached
  first->request_stop();
  second->request_stop();
  first->join();
  second->join();
  expect_exactly_once_in_order(80);
}

TEST_F(PipelineStates, StopEndsTheWriteInProgressAndTheNextRunResumesAfterIt) {
  start_cluster(1);
  produce(40);
  auto held = std::make_shared<MemoryDestination::Control>();
  held->set_open(false);
  auto first = pipeline(held);
  first->start();
  ASSERT_TRUE(held->wait_entered(1, 30s));
  first->request_stop();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(first->finished()) << "a stop must wait for the transaction in progress";
  held->set_open(true);
  first->join();
  EXPECT_EQ(first->snapshot().state, PipelineState::Stopped);
  const std::size_t written = applied().size();
  EXPECT_GE(written, 1u);
  EXPECT_LE(written, 5u);  // the write in progress; the queued batch was abandoned
  {
    std::lock_guard lock(store_->mutex);
    EXPECT_EQ(store_->offsets[group_for(config_, *source_)][0], static_cast<int64_t>(written));
  }

  auto next = pipeline(std::make_shared<MemoryDestination::Control>());
  next->start();
  ASSERT_TRUE(eventually([&] { return applied().size() >= 40; }, 30s)) << applied().size();
  next->request_stop();
  next->join();
  expect_exactly_once_in_order(40);
}

}  // namespace
}  // namespace metersync::engine
