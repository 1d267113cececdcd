#include "endpoint/received_batch.hpp"

#include <gtest/gtest.h>

namespace metersync::endpoint {
namespace {

const char* kBatch = R"({"source":"postgres","batch_id":"postgres-0-7","events":[
  {"id":"postgres:00000000/01A2B3C8:m1","op":"update","committed_at":"2026-11-24T19:43:00.123Z",
   "position":"00000000/01A2B3C8","meter":{"sourceSystem":"postgres","sourceMeterId":"m1"},
   "before":{"x":"1.50"},"after":{"x":"2.50"}},
  {"id":"postgres:00000000/01A2B3D0:*","op":"truncate","committed_at":"2026-11-24T19:43:01.000Z",
   "position":"00000000/01A2B3D0","meter":null,"before":null,"after":null}]})";

TEST(ReceivedBatch, ParsesAValidBatch) {
  auto batch = parse_batch(kBatch, "postgres");
  ASSERT_TRUE(batch) << batch.error();
  EXPECT_EQ(batch->batch_id, "postgres-0-7");
  ASSERT_EQ(batch->events.size(), 2u);
  EXPECT_EQ(batch->events[0].id, "postgres:00000000/01A2B3C8:m1");
  EXPECT_EQ(batch->events[0].meter_id, "m1");
  EXPECT_FALSE(batch->events[1].meter_id);
  // Kept as sent, keys in their order.
  EXPECT_TRUE(batch->events[0].json.starts_with(R"({"id":"postgres:00000000/01A2B3C8:m1","op")"));
  EXPECT_NE(batch->events[0].json.find(R"("before":{"x":"1.50"})"), std::string::npos);
}

TEST(ReceivedBatch, RejectsWithAReason) {
  EXPECT_EQ(parse_batch(kBatch, "mysql").error(),
            "source: \"postgres\" posted to the route of \"mysql\"");
  EXPECT_EQ(parse_batch("{", "postgres").error(), "body is not valid JSON");
  EXPECT_EQ(parse_batch(R"({"source":"postgres","batch_id":"b","events":[]})", "postgres").error(),
            "events: empty batch");
  auto bad_op = parse_batch(
      R"({"source":"postgres","batch_id":"b","events":[{"id":"a","op":"upsert",
          "committed_at":"t","position":"p","meter":null,"before":null,"after":null}]})",
      "postgres");
  EXPECT_EQ(bad_op.error(),
            "events[0].op: \"upsert\" is not one of create, update, delete, snapshot, truncate");
  auto no_after = parse_batch(
      R"({"source":"postgres","batch_id":"b","events":[{"id":"a","op":"create",
          "committed_at":"t","position":"p","meter":null,"before":null}]})",
      "postgres");
  EXPECT_EQ(no_after.error(), "events[0].after: missing (send null)");
  auto no_meter_id = parse_batch(
      R"({"source":"postgres","batch_id":"b","events":[{"id":"a","op":"create",
          "committed_at":"t","position":"p","meter":{},"before":null,"after":{}}]})",
      "postgres");
  EXPECT_EQ(no_meter_id.error(), "events[0].meter.sourceMeterId: missing");
}

}  // namespace
}  // namespace metersync::endpoint
