#include "kafka/topic_metadata.hpp"

#include <gtest/gtest.h>

#include "kafka/testing/mock_cluster.hpp"

namespace metersync::kafka {
namespace {

using namespace std::chrono_literals;

TEST(TopicMetadata, PartitionCountsAndMissingTopics) {
  testing::MockCluster cluster({"postgres.public.meter"});
  const auto metadata =
      describe_topics({cluster.bootstrap(), {}}, {"postgres.public.meter", "no.such.topic"}, 10s);
  ASSERT_TRUE(metadata) << metadata.error();
  EXPECT_EQ(metadata->brokers, 1);
  EXPECT_EQ(metadata->partitions.at("postgres.public.meter"), 1);
  EXPECT_EQ(metadata->partitions.at("no.such.topic"), std::nullopt);
}

TEST(TopicMetadata, AClusterThatDoesNotAnswerSaysSo) {
  // Port 9 (discard) on loopback: nothing listens there.
  const auto metadata = describe_topics({"127.0.0.1:9", {}}, {"t"}, 1500ms);
  ASSERT_FALSE(metadata);
  EXPECT_NE(metadata.error().find("no answer from 127.0.0.1:9 within 1500 ms"), std::string::npos)
      << metadata.error();
}

TEST(TopicMetadata, LibraryVersionIsLibrdkafkas) {
  EXPECT_FALSE(library_version().empty());
  EXPECT_NE(library_version().find('.'), std::string::npos);
}

}  // namespace
}  // namespace metersync::kafka
