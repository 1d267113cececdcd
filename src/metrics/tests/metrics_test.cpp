#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <set>
#include <thread>

#include "metrics/catalogue.hpp"

namespace metersync::metrics {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The value of the one sample line that starts with `series` ("name{labels}").
double sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) throw std::runtime_error("no sample " + series + " in\n" + text);
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(Catalogue, NamesFollowPrometheusConventions) {
  std::set<std::string_view> names;
  const std::regex name("[a-z_][a-z0-9_]*");
  for (const Family& f : catalogue()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name << " twice";
    EXPECT_TRUE(std::regex_match(std::string(f.name), name)) << f.name;
    EXPECT_TRUE(f.name.starts_with("metersync_") || f.name.starts_with("process_")) << f.name;
    EXPECT_EQ(f.type == Type::Counter, f.name.ends_with("_total")) << f.name;
    EXPECT_FALSE(f.name.ends_with("_milliseconds") || f.name.ends_with("_ms")) << "base units: " << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
}

TEST(Catalogue, ReferenceListsEveryFamily) {
  const std::string reference = reference_markdown();
  for (const Family& f : catalogue()) EXPECT_TRUE(contains(reference, "`" + std::string(f.name) + "`"));
}

TEST(Catalogue, DocsOperatingHoldsTheGeneratedReference) {
  std::ifstream in(std::string(METERSYNC_SOURCE_DIR) + "/docs/operating.md", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string begin = "<!-- metrics-reference:begin -->\n";
  const std::string end = "<!-- metrics-reference:end -->";
  const size_t from = doc.find(begin);
  const size_t to = doc.find(end);
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(doc.substr(from + begin.size(), to - from - begin.size()), reference_markdown())
      << "docs/operating.md's metrics table is out of date: put `metersync metrics-docs` between "
         "its metrics-reference markers";
}

TEST(Metrics, RendersCountersGaugesAndHistogramsWithTheirLabels) {
  Metrics metrics({"0.2.0", "abc123", "2.0.2"});
  MeterMasterMetrics& mm = metrics.meter_master("postgres");
  mm.consumed(10);
  mm.consumed(5);
  mm.tombstones(1);
  mm.dead_letter({"map", "no rule for table x", "t", 0, 5, 2});
  mm.changes_written(12);
  mm.committed(15, std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
  mm.transaction(std::chrono::milliseconds(30));
  mm.sink_error("transient");
  mm.lag(0, 7);
  mm.lag(1, 3);
  mm.ready(true);
  EndpointMetrics& ep = metrics.endpoint("postgres");
  ep.post(500, std::chrono::milliseconds(4));
  ep.post(0, std::chrono::milliseconds(4));
  ep.post(200, std::chrono::milliseconds(4));
  ep.delivered(9);
  ep.retry_after(std::chrono::seconds(2));

  const std::string text = metrics.render();
  const std::string mm_labels = R"(destination="meter_master",source="postgres")";
  EXPECT_EQ(sample(text, "metersync_records_consumed_total{" + mm_labels + "}"), 15);
  EXPECT_EQ(sample(text, "metersync_tombstones_skipped_total{" + mm_labels + "}"), 1);
  EXPECT_EQ(sample(text, R"(metersync_dead_letters_total{destination="meter_master",source="postgres",stage="map"})"), 2);
  EXPECT_EQ(sample(text, R"(metersync_changes_written_total{source="postgres"})"), 12);
  EXPECT_EQ(sample(text, R"(metersync_sink_errors_total{class="transient",source="postgres"})"), 1);
  EXPECT_EQ(sample(text, "metersync_last_commit_timestamp_seconds{" + mm_labels + "}"), 1.7e9);
  EXPECT_EQ(sample(text, R"(metersync_consumer_lag_records{destination="meter_master",partition="1",source="postgres"})"), 3);
  EXPECT_EQ(sample(text, "metersync_destination_ready{" + mm_labels + "}"), 1);
  EXPECT_EQ(sample(text, "metersync_batch_records_count{" + mm_labels + "}"), 1);
  EXPECT_EQ(sample(text, "metersync_batch_records_sum{" + mm_labels + "}"), 15);
  EXPECT_EQ(sample(text, R"(metersync_transaction_duration_seconds_bucket{source="postgres",le="0.05"})"), 1);
  EXPECT_EQ(sample(text, R"(metersync_transaction_duration_seconds_bucket{source="postgres",le="0.025"})"), 0);
  EXPECT_EQ(sample(text, R"(metersync_endpoint_posts_total{source="postgres",status="500"})"), 1);
  EXPECT_EQ(sample(text, R"(metersync_endpoint_posts_total{source="postgres",status="error"})"), 1);
  EXPECT_EQ(sample(text, R"(metersync_endpoint_events_delivered_total{source="postgres"})"), 9);
  EXPECT_EQ(sample(text, R"(metersync_endpoint_retry_after_seconds_total{source="postgres"})"), 2);
  EXPECT_EQ(sample(text, R"(metersync_build_info{librdkafka_version="2.0.2",revision="abc123",version="0.2.0"})"), 1);
  EXPECT_TRUE(contains(text, "# TYPE metersync_batch_records histogram"));
  EXPECT_TRUE(contains(text, "# HELP metersync_changes_written_total Meter Master changes"));
}

TEST(Metrics, APartitionNoLongerAssignedLeavesTheLag) {
  Metrics metrics({"v", "r", "l"});
  DestinationMetrics& mm = metrics.meter_master("mariadb");
  mm.lag(0, 7);
  mm.lag(2, 1);
  mm.forget_partition(0);
  mm.forget_partition(5);  // never had it
  const std::string text = metrics.render();
  EXPECT_FALSE(contains(text, R"(partition="0")"));
  EXPECT_TRUE(contains(text, R"(partition="2")"));
  mm.lag(0, 4);  // back again
  EXPECT_EQ(sample(metrics.render(), R"(metersync_consumer_lag_records{destination="meter_master",partition="0",source="mariadb"})"), 4);
}

TEST(Metrics, TheInstanceAndItsAssignedPartitionsPerDestination) {
  Metrics metrics({"v", "r", "l"});
  metrics.instance("mm-2");
  DestinationMetrics& mm = metrics.meter_master("pg");
  DestinationMetrics& ep = metrics.endpoint("pg");
  mm.assigned({0, 2});
  ep.assigned({1});
  std::string text = metrics.render();
  EXPECT_EQ(sample(text, R"(metersync_instance_info{instance_id="mm-2"})"), 1);
  EXPECT_EQ(sample(text, R"(metersync_partition_assigned{destination="meter_master",partition="0",source="pg"})"), 1);
  EXPECT_EQ(sample(text, R"(metersync_partition_assigned{destination="meter_master",partition="2",source="pg"})"), 1);
  EXPECT_EQ(sample(text, R"(metersync_partition_assigned{destination="endpoint",partition="1",source="pg"})"), 1);
  EXPECT_FALSE(contains(text, R"(metersync_partition_assigned{destination="endpoint",partition="0")"));
  // A rebalance gives partition 0 away and brings 1: the series follow.
  mm.assigned({1, 2});
  text = metrics.render();
  EXPECT_FALSE(contains(text, R"(metersync_partition_assigned{destination="meter_master",partition="0")"));
  EXPECT_EQ(sample(text, R"(metersync_partition_assigned{destination="meter_master",partition="1",source="pg"})"), 1);
  mm.assigned({});
  EXPECT_FALSE(contains(metrics.render(), R"(metersync_partition_assigned{destination="meter_master")"));
}

TEST(Metrics, DeadLetterSeriesStartAtZeroSoTheFirstOneIsAnIncrease) {
  Metrics metrics({"v", "r", "l"});
  metrics.meter_master("pg");
  metrics.endpoint("pg");
  const std::string text = metrics.render();
  for (const char* series :
       {R"(metersync_dead_letters_total{destination="meter_master",source="pg",stage="decode"})",
        R"(metersync_dead_letters_total{destination="meter_master",source="pg",stage="sink"})",
        R"(metersync_dead_letters_total{destination="endpoint",source="pg",stage="map"})",
        R"(metersync_dead_letters_total{destination="endpoint",source="pg",stage="endpoint"})"})
    EXPECT_EQ(sample(text, series), 0) << series;
}

TEST(Metrics, TheSameHandleForTheProcessLife) {
  Metrics metrics({"v", "r", "l"});
  EXPECT_EQ(&metrics.meter_master("a"), &metrics.meter_master("a"));
  EXPECT_NE(&metrics.meter_master("a"), &metrics.meter_master("b"));
  EXPECT_EQ(&metrics.endpoint("a"), &metrics.endpoint("a"));
}

TEST(Metrics, ProcessFiguresArePlausible) {
  Metrics metrics({"v", "r", "l"});
  // Burn a little CPU so the counter has something to show.
  volatile double x = 0;
  for (int i = 0; i < 20'000'000; ++i) x = x + i * 0.5;
  const std::string text = metrics.render();
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(sample(text, "process_cpu_seconds_total"), 0);
  const double start = sample(text, "process_start_time_seconds");
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(start, now);
  EXPECT_GT(start, now - 3600) << "this test process started within the hour";
  EXPECT_GE(sample(text, "metersync_uptime_seconds"), 0);
  // The counter never goes back between scrapes.
  EXPECT_GE(sample(metrics.render(), "process_cpu_seconds_total"), sample(text, "process_cpu_seconds_total"));
}

TEST(Metrics, CountingFromManyThreadsWhileRendering) {
  Metrics metrics({"v", "r", "l"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      MeterMasterMetrics& mm = metrics.meter_master("s");
      for (int i = 0; i < 1000; ++i) {
        mm.consumed(1);
        mm.lag(t, i);
        mm.dead_letter({i % 2 ? "map" : "decode", "bad", "t", 0, i, 1});
      }
    });
  }
  for (int i = 0; i < 20; ++i) metrics.render();
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.render();
  EXPECT_EQ(sample(text, R"(metersync_records_consumed_total{destination="meter_master",source="s"})"), 4000);
  EXPECT_EQ(sample(text, R"(metersync_dead_letters_total{destination="meter_master",source="s",stage="map"})"), 2000);
}

}  // namespace
}  // namespace metersync::metrics
