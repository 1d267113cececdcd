#include "dispatch/pending_batch.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;

EncodedEvent event(int64_t offset, std::size_t padding = 0) {
  std::string id = "postgres:p" + std::to_string(offset) + ":m";
  return {id, R"({"id":")" + id + R"(","pad":")" + std::string(padding, 'x') + R"("})", 0, offset};
}

TEST(PendingBatch, BuildsTheBodyWithADeterministicId) {
  PendingBatch batch("postgres", 3);
  batch.add(event(184467));
  batch.cover(184468);  // a tombstone
  batch.add(event(184469));
  // First and last event offsets: the id names exactly the events it carries.
  EXPECT_EQ(batch.batch_id(), "postgres-3-184467-184469");
  EXPECT_EQ(batch.next_offset(), 184470);
  const std::string body = batch.body();
  EXPECT_EQ(batch.body_bytes(), body.size());
  auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["source"], "postgres");
  EXPECT_EQ(json["batch_id"], "postgres-3-184467-184469");
  ASSERT_EQ(json["events"].size(), 2u);
  EXPECT_EQ(json["events"][1]["id"], "postgres:p184469:m");
  batch.clear();
  EXPECT_TRUE(batch.empty());
}

TEST(PendingBatch, TheByteBoundCountsTheIdGrowingWithTheLastOffset) {
  PendingBatch batch("postgres", 0);
  batch.add(event(9));
  const std::size_t event_bytes = event(10).json.size();
  // Exactly the body with event 10 (whose offset adds a digit to the id) fits, one byte less does not.
  const std::size_t needed = batch.body_bytes() + 1 + event_bytes + 1;
  EXPECT_TRUE(batch.fits(event(10), BatchLimits{10, needed, 50ms}));
  EXPECT_FALSE(batch.fits(event(10), BatchLimits{10, needed - 1, 50ms}));
  batch.add(event(10));
  EXPECT_EQ(batch.body_bytes(), needed);
  EXPECT_EQ(batch.body().size(), needed);
}

TEST(PendingBatch, KnowsTheNewestKafkaTimestampOfWhatItHoldsOrCovers) {
  PendingBatch batch("postgres", 0);
  EXPECT_EQ(batch.newest_timestamp_ms(), -1);
  EncodedEvent first = event(10);
  first.timestamp_ms = 1'000;
  batch.add(first);
  batch.cover(11, 3'000);  // a tombstone written later
  EncodedEvent last = event(12);
  last.timestamp_ms = 2'000;  // a producer's clock may go back
  batch.add(last);
  EXPECT_EQ(batch.newest_timestamp_ms(), 3'000);
  batch.clear();
  EXPECT_EQ(batch.newest_timestamp_ms(), -1);
}

TEST(PendingBatch, BoundedByCountBytesAndLinger) {
  const BatchLimits limits{3, 400, 50ms};
  const auto t0 = PendingBatch::Clock::now();
  PendingBatch batch("postgres", 0);
  EXPECT_TRUE(batch.fits(event(0, 1000), limits));  // alone, even when too large
  batch.add(event(0), t0);
  EXPECT_FALSE(batch.due(limits, t0 + 49ms));
  EXPECT_TRUE(batch.due(limits, t0 + 50ms));
  EXPECT_FALSE(batch.fits(event(1, 400), limits));  // bytes
  batch.add(event(1), t0);
  batch.add(event(2), t0);
  EXPECT_TRUE(batch.due(limits, t0));               // count
  EXPECT_FALSE(batch.fits(event(3), limits));
}

}  // namespace
}  // namespace metersync::dispatch
