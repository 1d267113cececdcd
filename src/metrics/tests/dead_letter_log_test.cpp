#include "metrics/dead_letter_log.hpp"

#include <gtest/gtest.h>

#include "metrics/metrics.hpp"

namespace metersync::metrics {
namespace {

KeptDeadLetter letter(const std::string& source, int64_t offset, int64_t records = 1) {
  return {std::chrono::system_clock::now(), source, "endpoint", {"endpoint", "HTTP 400", "topic", 0, offset, records}};
}

TEST(DeadLetterLog, KeepsTheNewestUpToItsCapacityNewestFirstAndCountsEveryRecord) {
  DeadLetterLog log(3);
  for (int64_t offset = 0; offset < 5; ++offset) log.add(letter("postgres", offset, 10));
  log.add(letter("mysql", 7));
  const auto kept = log.newest_first();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].source, "mysql");
  EXPECT_EQ(kept[1].note.offset, 4);
  EXPECT_EQ(kept[2].note.offset, 3);
  const auto totals = log.totals();
  EXPECT_EQ(totals.at({"postgres", "endpoint"}), 50);  // the dropped ones still count
  EXPECT_EQ(totals.at({"mysql", "endpoint"}), 1);
}

TEST(DeadLetterLog, CutsALongReasonOnACharacterBoundary) {
  DeadLetterLog log;
  KeptDeadLetter long_one = letter("postgres", 1);
  // "ä" is two bytes: an odd prefix puts the cut inside one.
  long_one.note.reason = "x";
  for (std::size_t i = 0; i < DeadLetterLog::kReasonBytes; ++i) long_one.note.reason += "ä";
  log.add(long_one);
  const std::string kept = log.newest_first().at(0).note.reason;
  EXPECT_LE(kept.size(), DeadLetterLog::kReasonBytes + std::string("…").size());
  EXPECT_TRUE(kept.ends_with("ä…")) << kept.substr(kept.size() - 8);
}

TEST(DeadLetterLog, IsFilledByTheCallThatCountsTheMetric) {
  Metrics metrics({"v", "r", "l"});
  metrics.endpoint("postgres").dead_letter({"endpoint", "HTTP 422: refused", "pg.topic", 2, 40, 25});
  metrics.meter_master("postgres").dead_letter({"map", "no rule", "pg.topic", 1, 9, 1});
  const auto kept = metrics.dead_letter_log().newest_first();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].destination, "meter_master");
  EXPECT_EQ(kept[1].destination, "endpoint");
  EXPECT_EQ(kept[1].note.partition, 2);
  EXPECT_EQ(kept[1].note.records, 25);
  const std::string text = metrics.render();
  EXPECT_NE(text.find(R"(metersync_dead_letters_total{destination="endpoint",source="postgres",stage="endpoint"} 25)"),
            std::string::npos);
}

}  // namespace
}  // namespace metersync::metrics
