#include "endpoint/fault_table.hpp"

#include <gtest/gtest.h>

namespace metersync::endpoint {
namespace {

TEST(FaultTable, ParsesEveryKind) {
  auto status = parse_fault("status:429:retry_after=2:count=3");
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(status->kind, Fault::Kind::Status);
  EXPECT_EQ(status->status, 429);
  EXPECT_EQ(status->retry_after_s, 2);
  EXPECT_EQ(status->remaining, 3);
  EXPECT_EQ(describe(*status), "status:429:retry_after=2:count=3");
  EXPECT_EQ(parse_fault("close")->kind, Fault::Kind::Close);
  EXPECT_EQ(parse_fault("sleep:1500")->sleep, std::chrono::milliseconds(1500));
  EXPECT_FALSE(parse_fault("status:99"));
  EXPECT_FALSE(parse_fault("status"));
  EXPECT_FALSE(parse_fault("explode"));
  EXPECT_FALSE(parse_fault("close:count=x"));
  EXPECT_FALSE(parse_fault("close:often=1"));
}

TEST(FaultTable, CountsDownAndClears) {
  FaultTable table;
  table.set("postgres", *parse_fault("status:500:count=2"));
  EXPECT_FALSE(table.take("mysql"));
  EXPECT_EQ(table.take("postgres")->status, 500);
  EXPECT_EQ(table.take("postgres")->status, 500);
  EXPECT_FALSE(table.take("postgres"));
  table.set("mysql", *parse_fault("close"));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(table.take("mysql"));
  table.clear("mysql");
  EXPECT_FALSE(table.take("mysql"));
}

}  // namespace
}  // namespace metersync::endpoint
