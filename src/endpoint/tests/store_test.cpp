#include "endpoint/store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace metersync::endpoint {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("endpoint-store-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "endpoint.db").string(); }

  static ReceivedEvent event(const std::string& id, const std::string& meter,
                             const std::string& position, const std::string& op = "update") {
    return {id, op, position, "2026-11-24T19:43:00.123Z", meter,
            R"({"id":")" + id + R"(","op":")" + op + R"(","position":")" + position +
                R"(","meter":{"sourceMeterId":")" + meter + R"("}})"};
  }

  std::filesystem::path dir_;
};

TEST_F(StoreTest, DropsDuplicateEventIdsAndRemembersBatches) {
  Store store(path());
  ReceivedBatch first{"postgres", "postgres-0-1", {event("a", "m1", "p1"), event("b", "m2", "p2")}};
  auto r1 = store.ingest(first);
  EXPECT_EQ(r1.accepted, 2);
  EXPECT_EQ(r1.duplicates, 0);
  EXPECT_FALSE(r1.batch_seen_before);
  // The same batch again, grown by one event (a batch re-formed after a restart).
  first.events.push_back(event("c", "m1", "p3"));
  auto r2 = store.ingest(first);
  EXPECT_EQ(r2.accepted, 1);
  EXPECT_EQ(r2.duplicates, 2);
  EXPECT_TRUE(r2.batch_seen_before);
  // Ids are per source: the same id under another source is new.
  auto r3 = store.ingest({"mysql", "mysql-0-1", {event("a", "m1", "p1")}});
  EXPECT_EQ(r3.accepted, 1);
  EXPECT_EQ(store.event_count("postgres"), 3);
  EXPECT_EQ(store.event_count("mysql"), 1);
}

TEST_F(StoreTest, PagesHistoryWithACursor) {
  Store store(path());
  std::vector<ReceivedEvent> events;
  for (int i = 0; i < 5; ++i) events.push_back(event("e" + std::to_string(i), "m", "p" + std::to_string(i)));
  store.ingest({"postgres", "b", events});
  store.ingest({"mysql", "b", {event("x", "m", "p")}});
  auto page1 = store.history("postgres", 0, 2);
  ASSERT_EQ(page1.size(), 2u);
  auto page2 = store.history("postgres", page1.back().seq, 2);
  auto page3 = store.history("postgres", page2.back().seq, 2);
  ASSERT_EQ(page2.size(), 2u);
  ASSERT_EQ(page3.size(), 1u);
  EXPECT_NE(page3[0].json.find(R"("id":"e4")"), std::string::npos);
  EXPECT_TRUE(store.history("postgres", page3.back().seq, 2).empty());
}

TEST_F(StoreTest, MeterStateMovesOnlyForwardAndSurvivesReopen) {
  {
    Store store(path());
    store.ingest({"postgres", "b1", {event("a", "m1", "p2"), event("b", "m2", "p1")}});
    // A late replay of an older change of m1 is stored but does not roll m1 back.
    store.ingest({"postgres", "b0", {event("old", "m1", "p1")}});
    auto m1 = store.meter("postgres", "m1");
    ASSERT_TRUE(m1);
    EXPECT_NE(m1->json.find(R"("id":"a")"), std::string::npos);
  }
  Store reopened(path());
  EXPECT_EQ(reopened.event_count("postgres"), 3);
  auto meters = reopened.meters("postgres", "", 10);
  ASSERT_EQ(meters.size(), 2u);
  EXPECT_EQ(meters[0].meter_id, "m1");
  EXPECT_EQ(meters[1].meter_id, "m2");
  EXPECT_EQ(reopened.meters("postgres", "m1", 10).size(), 1u);
  EXPECT_EQ(reopened.last_seq(), 3);
}

TEST_F(StoreTest, TruncatePointsEveryMeterAtIt) {
  Store store(path());
  store.ingest({"postgres", "b1", {event("a", "m1", "p1"), event("b", "m2", "p2")}});
  ReceivedEvent truncate{"t", "truncate", "p3", "2026-11-24T19:43:00.123Z", std::nullopt,
                         R"({"id":"t","op":"truncate","meter":null})"};
  store.ingest({"postgres", "b2", {truncate}});
  for (const auto& m : store.meters("postgres", "", 10)) {
    EXPECT_NE(m.json.find(R"("op":"truncate")"), std::string::npos) << m.meter_id;
  }
}

}  // namespace
}  // namespace metersync::endpoint
