// Two pipelines of one source in one consumer group, on librdkafka's mock cluster, writing
// into a real PostgreSQL started for this process: the second joins while the first is
// writing, so the group rebalances and the first one's revoke callback runs against its
// busy writer thread; stopping the first hands its partitions back. Every record must
// reach Meter Master exactly once. Nothing of metersync is faked: pipeline thread, writer
// thread, consumer, dead-letter producer and sink are the shipped ones. ThreadSanitizer
// runs this test (tools/check tsan).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "engine/pipeline.hpp"
#include "engine/tests/captured_records.hpp"
#include "sink/odbc_connection.hpp"
#include "sink/odbc_environment.hpp"
#include "sink/sink.hpp"
#include "throwaway_server.hpp"

namespace metersync::engine {
namespace {

using namespace std::chrono_literals;
using sink::testing::ThrowawayServer;

using testing::captured_create;
using testing::eventually;
using testing::meter_id;
using testing::with_meter_id;

constexpr int kPartitions = 4;

// A one-broker mock cluster, owned by a bare client handle.
class MockCluster {
 public:
  MockCluster() {
    char error[256];
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), error, sizeof error);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  void create_topic(const std::string& topic, int partitions) {
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  // Records [first, first + count) of the captured create, spread over the partitions.
  void produce(const std::string& topic, const std::string& message, int first, int count) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap(), error);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    ASSERT_TRUE(producer) << error;
    for (int i = first; i < first + count; ++i) {
      const std::string id = meter_id(i);
      std::string value = with_meter_id(message, id);
      ASSERT_EQ(producer->produce(topic, i % kPartitions, RdKafka::Producer::RK_MSG_COPY,
                                  value.data(), value.size(), id.data(), id.size(), 0, nullptr),
                RdKafka::ERR_NO_ERROR);
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

TEST(PipelineOnMockCluster, TwoPipelinesRebalancingOneGroupApplyEveryRecordOnce) {
  ThrowawayServer& server = ThrowawayServer::get("postgres");
  if (server.binaries_missing()) GTEST_SKIP() << server.problem();
  ASSERT_TRUE(server.running()) << server.problem();

  MockCluster cluster;
  ::setenv("KAFKA_BOOTSTRAP", cluster.bootstrap().c_str(), 1);
  ::setenv("SINK_ODBC", server.connection_string().c_str(), 1);
  ::setenv("SINK_DIALECT", "postgres", 1);
  config::Config config =
      config::load_file(std::string(METERSYNC_SOURCE_DIR) + "/config/metersync.yaml");
  // Small batches, so the rebalance finds one being written and one queued.
  config.sink.max_batch_events = 25;
  config.kafka.properties["session.timeout.ms"] = "6000";
  config.kafka.properties["heartbeat.interval.ms"] = "200";
  const config::SourceConfig* source = nullptr;
  for (const auto& candidate : config.sources)
    if (candidate.name == "postgres") source = &candidate;
  ASSERT_NE(source, nullptr);
  cluster.create_topic(source->topic, kPartitions);
  cluster.create_topic(source->topic + ".dlq", 1);

  sink::Sink check(config.sink);
  check.init();
  const std::string pipeline = group_for(config, *source);
  auto applied = [&] { return check.records_applied(pipeline); };

  const std::string message = captured_create();
  // The mock cluster keeps about 5 MB per partition: 200 captured messages of 9.7 KB each
  // stay below it (past it, the oldest records are deleted and the pipeline stops on them).
  constexpr int kFirst = 400;
  constexpr int kSecond = 400;
  cluster.produce(source->topic, message, 0, kFirst);

  // Two instances of one group, each with its own instance_id: the same id twice would make
  // them one static member (group.instance.id), the second fencing the first out.
  config::Config first_config = config;
  first_config.instance_id = "first";
  config::Config second_config = config;
  second_config.instance_id = "second";

  Pipeline first(first_config, *source);
  first.start();
  ASSERT_TRUE(eventually([&] { return applied() > 0; }, 60s, 100ms)) << "the first pipeline wrote nothing";

  // Joins while the first is writing: the group rebalances and moves partitions to it.
  cluster.produce(source->topic, message, kFirst, kSecond);
  Pipeline second(second_config, *source);
  second.start();
  ASSERT_TRUE(eventually([&] { return applied() >= kFirst + kSecond / 2; }, 120s, 100ms))
      << "applied " << applied();

  // Leaving hands the first one's partitions back to the second (a static member sends no
  // LeaveGroup: after session.timeout.ms, 6 s here).
  first.request_stop();
  first.join();
  ASSERT_TRUE(eventually([&] { return applied() >= kFirst + kSecond; }, 120s, 100ms))
      << "applied " << applied();
  second.request_stop();
  second.join();

  EXPECT_EQ(applied(), kFirst + kSecond);
  // One row per meter: none skipped (records_applied counts records the offsets passed).
  sink::OdbcEnvironment environment;
  sink::OdbcConnection connection(environment, config.sink.connection, config.sink.dialect);
  const auto rows = connection.query(
      R"(SELECT COUNT(*), COUNT(DISTINCT "SourceMeterId") FROM "MeterMaster" WHERE "SourceSystem" = 'postgres')");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], std::to_string(kFirst + kSecond));
  EXPECT_EQ(rows[0][1], std::to_string(kFirst + kSecond));
  EXPECT_FALSE(first.failed_for_good());
  EXPECT_FALSE(second.failed_for_good());
  std::this_thread::sleep_for(200ms);  // nothing is written after the count was reached
  EXPECT_EQ(applied(), kFirst + kSecond);
}

}  // namespace
}  // namespace metersync::engine
