// Test support: librdkafka's built-in mock cluster (real protocol, groups and offsets, no
// broker process) with a producer and a reader, for the tests of components that consume
// through kafka::Consumer. Kept here so that librdkafka is included under src/kafka only.
// Header-only; link GTest and librdkafka (metersync_kafka brings it).
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace metersync::kafka::testing {

class MockCluster {
 public:
  // One broker; every topic with `partitions` partitions.
  explicit MockCluster(const std::vector<std::string>& topics, int partitions = 1) {
    char error[256];
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), error, sizeof error);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    for (const auto& topic : topics) rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap(), err);
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
  }
  ~MockCluster() {
    producer_.reset();
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  // One record into `partition`, acknowledged before this returns; `value` nullopt is a
  // tombstone.
  void produce(const std::string& topic, const std::string& key, const std::optional<std::string>& value,
               int32_t partition = 0) {
    ASSERT_EQ(producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                 value ? const_cast<char*>(value->data()) : nullptr,
                                 value ? value->size() : 0, key.data(), key.size(), 0, nullptr),
              RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer_->flush(10000), RdKafka::ERR_NO_ERROR);
  }

  // The next `count` produce requests to the cluster fail with `error` (ApiKey 0: Produce).
  void fail_next_produce(rd_kafka_resp_err_t error, int count = 1) {
    rd_kafka_mock_push_request_errors(cluster_, 0, static_cast<std::size_t>(count), error);
  }

  struct Record {
    std::string key, value;
    std::map<std::string, std::string> headers;  // the last value of each
  };
  // Every record of `topic`, read from its beginning by a fresh group.
  std::vector<Record> read_all(const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap(), err);
    conf->set("group.id", "test-reader-" + std::to_string(++readers_), err);
    conf->set("auto.offset.reset", "earliest", err);
    conf->set("enable.partition.eof", "true", err);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
    consumer->subscribe({topic});
    std::vector<Record> records;
    for (int i = 0; i < 300; ++i) {
      std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
      if (m->err() == RdKafka::ERR__PARTITION_EOF) break;
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      Record record;
      if (m->headers() != nullptr) {
        for (const auto& header : m->headers()->get_all()) {
          record.headers[header.key()] =
              std::string(static_cast<const char*>(header.value()), header.value_size());
        }
      }
      if (m->key()) record.key = *m->key();
      record.value.assign(static_cast<const char*>(m->payload()), m->len());
      records.push_back(std::move(record));
    }
    consumer->close();
    return records;
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::unique_ptr<RdKafka::Producer> producer_;
  int readers_ = 0;
};

}  // namespace metersync::kafka::testing
