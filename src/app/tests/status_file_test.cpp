#include "app/status_file.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace metersync::app {
namespace {

engine::PipelineSnapshot sample() {
  engine::PipelineStatus status("postgres", "postgres.public.meter", "metersync-postgres");
  status.set_state(engine::PipelineState::Running);
  status.add_consumed(12);
  status.add_commit(10, 7, 2, 1, {{0, 40}, {2, 9}});
  status.set_lag(5);
  status.set_error("sink: connection lost");
  return status.snapshot();
}

TEST(StatusFile, RendersEverySourceWithCountsPositionsAndError) {
  StatusFile file("", std::chrono::system_clock::now());
  auto doc = nlohmann::json::parse(file.render({sample()}));
  const auto& pg = doc["sources"]["postgres"];
  EXPECT_EQ(pg["state"], "running");
  EXPECT_EQ(pg["records_consumed"], 12);
  EXPECT_EQ(pg["records_applied"], 10);
  EXPECT_EQ(pg["changes_written"], 7);
  EXPECT_EQ(pg["records_dead_lettered"], 2);
  EXPECT_EQ(pg["tombstones_skipped"], 1);
  EXPECT_EQ(pg["positions"]["0"], 40);
  EXPECT_EQ(pg["positions"]["2"], 9);
  EXPECT_EQ(pg["lag"], 5);
  EXPECT_EQ(pg["last_error"], "sink: connection lost");
  EXPECT_TRUE(pg["last_commit_at"].is_string());
  EXPECT_TRUE(doc["pid"].is_number());
}

TEST(StatusFile, NamesTheInstanceAndThePartitionsAssignedToItPerDestination) {
  engine::PipelineStatus status("postgres", "postgres.public.meter", "metersync-postgres");
  status.set_partitions({0, 2});
  StatusFile file("", std::chrono::system_clock::now(), "mm-2");
  const std::string text =
      file.render({status.snapshot()}, {{"postgres", "metersync-postgres-endpoint", {1}}});
  const auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["instance_id"], "mm-2");
  EXPECT_EQ(doc["sources"]["postgres"]["partitions"], nlohmann::json::array({0, 2}));
  EXPECT_EQ(doc["endpoints"]["postgres"]["group"], "metersync-postgres-endpoint");
  EXPECT_EQ(doc["endpoints"]["postgres"]["partitions"], nlohmann::json::array({1}));
  const std::string table = StatusFile::describe(text, "test");
  EXPECT_NE(table.find("instance mm-2"), std::string::npos);
  EXPECT_NE(table.find("0,2"), std::string::npos);
}

TEST(StatusFile, WritesAtomicallyAndDescribesWhatItWrote) {
  auto dir = std::filesystem::temp_directory_path() / ("metersync-status-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "status.json").string();
  StatusFile file(path, std::chrono::system_clock::now());
  ASSERT_TRUE(file.write({sample()}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::string table = StatusFile::describe_file(path);
  EXPECT_NE(table.find("postgres"), std::string::npos);
  EXPECT_NE(table.find("running"), std::string::npos);
  EXPECT_NE(table.find("sink: connection lost"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(StatusFile, DescribingAMissingFileNamesIt) {
  try {
    StatusFile::describe_file("/nonexistent/metersync-status.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/metersync-status.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace metersync::app
