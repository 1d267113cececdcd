#include "sink/batch_fold.hpp"

#include <gtest/gtest.h>

namespace metersync::sink {
namespace {

using Kind = MeterChange::Kind;

MeterChange change(Kind kind, const std::string& id, const std::string& position,
                   const std::string& serial = "S", const std::string& source = "postgres") {
  MeterChange c{kind, {}};
  c.row.source_system = source;
  c.row.source_meter_id = id;
  c.row.source_position = Position{position};
  c.row.source_committed_at = Timestamp{1'700'000'000, 0};
  if (kind == Kind::Upsert || kind == Kind::Delete) {
    c.row.serial_number = serial;
    c.row.meter_type = "water";
    c.row.status = "active";
    c.row.is_deleted = kind == Kind::Delete;
  }
  return c;
}

TEST(BatchFold, LastChangePerKeyWins) {
  const auto steps =
      fold_changes({change(Kind::Upsert, "1", "p1", "a"), change(Kind::Upsert, "2", "p2", "b"),
                    change(Kind::Upsert, "1", "p3", "c")});
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_EQ(steps[0].rows.size(), 2u);
  EXPECT_EQ(steps[0].rows[0].row.source_meter_id, "1");  // order of first appearance
  EXPECT_EQ(steps[0].rows[0].row.serial_number, "c");
  EXPECT_EQ(steps[0].rows[0].row.source_position.text, "p3");
  EXPECT_FALSE(steps[0].rows[0].key_only);
  EXPECT_EQ(steps[0].rows[1].row.serial_number, "b");
}

TEST(BatchFold, AKeyInsertedInTheSegmentStaysMarkedWhateverFollows) {
  MeterChange created = change(Kind::Upsert, "1", "p1", "a");
  created.inserted = true;
  MeterChange stale_insert = change(Kind::Upsert, "2", "p1", "b");
  stale_insert.inserted = true;
  const auto steps = fold_changes({created, change(Kind::Upsert, "1", "p2", "c"),
                                   change(Kind::Upsert, "2", "p3", "d"), stale_insert,
                                   change(Kind::Upsert, "3", "p4", "e")});
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_EQ(steps[0].rows.size(), 3u);
  EXPECT_EQ(steps[0].rows[0].row.serial_number, "c");  // the update's values
  EXPECT_TRUE(steps[0].rows[0].inserted);               // the insert's mark
  EXPECT_EQ(steps[0].rows[1].row.serial_number, "d");
  EXPECT_TRUE(steps[0].rows[1].inserted);  // an older insert, redelivered, still marks it
  EXPECT_FALSE(steps[0].rows[2].inserted);
}

TEST(BatchFold, KeysOfDifferentSourcesAreDistinct) {
  const auto steps = fold_changes({change(Kind::Upsert, "1", "p1", "a", "mysql"),
                                   change(Kind::Upsert, "1", "p1", "b", "postgres")});
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].rows.size(), 2u);
}

TEST(BatchFold, OlderRedeliveryInsideTheBatchIsDropped) {
  const auto steps = fold_changes(
      {change(Kind::Upsert, "1", "p5", "new"), change(Kind::Upsert, "1", "p3", "old")});
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_EQ(steps[0].rows[0].row.serial_number, "new");
}

TEST(BatchFold, FullDeleteIsARowFlaggedDeleted) {
  const auto steps =
      fold_changes({change(Kind::Upsert, "1", "p1", "a"), change(Kind::Delete, "1", "p2", "a")});
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_TRUE(steps[0].rows[0].row.is_deleted);
  EXPECT_FALSE(steps[0].rows[0].key_only);
}

TEST(BatchFold, KeyOnlyDeleteKeepsTheEarlierRowOfTheBatch) {
  const auto steps =
      fold_changes({change(Kind::Upsert, "1", "p1", "a"), change(Kind::DeleteKeyOnly, "1", "p2")});
  ASSERT_EQ(steps[0].rows.size(), 2u);
  EXPECT_FALSE(steps[0].rows[0].key_only);
  EXPECT_EQ(steps[0].rows[0].row.serial_number, "a");
  EXPECT_EQ(steps[0].rows[0].row.source_position.text, "p1");
  EXPECT_TRUE(steps[0].rows[1].key_only);
  EXPECT_TRUE(steps[0].rows[1].row.is_deleted);
  EXPECT_EQ(steps[0].rows[1].row.source_position.text, "p2");
}

TEST(BatchFold, KeyOnlyDeleteAloneFlagsTheStoredRow) {
  const auto steps = fold_changes({change(Kind::DeleteKeyOnly, "1", "p2")});
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_TRUE(steps[0].rows[0].key_only);
}

TEST(BatchFold, RecreateAfterKeyOnlyDeleteSupersedesIt) {
  const auto steps =
      fold_changes({change(Kind::Upsert, "1", "p1", "a"), change(Kind::DeleteKeyOnly, "1", "p2"),
                    change(Kind::Upsert, "1", "p3", "b")});
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_FALSE(steps[0].rows[0].key_only);
  EXPECT_FALSE(steps[0].rows[0].row.is_deleted);
  EXPECT_EQ(steps[0].rows[0].row.serial_number, "b");
}

TEST(BatchFold, KeyOnlyDeleteOlderThanTheHeldRowIsDropped) {
  const auto steps =
      fold_changes({change(Kind::Upsert, "1", "p5", "a"), change(Kind::DeleteKeyOnly, "1", "p4")});
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_FALSE(steps[0].rows[0].key_only);
  EXPECT_EQ(steps[0].rows[0].row.source_position.text, "p5");
}

TEST(BatchFold, TwoKeyOnlyDeletesKeepTheNewer) {
  const auto steps = fold_changes(
      {change(Kind::DeleteKeyOnly, "1", "p2"), change(Kind::DeleteKeyOnly, "1", "p3")});
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_EQ(steps[0].rows[0].row.source_position.text, "p3");
}

TEST(BatchFold, TruncateSplitsTheBatch) {
  auto truncate = change(Kind::Truncate, "", "p3");
  const auto steps = fold_changes(
      {change(Kind::Upsert, "1", "p1", "a"), change(Kind::Upsert, "2", "p2", "b"), truncate,
       change(Kind::Upsert, "1", "p4", "c"), change(Kind::DeleteKeyOnly, "2", "p5")});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].rows.size(), 2u);
  EXPECT_FALSE(steps[0].truncate);
  ASSERT_TRUE(steps[1].truncate);
  EXPECT_TRUE(steps[1].rows.empty());
  EXPECT_EQ(steps[1].truncate->source_system, "postgres");
  EXPECT_EQ(steps[1].truncate->source_position.text, "p3");
  ASSERT_EQ(steps[2].rows.size(), 2u);
  EXPECT_EQ(steps[2].rows[0].row.serial_number, "c");
  // The delete after the truncate does not reach back to the row before it.
  EXPECT_TRUE(steps[2].rows[1].key_only);
}

// A truncate has no Kafka key, so a batch interleaves it with other partitions' changes
// in poll order; positions decide what it covers.
TEST(BatchFold, RowsOlderThanATruncateReadBeforeThemLandDeleted) {
  const auto steps = fold_changes({change(Kind::Truncate, "", "p5"),
                                   change(Kind::Upsert, "1", "p3", "older"),  // other partition
                                   change(Kind::Upsert, "2", "p7", "newer"),  // after the truncate
                                   change(Kind::Delete, "3", "p4", "gone"),   // older full delete
                                   change(Kind::Upsert, "1", "m1", "x", "mysql")});  // other source
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_TRUE(steps[0].truncate);
  ASSERT_EQ(steps[1].rows.size(), 4u);
  EXPECT_EQ(steps[1].rows[0].row.serial_number, "older");
  EXPECT_TRUE(steps[1].rows[0].row.is_deleted) << "committed before the truncate at the source";
  EXPECT_EQ(steps[1].rows[0].row.source_position.text, "p3") << "its own position and values";
  EXPECT_FALSE(steps[1].rows[1].row.is_deleted);
  EXPECT_TRUE(steps[1].rows[2].row.is_deleted);
  EXPECT_FALSE(steps[1].rows[3].row.is_deleted) << "a truncate of postgres leaves mysql alone";
}

TEST(BatchFold, AKeyOlderThenNewerThanTheTruncateEndsLive) {
  const auto steps =
      fold_changes({change(Kind::Truncate, "", "p5"), change(Kind::Upsert, "1", "p3", "before"),
                    change(Kind::Upsert, "1", "p6", "after")});
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_EQ(steps[1].rows.size(), 1u);
  EXPECT_EQ(steps[1].rows[0].row.serial_number, "after");
  EXPECT_FALSE(steps[1].rows[0].row.is_deleted);
}

TEST(BatchFold, TheHighestTruncateOfASourceCountsWhateverTheOrder) {
  const auto steps =
      fold_changes({change(Kind::Truncate, "", "p8"), change(Kind::Truncate, "", "p2"),
                    change(Kind::Upsert, "1", "p5", "a"), change(Kind::Upsert, "2", "p9", "b")});
  ASSERT_EQ(steps.size(), 3u);
  ASSERT_EQ(steps[2].rows.size(), 2u);
  EXPECT_TRUE(steps[2].rows[0].row.is_deleted) << "p5 is older than the p8 truncate";
  EXPECT_FALSE(steps[2].rows[1].row.is_deleted);
}

TEST(BatchFold, ARowBeforeATruncateInTheBatchButNewerByPositionIsNotFlagged) {
  // The truncate step flags only stored rows older than its position (the database
  // compares), so the fold leaves the newer row live and ahead of the truncate.
  const auto steps =
      fold_changes({change(Kind::Upsert, "1", "p9", "new"), change(Kind::Truncate, "", "p5")});
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_EQ(steps[0].rows.size(), 1u);
  EXPECT_FALSE(steps[0].rows[0].row.is_deleted);
  ASSERT_TRUE(steps[1].truncate);
  EXPECT_EQ(steps[1].truncate->source_position.text, "p5");
}

TEST(BatchFold, EmptyBatchHasNoSteps) { EXPECT_TRUE(fold_changes({}).empty()); }

}  // namespace
}  // namespace metersync::sink
