// The Dispatcher end to end without a broker process: librdkafka's mock cluster holds
// captured Debezium records, the real endpoint service runs in this process.
#include "dispatch/dispatcher.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "config/config.hpp"
#include "dispatch/replay.hpp"
#include "endpoint/endpoint_server.hpp"
#include "endpoint/fault_table.hpp"
#include "kafka/dead_letter_producer.hpp"
#include "kafka/testing/mock_cluster.hpp"
#include "pipeline/testing/source_config.hpp"

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kTopic = "postgres.public.meter";
constexpr const char* kDeadLetters = "postgres.public.meter.endpoint.dlq";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(METERSYNC_SOURCE_DIR) + "/tests/fixtures/debezium/captured/postgres/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for `done` with a generous bound (a hung dispatcher fails instead of hanging).
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 600; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// The mock cluster with this test's topics, producing captured fixtures.
class MockCluster {
 public:
  explicit MockCluster(int partitions = 1) : cluster_({kTopic, kDeadLetters}, partitions) {}
  std::string bootstrap() const { return cluster_.bootstrap(); }

  // A record with the fixture's key; `value` nullopt is a tombstone.
  void produce(const std::string& key, const std::optional<std::string>& value, int32_t partition = 0) {
    cluster_.produce(kTopic, key, value, partition);
  }
  void produce_fixture(const std::string& name) {
    produce(fixture(name + ".key.json"), fixture(name + ".json"));
  }

  struct Letter {
    std::string stage, reason, key, value;
  };
  // Every record of the endpoint dead-letter topic.
  std::vector<Letter> dead_letters() {
    std::vector<Letter> letters;
    for (auto& record : cluster_.read_all(kDeadLetters)) {
      letters.push_back(Letter{record.headers[kafka::dlq_header::kStage],
                               record.headers[kafka::dlq_header::kReason], std::move(record.key),
                               std::move(record.value)});
    }
    return letters;
  }

 private:
  kafka::testing::MockCluster cluster_;
};

// The default logger of this test program, installed before the first test starts a thread:
// every log line goes through one distributing sink, to which a test adds a capturing sink
// and removes it again. Swapping the default logger itself while the endpoint service's
// threads log through it would be a data race (spdlog::set_default_logger is not safe
// against concurrent logging).
std::shared_ptr<spdlog::sinks::dist_sink_mt> log_sinks() {
  static const std::shared_ptr<spdlog::sinks::dist_sink_mt> sinks = [] {
    auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    dist->add_sink(std::make_shared<spdlog::sinks::stdout_color_sink_mt>());
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", dist));
    return dist;
  }();
  return sinks;
}

class DispatcherTest : public ::testing::Test {
 protected:
  // What a test class adds: its topic's partitions, keys of the endpoint section.
  virtual int partitions() const { return 1; }
  virtual std::string endpoint_yaml() const { return ""; }

  void SetUp() override {
    log_sinks();
    cluster_ = std::make_unique<MockCluster>(partitions());
    dir_ = std::filesystem::temp_directory_path() / ("dispatcher-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    endpoint::ServerOptions options;
    options.port = 0;
    options.db_path = (dir_ / "endpoint.db").string();
    options.signing_secret = "s3cret";
    options.read_token = "reader";
    options.sources = {"postgres"};
    options.worker_threads = 4;
    server_ = std::make_unique<endpoint::EndpointServer>(options);
    server_thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    config_ = config::load_string(R"(
kafka:
  bootstrap_servers: )" + cluster_->bootstrap() + R"(
  group_prefix: test
  properties: { session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
sink:
  dialect: postgres
  connection: "Driver=unused"
sources:)" + pipeline::testing::postgres_source_yaml("postgres.public.meter") + R"(    endpoint:
      url: http://127.0.0.1:)" + std::to_string(server_->port()) + R"(/v1/sources/postgres/changes
      signing_secret: s3cret
      linger_ms: 20
      retry_initial_ms: 1
      retry_max_ms: 20
      max_attempts: 3
)" + endpoint_yaml());
  }
  void TearDown() override {
    server_->stop();
    server_thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  Json received() {
    auto res = client_->Get("/v1/sources/postgres/changes?limit=1000", {{"Authorization", "Bearer reader"}});
    return res && res->status == 200 ? Json::parse(res->body)["changes"] : Json::array();
  }

  // Runs a dispatcher on its own thread until `done`, then stops it.
  template <typename F>
  bool dispatch_until(Dispatcher& dispatcher, F done) {
    std::atomic<bool> stopping{false};
    std::thread thread([&] { dispatcher.run(stopping); });
    const bool reached = eventually(done);
    stopping = true;
    thread.join();
    return reached;
  }

  std::unique_ptr<MockCluster> cluster_;
  std::filesystem::path dir_;
  std::unique_ptr<endpoint::EndpointServer> server_;
  std::thread server_thread_;
  std::unique_ptr<httplib::Client> client_;
  config::Config config_;
};

// The records the Meter Master pipeline dead-letters or skips get the same fate here
// (pipeline::RecordProcessor decides for both): an event of another table and a change
// the mapping refuses go to the endpoint dead-letter topic at stage map, a tombstone is
// skipped; none of them reaches the endpoint.
TEST_F(DispatcherTest, DeadLettersForeignTablesAndUnmappableChangesLikeTheTableSide) {
  auto edited = [](std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const std::string create = fixture("create.json");
  cluster_->produce(fixture("create.key.json"), edited(create, R"("table": "meter")", R"("table": "not_meter")"));
  cluster_->produce(fixture("create.key.json"),
                   edited(create, R"("meter_id": "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e")", R"("meter_id": "not-a-uuid")"));
  cluster_->produce(fixture("create.key.json"), std::nullopt);
  cluster_->produce_fixture("update");

  Dispatcher dispatcher(config_, config_.sources.at(0));
  ASSERT_TRUE(dispatch_until(dispatcher, [&] { return dispatcher.stats().records >= 4 &&
                                                      received().size() >= 1; }));
  EXPECT_EQ(dispatcher.stats().records_dead_lettered, 2);
  Json changes = received();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["event"]["op"], "update");
  auto letters = cluster_->dead_letters();
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].stage, "map");
  EXPECT_EQ(letters[0].reason, "event of table 'not_meter' on the topic of table 'meter'");
  EXPECT_EQ(letters[1].stage, "map");
  EXPECT_NE(letters[1].reason.find("SourceMeterId"), std::string::npos) << letters[1].reason;
}

// A flood of undecodable records: each is dead-lettered and counted, but the log gets the
// table pipeline's rate limit (pipeline::LogRateLimit, ten lines per 10 s and then a count),
// not a line per record.
TEST_F(DispatcherTest, AFloodOfUndecodableRecordsWritesAFewLogLines) {
  constexpr int kRecords = 300;
  for (int i = 0; i < kRecords; ++i) cluster_->produce(fixture("create.key.json"), "not json " + std::to_string(i));
  cluster_->produce_fixture("update");

  std::ostringstream log;
  const auto capture = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  log_sinks()->add_sink(capture);
  Dispatcher dispatcher(config_, config_.sources.at(0));
  const bool done = dispatch_until(dispatcher, [&] {
    return dispatcher.stats().records_dead_lettered >= kRecords && received().size() >= 1;
  });
  log_sinks()->remove_sink(capture);
  ASSERT_TRUE(done);

  EXPECT_EQ(dispatcher.stats().records_dead_lettered, kRecords);
  int lines = 0;
  std::istringstream text(log.str());
  for (std::string line; std::getline(text, line);) {
    if (line.find("endpoint.dlq") != std::string::npos) ++lines;
  }
  // Ten per window that opened; a slow machine may open a second one.
  EXPECT_GE(lines, 10);
  EXPECT_LE(lines, 21) << log.str().substr(0, 4000);
}

TEST_F(DispatcherTest, DeliversInOrderDeadLettersAndReplays) {
  for (const char* name : {"create", "update", "update_removed", "delete"}) cluster_->produce_fixture(name);
  cluster_->produce(fixture("delete.key.json"), std::nullopt);  // tombstone: no event
  cluster_->produce("garbage-key", std::string("not a Debezium envelope"));

  const auto& source = config_.sources.at(0);
  {
    Dispatcher dispatcher(config_, source);
    ASSERT_TRUE(dispatch_until(dispatcher, [&] { return dispatcher.stats().records >= 6 &&
                                                        received().size() >= 4; }));
    EXPECT_EQ(dispatcher.stats().records_dead_lettered, 1);
  }
  Json changes = received();
  ASSERT_EQ(changes.size(), 4u);
  std::vector<std::string> ops;
  for (const auto& c : changes) ops.push_back(c["event"]["op"]);
  EXPECT_EQ(ops, (std::vector<std::string>{"create", "update", "update", "delete"}));
  const Json& created = changes[0]["event"];
  EXPECT_EQ(created["meter"]["sourceMeterId"], "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e");
  EXPECT_EQ(created["meter"]["multiplier"], "40.0000");
  EXPECT_EQ(created["after"]["multiplier"], "40.0000");  // not Debezium's "BhqA"
  EXPECT_EQ(created["after"]["meter_id"], "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e");
  EXPECT_EQ(created["before"], nullptr);
  EXPECT_EQ(created["id"], "postgres:" + created["position"].get<std::string>() +
                               ":0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e");
  EXPECT_EQ(changes[2]["event"]["meter"]["status"], "removed");
  EXPECT_EQ(changes[3]["event"]["meter"]["isDeleted"], true);
  EXPECT_EQ(changes[3]["event"]["after"], nullptr);
  // Positions increase: source order kept.
  for (std::size_t i = 1; i < changes.size(); ++i) {
    EXPECT_LT(changes[i - 1]["event"]["position"].get<std::string>(),
              changes[i]["event"]["position"].get<std::string>());
  }
  auto letters = cluster_->dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].stage, "decode");
  EXPECT_EQ(letters[0].value, "not a Debezium envelope");

  // The endpoint refuses the next batch: dead-lettered at once, with the reason.
  server_->faults().set("postgres", *endpoint::parse_fault("status:400"));
  cluster_->produce_fixture("snapshot_edge_max");
  {
    Dispatcher dispatcher(config_, source);
    ASSERT_TRUE(dispatch_until(dispatcher, [&] { return dispatcher.stats().batches_dead_lettered >= 1; }));
    // Only the new record was read: progress was committed for the first six.
    EXPECT_EQ(dispatcher.stats().records, 1);
    EXPECT_EQ(dispatcher.stats().failed_attempts, 0);  // a 400 is not retried
  }
  letters = cluster_->dead_letters();
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[1].stage, "endpoint");
  EXPECT_EQ(letters[1].reason.rfind("HTTP 400", 0), 0u) << letters[1].reason;
  EXPECT_EQ(Json::parse(letters[1].value)["batch_id"], letters[1].key);
  EXPECT_EQ(received().size(), 4u);

  // While the endpoint still refuses, replay stops and keeps the batch.
  std::atomic<bool> stopping{false};
  auto refused = replay(config_, source, stopping);
  EXPECT_FALSE(refused.error.empty());
  EXPECT_EQ(refused.delivered, 0);
  EXPECT_EQ(refused.skipped, 1);  // the undecodable record, before the batch
  // Once it accepts, replay delivers it.
  server_->faults().clear("postgres");
  auto replayed = replay(config_, source, stopping);
  EXPECT_TRUE(replayed.complete) << replayed.error;
  EXPECT_EQ(replayed.delivered, 1);
  EXPECT_EQ(replayed.skipped, 0);
  changes = received();
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[4]["event"]["meter"]["sourceMeterId"], "00000000-0000-4000-8000-000000e00005");
  // A second replay has nothing left to do.
  auto again = replay(config_, source, stopping);
  EXPECT_TRUE(again.complete);
  EXPECT_EQ(again.delivered, 0);
}

TEST_F(DispatcherTest, RetriesThroughFailuresWithoutLosingOrDuplicating) {
  server_->faults().set("postgres", *endpoint::parse_fault("status:503:count=2"));
  for (const char* name : {"create", "update"}) cluster_->produce_fixture(name);
  const auto& source = config_.sources.at(0);
  Dispatcher dispatcher(config_, source);
  ASSERT_TRUE(dispatch_until(dispatcher, [&] { return received().size() >= 2; }));
  EXPECT_EQ(dispatcher.stats().failed_attempts, 2);
  EXPECT_EQ(dispatcher.stats().batches_dead_lettered, 0);
  EXPECT_EQ(received().size(), 2u);
}

// A change of meter `meter` at source position `lsn` (the captured update, re-keyed).
std::pair<std::string, std::string> change(int meter, int64_t lsn) {
  auto replace_all = [](std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
    return text;
  };
  const std::string id = fmt::format("0f1e2d3c-4b5a-4968-8778-{:012d}", meter);
  const std::string original = "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e";
  return {replace_all(fixture("update.key.json"), original, id),
          replace_all(replace_all(fixture("update.json"), original, id), "31436576", std::to_string(lsn))};
}

// Per meter, the received events' positions: every change once, in source order.
void expect_each_once_in_order(const Json& changes, int meters, int per_meter) {
  std::map<std::string, std::vector<std::string>> positions;
  for (const auto& c : changes) {
    positions[c["event"]["meter"]["sourceMeterId"]].push_back(c["event"]["position"]);
  }
  for (int meter = 0; meter < meters; ++meter) {
    const auto& seen = positions[fmt::format("0f1e2d3c-4b5a-4968-8778-{:012d}", meter)];
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(per_meter)) << "meter " << meter;
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "meter " << meter;
  }
}

class ParallelDispatchTest : public DispatcherTest {
 protected:
  int partitions() const override { return 4; }
  std::string endpoint_yaml() const override {
    return "      max_in_flight: 4\n      max_batch_events: 2\n      breaker_failures: 3\n";
  }
};

// Four partitions, a slow endpoint: their posts overlap (the wall time is well under the
// posts' summed latency), while each partition's batches, and so each meter's changes,
// arrive one after another in source order.
TEST_F(ParallelDispatchTest, PostsOfDifferentPartitionsOverlapAndEachMeterStaysInOrder) {
  Dispatcher dispatcher(config_, config_.sources.at(0));
  std::atomic<bool> stopping{false};
  std::thread thread([&] { dispatcher.run(stopping); });
  // Warm-up: the partitions assigned, one change each delivered.
  for (int p = 0; p < 4; ++p) {
    auto [key, value] = change(p, 1000 + p);
    cluster_->produce(key, value, p);
  }
  ASSERT_TRUE(eventually([&] { return received().size() >= 4; }));
  const int64_t posts_before = dispatcher.stats().batches_delivered;

  constexpr auto kLatency = 300ms;
  server_->faults().set("postgres", *endpoint::parse_fault("sleep:300"));
  const auto started = std::chrono::steady_clock::now();
  // Meter p lives in partition p: six changes each.
  for (int seq = 1; seq <= 6; ++seq) {
    for (int p = 0; p < 4; ++p) {
      auto [key, value] = change(p, 1000 + seq * 10 + p);
      cluster_->produce(key, value, p);
    }
  }
  const bool all = eventually([&] { return dispatcher.stats().events_delivered >= 4 + 24; });
  const auto took = std::chrono::steady_clock::now() - started;
  server_->faults().clear("postgres");
  stopping = true;
  thread.join();
  ASSERT_TRUE(all);
  const int64_t posts = dispatcher.stats().batches_delivered - posts_before;
  // One after another they would take posts * latency at least.
  EXPECT_LT(took, posts * kLatency * 2 / 3) << posts << " posts";
  EXPECT_EQ(dispatcher.stats().batches_dead_lettered, 0);
  expect_each_once_in_order(received(), 4, 7);
}

// The endpoint fails: after breaker_failures failed posts in a row its circuit opens, the
// partitions are paused (what is produced meanwhile stays on Kafka), no batch is
// dead-lettered although max_attempts (3) is passed many times over by the probes; once the
// endpoint answers, the circuit closes and everything arrives, once, in order.
TEST_F(ParallelDispatchTest, CircuitOpensAfterFailuresKeepsTheBacklogOnKafkaAndRecovers) {
  server_->faults().set("postgres", *endpoint::parse_fault("status:503"));
  for (int p = 0; p < 4; ++p) {
    auto [key, value] = change(p, 1000 + p);
    cluster_->produce(key, value, p);
  }
  Dispatcher dispatcher(config_, config_.sources.at(0));
  std::atomic<bool> stopping{false};
  std::thread thread([&] { dispatcher.run(stopping); });
  const bool opened = eventually([&] { return dispatcher.stats().circuit_open.load(); });
  EXPECT_GE(dispatcher.stats().failures_in_a_row, 3);
  EXPECT_GT(dispatcher.stats().circuit_opened_at_ms, 0);
  // Produced while the endpoint is unavailable: left on Kafka.
  const int64_t read_before = dispatcher.stats().records;
  for (int seq = 1; seq <= 10; ++seq) {
    for (int p = 0; p < 4; ++p) {
      auto [key, value] = change(p, 1000 + seq * 10 + p);
      cluster_->produce(key, value, p);
    }
  }
  std::this_thread::sleep_for(1s);
  const int64_t read_while_open = dispatcher.stats().records - read_before;
  const int64_t probes = dispatcher.stats().failed_attempts;
  EXPECT_TRUE(dispatcher.stats().circuit_open);
  EXPECT_EQ(dispatcher.stats().batches_dead_lettered, 0);

  server_->faults().clear("postgres");
  const bool all = eventually([&] { return dispatcher.stats().events_delivered >= 44; });
  stopping = true;
  thread.join();
  ASSERT_TRUE(opened);
  ASSERT_TRUE(all);
  EXPECT_LT(read_while_open, 40) << "the paused partitions were read";
  EXPECT_GT(probes, 3) << "probed while open";
  EXPECT_FALSE(dispatcher.stats().circuit_open);
  EXPECT_EQ(dispatcher.stats().batches_dead_lettered, 0);
  EXPECT_TRUE(cluster_->dead_letters().empty());
  expect_each_once_in_order(received(), 4, 11);
}

}  // namespace
}  // namespace metersync::dispatch
