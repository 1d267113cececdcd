// Consumer and dead-letter producer against librdkafka's built-in mock cluster: real
// protocol, group coordination and offsets, no broker process.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kafka/consumer.hpp"
#include "kafka/dead_letter_producer.hpp"
#include "kafka/testing/mock_cluster.hpp"

namespace metersync::kafka {
namespace {

using namespace std::chrono_literals;

// A one-broker mock cluster, owned by a bare client handle.
class MockCluster {
 public:
  MockCluster() {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  void create_topic(const std::string& topic, int partitions) {
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  // Writes "v0".."v<n-1>" with keys "k0".. into `partition`.
  void produce(const std::string& topic, int count, int32_t partition = 0) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap(), error);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    ASSERT_TRUE(producer) << error;
    for (int i = 0; i < count; ++i) {
      std::string value = "v" + std::to_string(i);
      std::string key = "k" + std::to_string(i);
      ASSERT_EQ(producer->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(),
                                  key.data(), key.size(), 0, nullptr),
                RdKafka::ERR_NO_ERROR);
    }
    ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

ClientSettings settings_for(const MockCluster& cluster) {
  ClientSettings settings;
  settings.bootstrap_servers = cluster.bootstrap();
  // Keep group joins quick against the mock coordinator.
  settings.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
  return settings;
}

// Polls until `count` records arrived (or a generous bound of polls passed).
std::vector<Message> poll_records(Consumer& consumer, std::size_t count) {
  std::vector<Message> records;
  for (int i = 0; i < 600 && records.size() < count; ++i) {
    auto polled = consumer.poll(100ms);
    if (polled && *polled) records.push_back(std::move(**polled));
  }
  return records;
}

TEST(ConsumerOnMockCluster, StartsAtTheOffsetTheSinkStored) {
  MockCluster cluster;
  cluster.create_topic("src", 1);
  cluster.produce("src", 10);

  std::vector<int32_t> asked;
  std::vector<int32_t> revoked;
  Consumer::Hooks hooks{
      [&](const std::vector<int32_t>& partitions) -> std::optional<Offsets> {
        asked = partitions;
        return Offsets{{0, 6}};
      },
      [&](const std::vector<int32_t>& partitions) { revoked = partitions; }};
  Consumer consumer(settings_for(cluster), "g-stored", "src", hooks);
  auto records = poll_records(consumer, 4);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(asked, std::vector<int32_t>{0});
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset(), static_cast<int64_t>(6 + i));
    EXPECT_EQ(records[i].value(), "v" + std::to_string(6 + i));
    EXPECT_EQ(records[i].key(), "k" + std::to_string(6 + i));
  }
  EXPECT_EQ(consumer.lag({{0, 10}}), 0);
  EXPECT_EQ(consumer.lag({{0, 7}}), 3);
  records.clear();  // messages go before their consumer
  consumer.close();
  EXPECT_EQ(revoked, std::vector<int32_t>{0});
}

TEST(ConsumerOnMockCluster, WithoutStoredOffsetsStartsAtTheBeginning) {
  MockCluster cluster;
  cluster.create_topic("src", 1);
  cluster.produce("src", 3);
  Consumer consumer(settings_for(cluster), "g-empty", "src",
                    {[](const std::vector<int32_t>&) { return std::optional<Offsets>(Offsets{}); },
                     [](const std::vector<int32_t>&) {}});
  auto records = poll_records(consumer, 3);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.front().offset(), 0);
  EXPECT_EQ(records.front().value(), "v0");
}

TEST(ConsumerOnMockCluster, PausedConsumerDeliversNothingAndResumesWhereItStopped) {
  MockCluster cluster;
  cluster.create_topic("src", 1);
  cluster.produce("src", 6);
  Consumer consumer(settings_for(cluster), "g-pause", "src",
                    {[](const std::vector<int32_t>&) { return std::optional<Offsets>(Offsets{}); },
                     [](const std::vector<int32_t>&) {}});
  auto first = poll_records(consumer, 2);
  ASSERT_EQ(first.size(), 2u);
  consumer.pause();
  std::vector<Message> while_paused;
  for (int i = 0; i < 10; ++i) {
    auto polled = consumer.poll(50ms);
    if (polled && *polled) while_paused.push_back(std::move(**polled));
  }
  consumer.resume();
  auto rest = poll_records(consumer, 4 - while_paused.size());
  // Whatever arrived, the sequence continues without a gap or a repeat.
  std::vector<int64_t> offsets;
  for (auto* batch : {&first, &while_paused, &rest}) {
    for (auto& m : *batch) offsets.push_back(m.offset());
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

// librdkafka keeps a partition's pause across a revoke and a new assignment, and resume()
// resumes the assignment of its time: a partition revoked while paused and given back after
// resume() must be fetched again (a pipeline paused for a retry that lost a partition to a
// rebalance and got it back otherwise never read it again).
TEST(ConsumerOnMockCluster, APartitionRevokedWhilePausedIsFetchedWhenAssignedAgainAfterResume) {
  MockCluster cluster;
  cluster.create_topic("src", 2);
  cluster.produce("src", 3, 0);
  cluster.produce("src", 3, 1);
  const Consumer::Hooks hooks{[](const std::vector<int32_t>&) { return std::optional<Offsets>(Offsets{}); },
                              [](const std::vector<int32_t>&) {}};
  Consumer first(settings_for(cluster), "g-repause", "src", hooks);
  ASSERT_EQ(poll_records(first, 6).size(), 6u);
  first.pause();

  // A second member joins: each ends up with one partition, the first's still paused.
  auto second = std::make_unique<Consumer>(settings_for(cluster), "g-repause", "src", hooks);
  for (int i = 0; i < 300 && !(first.assignment().size() == 1 && second->assignment().size() == 1); ++i) {
    (void)first.poll(50ms);
    (void)second->poll(50ms);
  }
  ASSERT_EQ(first.assignment().size(), 1u);
  ASSERT_EQ(second->assignment().size(), 1u);
  const int32_t theirs = *second->assignment().begin();
  first.resume();

  // The second leaves: its partition, paused in the first's client since before the revoke,
  // comes back to the first and is read from the start (nothing stored).
  second->close();
  second.reset();
  bool fetched = false;
  for (int i = 0; i < 300 && !fetched; ++i) {
    auto polled = first.poll(50ms);
    fetched = polled && *polled && (*polled)->partition() == theirs;
  }
  EXPECT_TRUE(fetched) << "partition " << theirs << " was never fetched again";
}

TEST(DeadLetterProducerOnMockCluster, WritesOriginalKeyValueAndErrorHeaders) {
  MockCluster cluster;
  cluster.create_topic("src.dlq", 1);
  {
    DeadLetterProducer producer(settings_for(cluster));
    DeadLetter letter{Stage::Map, "Status: unknown code 'X'", "src", 2, 41, 1700000000123, "key-1",
                      "{\"payload\":1}"};
    ASSERT_TRUE(producer.send("src.dlq", letter));
    auto flushed = producer.flush(10s);
    ASSERT_TRUE(flushed) << flushed.error().describe();
  }
  Consumer consumer(settings_for(cluster), "g-dlq", "src.dlq",
                    {[](const std::vector<int32_t>&) { return std::optional<Offsets>(Offsets{}); },
                     [](const std::vector<int32_t>&) {}});
  auto records = poll_records(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  const Message& m = records.front();
  EXPECT_EQ(m.key(), "key-1");
  EXPECT_EQ(m.value(), "{\"payload\":1}");
  EXPECT_EQ(m.header(dlq_header::kReason), "Status: unknown code 'X'");
  EXPECT_EQ(m.header(dlq_header::kStage), "map");
  EXPECT_EQ(m.header(dlq_header::kTopic), "src");
  EXPECT_EQ(m.header(dlq_header::kPartition), "2");
  EXPECT_EQ(m.header(dlq_header::kOffset), "41");
  EXPECT_EQ(m.header(dlq_header::kTimestamp), "1700000000123");
  EXPECT_EQ(m.header(dlq_header::kId), "src/2/41");
}

// The identity is what a second copy (sent again after a crash between the dead letter's flush
// and the commit past it) is recognised by: the same for the same record, whatever the reason.
TEST(DeadLetterProducer, TheIdentityNamesTheRecordOrTheBatchRange) {
  DeadLetter record{Stage::Decode, "not JSON", "postgres.public.meter", 2, 986, 5, "k", "v"};
  EXPECT_EQ(dead_letter_id(record), "postgres.public.meter/2/986");
  DeadLetter again = record;
  again.reason = "another run's words";
  EXPECT_EQ(dead_letter_id(again), dead_letter_id(record));
  DeadLetter batch{Stage::Endpoint, "HTTP 400", "mysql.meterdb.meters", 0, 40, -1, "mysql-0-40-52", "{}", 52};
  EXPECT_EQ(dead_letter_id(batch), "mysql.meterdb.meters/0/40-52");
}

TEST(DeadLetterProducer, TombstoneKeepsItsNullValue) {
  MockCluster cluster;
  cluster.create_topic("t.dlq", 1);
  {
    DeadLetterProducer producer(settings_for(cluster));
    DeadLetter letter{Stage::Decode, "null value", "t", 0, 5, -1, std::nullopt, std::nullopt};
    ASSERT_TRUE(producer.send("t.dlq", letter));
    ASSERT_TRUE(producer.flush(10s));
  }
  Consumer consumer(settings_for(cluster), "g-null", "t.dlq",
                    {[](const std::vector<int32_t>&) { return std::optional<Offsets>(Offsets{}); },
                     [](const std::vector<int32_t>&) {}});
  auto records = poll_records(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records.front().value().has_value());
  EXPECT_FALSE(records.front().key().has_value());
  EXPECT_EQ(records.front().header(dlq_header::kStage), "decode");
}

// A record too large for the dead-letter topic goes as a reference (headers, no value),
// so the pipeline that dead-letters it moves on; a smaller one still goes whole.
TEST(DeadLetterProducerOnMockCluster, ARecordTooLargeForTheTopicGoesAsAReference) {
  testing::MockCluster cluster({"big.dlq"});
  const std::string large(30000, 'x');
  const std::string small(1000, 'y');
  {
    DeadLetterProducer producer(ClientSettings{cluster.bootstrap(), {}}, 20000);
    EXPECT_EQ(producer.message_limit("big.dlq"), 20000);
    ASSERT_TRUE(producer.send("big.dlq", DeadLetter{Stage::Decode, "not JSON", "big", 3, 77, 5, "k", large}));
    ASSERT_TRUE(producer.send("big.dlq", DeadLetter{Stage::Decode, "not JSON", "big", 3, 78, 5, "k", small}));
    auto flushed = producer.flush(10s);
    ASSERT_TRUE(flushed) << flushed.error().describe();
  }
  const auto records = cluster.read_all("big.dlq");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, "k");
  EXPECT_EQ(records[0].value, "");
  EXPECT_EQ(records[0].headers.at(dlq_header::kSize), "30000");
  EXPECT_EQ(records[0].headers.at(dlq_header::kOffset), "77");
  EXPECT_EQ(records[0].headers.at(dlq_header::kReason), "not JSON");
  const std::string& omitted = records[0].headers.at(dlq_header::kOmitted);
  EXPECT_NE(omitted.find("does not fit big.dlq (20000 bytes)"), std::string::npos) << omitted;
  EXPECT_NE(omitted.find("the original is at big partition 3 offset 77"), std::string::npos) << omitted;
  EXPECT_EQ(records[1].value, small);
  EXPECT_EQ(records[1].headers.at(dlq_header::kSize), "1000");
  EXPECT_EQ(records[1].headers.count(dlq_header::kOmitted), 0u);
}

// The broker refuses a record as too large although the producer thought it fit (the topic's
// max.message.bytes was lowered since it was read): a transient error, and sent again the
// record goes as a reference instead of stopping the pipeline for good.
TEST(DeadLetterProducerOnMockCluster, ARecordTheBrokerRefusesAsTooLargeIsSentAgainAsAReference) {
  testing::MockCluster cluster({"shrunk.dlq"});
  const std::string value(5000, 'z');
  DeadLetterProducer producer(ClientSettings{cluster.bootstrap(), {}}, 1000000);
  const DeadLetter letter{Stage::Map, "unknown kind", "shrunk", 0, 9, 5, "k", value};
  cluster.fail_next_produce(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  ASSERT_TRUE(producer.send("shrunk.dlq", letter));
  auto refused = producer.flush(10s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Transient) << refused.error().describe();
  // Below the refused record with its framing: sent again, it cannot go whole.
  EXPECT_LT(producer.message_limit("shrunk.dlq"), 5000 + 1 + kRecordOverheadBytes);
  ASSERT_TRUE(producer.send("shrunk.dlq", letter));
  auto flushed = producer.flush(10s);
  ASSERT_TRUE(flushed) << flushed.error().describe();
  const auto records = cluster.read_all("shrunk.dlq");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "");
  EXPECT_EQ(records[0].headers.at(dlq_header::kSize), "5000");
  EXPECT_EQ(records[0].headers.count(dlq_header::kOmitted), 1u);
}

TEST(ConsumerOnMockCluster, ATinyPrefetchQueueStillDeliversEveryRecordOnceInOrder) {
  MockCluster cluster;
  cluster.create_topic("src", 1);
  cluster.produce("src", 3000);
  ClientSettings settings = settings_for(cluster);
  // The queue fills after a handful of records: fetches stall and poll() restarts them
  // again and again, each restart refetching from the next unread offset.
  settings.properties["queued.max.messages.kbytes"] = "1";
  settings.properties["queued.min.messages"] = "20";
  Consumer consumer(settings, "g-tiny", "src",
                    {[](const std::vector<int32_t>&) { return std::optional<Offsets>(Offsets{}); },
                     [](const std::vector<int32_t>&) {}});
  std::vector<int64_t> offsets;
  for (int i = 0; i < 30000 && offsets.size() < 3000; ++i) {
    auto polled = consumer.poll(100ms);
    ASSERT_TRUE(polled) << polled.error().describe();
    if (*polled) offsets.push_back((*polled)->offset());
  }
  ASSERT_EQ(offsets.size(), 3000u);
  for (std::size_t i = 0; i < offsets.size(); ++i) ASSERT_EQ(offsets[i], static_cast<int64_t>(i));
}

TEST(ClientConfig, MetersyncDefaultsApplyUnlessKafkaPropertiesNameThem) {
  ClientSettings settings;
  settings.bootstrap_servers = "127.0.0.1:1";
  const std::map<std::string, std::string> defaults{{"queued.max.messages.kbytes", "12288"},
                                                    {"fetch.wait.max.ms", "100"}};
  settings.properties = {{"queued.max.messages.kbytes", "65536"}};
  auto conf = make_conf(settings, {}, defaults);
  std::string value;
  ASSERT_EQ(conf->get("queued.max.messages.kbytes", value), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(value, "65536");
  ASSERT_EQ(conf->get("fetch.wait.max.ms", value), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(value, "100");
}

TEST(ClientConfig, RefusesAPropertyThatContradictsOurGuarantees) {
  ClientSettings settings;
  settings.bootstrap_servers = "127.0.0.1:1";
  settings.properties = {{"enable.auto.commit", "true"}};
  try {
    Consumer consumer(settings, "g", "t", {});
    FAIL() << "expected ClientConfigError";
  } catch (const ClientConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kafka.properties.enable.auto.commit"), std::string::npos);
  }
}

TEST(ClientConfig, NamesAnUnknownPropertyWithoutEchoingItsValue) {
  ClientSettings settings;
  settings.bootstrap_servers = "127.0.0.1:1";
  settings.properties = {{"sasl.passwordz", "hunter2"}};
  try {
    DeadLetterProducer producer(settings);
    FAIL() << "expected ClientConfigError";
  } catch (const ClientConfigError& e) {
    std::string text = e.what();
    EXPECT_NE(text.find("kafka.properties.sasl.passwordz"), std::string::npos);
    EXPECT_EQ(text.find("hunter2"), std::string::npos);
  }
}

// The endpoint's position store: no starting_offsets, the group's committed offsets.
TEST(ConsumerOnMockCluster, WithGroupPositionsResumesAfterTheCommittedOffset) {
  MockCluster cluster;
  cluster.create_topic("src", 1);
  cluster.produce("src", 5);
  std::vector<int32_t> revoked;
  {
    Consumer consumer(settings_for(cluster), "g-group", "src",
                      {{}, [&](const std::vector<int32_t>& partitions) { revoked = partitions; }});
    auto records = poll_records(consumer, 3);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records.front().offset(), 0);  // a new group starts at the beginning
    ASSERT_TRUE(consumer.commit({{0, 3}}));
    records.clear();
    consumer.close();
    EXPECT_EQ(revoked, std::vector<int32_t>{0});
  }
  Consumer consumer(settings_for(cluster), "g-group", "src", {{}, [](const std::vector<int32_t>&) {}},
                    Consumer::Options{.report_partition_end = true, .group_instance_id = {}});
  EXPECT_EQ(consumer.partition_count(10s), 1);
  auto records = poll_records(consumer, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.front().offset(), 3);
  EXPECT_EQ(records.back().offset(), 4);
  for (int i = 0; i < 100 && consumer.partitions_at_end().empty(); ++i) (void)consumer.poll(100ms);
  EXPECT_EQ(consumer.partitions_at_end(), std::set<int32_t>{0});
}

// An endpoint's lag is right before it settles anything: its position is the group's
// committed offset, which only the broker knows.
TEST(ConsumerOnMockCluster, ReadsTheGroupsCommittedOffsetsForTheLagBeforeReadingAnything) {
  MockCluster cluster;
  cluster.create_topic("src", 2);
  cluster.produce("src", 6, 0);
  cluster.produce("src", 2, 1);
  {
    Consumer first(settings_for(cluster), "g-lag", "src", {{}, [](const std::vector<int32_t>&) {}});
    ASSERT_EQ(poll_records(first, 8).size(), 8u);
    ASSERT_TRUE(first.commit({{0, 4}}));  // partition 1: never committed
    first.close();
  }
  Consumer consumer(settings_for(cluster), "g-lag", "src", {{}, [](const std::vector<int32_t>&) {}});
  for (int i = 0; i < 100 && consumer.assignment().size() < 2; ++i) (void)consumer.poll(100ms);
  ASSERT_EQ(consumer.assignment().size(), 2u);
  const auto committed = consumer.committed({0, 1}, 10s);
  ASSERT_TRUE(committed) << committed.error().describe();
  EXPECT_EQ(*committed, (Offsets{{0, 4}}));
  std::optional<std::map<int32_t, int64_t>> lags;
  for (int i = 0; i < 100 && !lags; ++i) {
    lags = consumer.partition_lag(*committed);
    if (!lags) (void)consumer.poll(100ms);
  }
  ASSERT_TRUE(lags);
  EXPECT_EQ(lags->at(0), 2);  // 6 on the broker, committed up to 4
  EXPECT_EQ(lags->at(1), 2);  // none committed: from the beginning
}

// The dispatcher commits its settled progress when it gives partitions up, close included.
TEST(ConsumerOnMockCluster, WithGroupPositionsTheRevokingHookCommitsAtClose) {
  MockCluster cluster;
  cluster.create_topic("src", 1);
  cluster.produce("src", 4);
  Consumer* self = nullptr;
  bool committed = false;
  {
    Consumer consumer(settings_for(cluster), "g-close", "src",
                      {{}, [&](const std::vector<int32_t>&) { committed = self->commit({{0, 2}}).has_value(); }});
    self = &consumer;
    auto records = poll_records(consumer, 2);
    ASSERT_EQ(records.size(), 2u);
    records.clear();
    consumer.close();
  }
  EXPECT_TRUE(committed);
  Consumer consumer(settings_for(cluster), "g-close", "src", {{}, [](const std::vector<int32_t>&) {}});
  auto records = poll_records(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records.front().offset(), 2);
}

}  // namespace
}  // namespace metersync::kafka
