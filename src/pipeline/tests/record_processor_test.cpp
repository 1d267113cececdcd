// The one processor both destinations use: what it decides is what the Meter Master
// pipeline and the endpoint dispatcher do with the record (src/engine/record_intake.cpp and
// src/dispatch/dispatcher.cpp act on the Outcome and nothing else).
#include "pipeline/record_processor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "pipeline/testing/source_config.hpp"
#include "pipeline/topics.hpp"

namespace metersync::pipeline {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(METERSYNC_SOURCE_DIR) + "/tests/fixtures/debezium/captured/postgres/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

config::Config config_with_topic(const std::string& topic) {
  return config::load_string(R"(
kafka:
  bootstrap_servers: 127.0.0.1:1
sink:
  dialect: postgres
  connection: "Driver=unused"
sources:)" + testing::postgres_source_yaml(topic));
}

const Rejected* rejected(const Outcome& outcome) { return std::get_if<Rejected>(&outcome); }

TEST(RecordProcessor, MapsAChangeOfTheTopicsTable) {
  auto config = config_with_topic("postgres.public.meter");
  RecordProcessor processor(config.sources.at(0));
  const std::string value = fixture("create.json");
  auto outcome = processor.process(value);
  const auto* processed = std::get_if<Processed>(&outcome);
  ASSERT_NE(processed, nullptr);
  EXPECT_EQ(processed->event.table, "meter");
  EXPECT_EQ(processed->change.row.source_meter_id, "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e");
}

// The three records whose fate used to differ between the table and the endpoint.
TEST(RecordProcessor, ForeignTableUnmappableAndTombstoneHaveOneFateForBothDestinations) {
  auto config = config_with_topic("postgres.public.meter");
  RecordProcessor processor(config.sources.at(0));

  // An event of another table on this table's topic: dead-lettered at stage map.
  const std::string foreign = replaced(fixture("create.json"), R"("table": "meter")", R"("table": "not_meter")");
  auto outcome = processor.process(foreign);
  ASSERT_NE(rejected(outcome), nullptr);
  EXPECT_EQ(rejected(outcome)->stage, Stage::Map);
  EXPECT_EQ(rejected(outcome)->reason, "event of table 'not_meter' on the topic of table 'meter'");

  // A change the mapping rules refuse: dead-lettered at stage map (no longer sent to the
  // endpoint with "meter": null while the table side dead-letters it).
  const std::string unmappable =
      replaced(fixture("create.json"), R"("meter_id": "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e")", R"("meter_id": "not-a-uuid")");
  outcome = processor.process(unmappable);
  ASSERT_NE(rejected(outcome), nullptr);
  EXPECT_EQ(rejected(outcome)->stage, Stage::Map);
  EXPECT_NE(rejected(outcome)->reason.find("SourceMeterId"), std::string::npos) << rejected(outcome)->reason;

  // Not a Debezium envelope: dead-lettered at stage decode.
  outcome = processor.process(std::string_view("not a Debezium envelope"));
  ASSERT_NE(rejected(outcome), nullptr);
  EXPECT_EQ(rejected(outcome)->stage, Stage::Decode);

  // A tombstone: skipped by both, covered by their progress.
  EXPECT_TRUE(std::holds_alternative<Tombstone>(processor.process(std::nullopt)));
}

TEST(RecordProcessor, AssumesNoTableForARenamedTopic) {
  auto config = config_with_topic("meters-renamed");
  EXPECT_EQ(expected_table(config.sources.at(0)), std::nullopt);
  RecordProcessor processor(config.sources.at(0));
  const std::string foreign = replaced(fixture("create.json"), R"("table": "meter")", R"("table": "not_meter")");
  EXPECT_TRUE(std::holds_alternative<Processed>(processor.process(foreign)));
}

TEST(RecordProcessor, RefusesAnUnknownConnectorAtStart) {
  auto config = config_with_topic("postgres.public.meter");
  auto source = config.sources.at(0);
  source.connector = "db2";
  EXPECT_THROW(RecordProcessor{source}, ConfigError);
}

TEST(SourceTopics, NamesDeadLetterTopicsByDefaultOrAsConfigured) {
  auto config = config_with_topic("postgres.public.meter");
  auto source = config.sources.at(0);
  source.dead_letter_topic.clear();
  auto topics = topics_of(source);
  EXPECT_EQ(topics.changes, "postgres.public.meter");
  EXPECT_EQ(topics.dead_letters, "postgres.public.meter.dlq");
  EXPECT_EQ(topics.endpoint_dead_letters, "postgres.public.meter.endpoint.dlq");
  source.dead_letter_topic = "sink-dlq";
  source.endpoint = config::EndpointConfig{};
  source.endpoint->dead_letter_topic = "endpoint-dlq";
  topics = topics_of(source);
  EXPECT_EQ(topics.dead_letters, "sink-dlq");
  EXPECT_EQ(topics.endpoint_dead_letters, "endpoint-dlq");
}

}  // namespace
}  // namespace metersync::pipeline
