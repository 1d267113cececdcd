#include "dispatch/partition_queue.hpp"

#include <gtest/gtest.h>

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;
using Clock = PartitionQueue::Clock;

EncodedEvent event(int64_t offset) {
  const std::string id = std::to_string(offset);
  return EncodedEvent{id, R"({"id":")" + id + R"("})", 0, offset};
}

const BatchLimits kLimits{.max_events = 2, .max_bytes = 1 << 20, .linger = 10ms};
const Clock::time_point kT0{};

TEST(PartitionQueueTest, NeverTwoPostsInFlightAndSettlesInOrder) {
  PartitionQueue queue("postgres", 0);
  queue.add(event(10), kLimits, kT0);
  queue.add(event(11), kLimits, kT0);  // full: due
  ASSERT_TRUE(queue.ready(kLimits, kT0));
  EXPECT_EQ(queue.start().batch_id(), "postgres-0-10-11");
  queue.add(event(12), kLimits, kT0);
  queue.add(event(13), kLimits, kT0);
  // The next batch is full, but its predecessor is in flight.
  EXPECT_FALSE(queue.ready(kLimits, kT0 + 1h));
  EXPECT_FALSE(queue.ready_at(kLimits));
  EXPECT_EQ(queue.settle(), 12);
  ASSERT_TRUE(queue.ready(kLimits, kT0));
  EXPECT_EQ(queue.start().batch_id(), "postgres-0-12-13");
  EXPECT_EQ(queue.settle(), 14);
  EXPECT_TRUE(queue.empty());
}

TEST(PartitionQueueTest, APostedBatchIsSealedSoEveryRetryCarriesTheSameBody) {
  PartitionQueue queue("postgres", 0);
  queue.add(event(10), kLimits, kT0);
  ASSERT_TRUE(queue.ready(kLimits, kT0 + 10ms));  // lingered
  const std::string body = queue.start().body();
  queue.add(event(11), kLimits, kT0 + 11ms);  // goes behind, not into the batch in flight
  queue.retry_at(kT0 + 100ms);
  EXPECT_FALSE(queue.ready(kLimits, kT0 + 99ms));
  ASSERT_TRUE(queue.ready(kLimits, kT0 + 100ms));
  EXPECT_EQ(queue.ready_at(kLimits), kT0 + 100ms);
  EXPECT_EQ(queue.start().body(), body);
  EXPECT_EQ(queue.count_attempt(), 1);
  EXPECT_EQ(queue.settle(), 11);
  EXPECT_EQ(queue.attempts(), 0);
  EXPECT_EQ(queue.head().batch_id(), "postgres-0-11-11");
}

TEST(PartitionQueueTest, RecordsWithoutEventsSettleWithTheLastBatchOrAtOnce) {
  PartitionQueue queue("postgres", 0);
  EXPECT_EQ(queue.cover(5), 6);  // nothing queued: settles at once
  queue.add(event(6), kLimits, kT0);
  queue.start();
  EXPECT_EQ(queue.cover(7), std::nullopt);  // a tombstone behind the batch in flight
  const std::string id = queue.head().batch_id();
  EXPECT_EQ(queue.head().batch_id(), id);
  EXPECT_EQ(queue.settle(), 8);
}

TEST(PartitionQueueTest, FullOnceAFullBatchWaitsBehindTheHead) {
  PartitionQueue queue("postgres", 0);
  queue.add(event(1), kLimits, kT0);
  queue.start();
  queue.add(event(2), kLimits, kT0);
  EXPECT_FALSE(queue.full(kLimits));
  queue.add(event(3), kLimits, kT0);
  EXPECT_TRUE(queue.full(kLimits));  // pause the fetch
  queue.add(event(4), kLimits, kT0);  // fetched before the pause took effect: still kept
  EXPECT_EQ(queue.batches(), 3u);
  queue.settle();
  EXPECT_FALSE(queue.full(kLimits));  // resume
}

}  // namespace
}  // namespace metersync::dispatch
