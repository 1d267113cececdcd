#include "engine/in_flight_batch.hpp"

#include <gtest/gtest.h>

#include "batch_test_support.hpp"

namespace metersync::engine {
namespace {

using testing::change_for;
using testing::record;

InFlightBatch two_partitions() {
  InFlightBatch batch;
  batch.add(record(0, 10, change_for("a")));
  batch.add(record(1, 7, Tombstone{}));
  batch.add(record(0, 11, Rejected{Stage::Decode, "bad json"}));
  batch.add(record(1, 8, change_for("b")));
  batch.add(record(0, 12, change_for("c")));
  return batch;
}

TEST(InFlightBatch, SliceCoversExactlyItsRecords) {
  InFlightBatch batch = two_partitions();
  sink::Batch all = batch.slice(0, batch.size(), "metersync-postgres", "postgres.public.meter");
  EXPECT_EQ(all.pipeline, "metersync-postgres");
  EXPECT_EQ(all.topic, "postgres.public.meter");
  EXPECT_EQ(all.record_count, 5);
  ASSERT_EQ(all.changes.size(), 3u);
  EXPECT_EQ(all.changes[0].row.source_meter_id, "a");
  EXPECT_EQ(all.changes[1].row.source_meter_id, "b");
  EXPECT_EQ(all.changes[2].row.source_meter_id, "c");
  EXPECT_EQ(all.next_offsets, (sink::Offsets{{0, 13}, {1, 9}}));

  sink::Batch head = batch.slice(0, 3, "p", "t");
  EXPECT_EQ(head.record_count, 3);
  EXPECT_EQ(head.changes.size(), 1u);
  // The rejected record at offset 11 is covered: the next read of partition 0 is 12.
  EXPECT_EQ(head.next_offsets, (sink::Offsets{{0, 12}, {1, 8}}));
}

TEST(InFlightBatch, SplitPointHalvesTheChanges) {
  InFlightBatch batch = two_partitions();
  EXPECT_EQ(batch.changes_in(0, 5), 3u);
  std::size_t middle = batch.split_point(0, 5);
  EXPECT_EQ(batch.changes_in(0, middle), 1u);
  EXPECT_EQ(batch.changes_in(middle, 5), 2u);
  EXPECT_EQ(batch.split_point(3, 5), 4u);
}

TEST(InFlightBatch, DropPartitionsKeepsTheOthersInOrder) {
  InFlightBatch batch = two_partitions();
  batch.drop_partitions({1});
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].offset, 10);
  EXPECT_EQ(batch[1].offset, 11);
  EXPECT_EQ(batch[2].offset, 12);
  batch.erase_front(2);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].offset, 12);
}

}  // namespace
}  // namespace metersync::engine
