#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "connect/client.hpp"
#include "connect/status.hpp"

namespace metersync::connect {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFailedTask = R"({"name":"pg","connector":{"state":"RUNNING","worker_id":"w:1"},
  "tasks":[{"id":1,"state":"RUNNING","worker_id":"w:1"},
           {"id":0,"state":"FAILED","worker_id":"w:1",
            "trace":"org.apache.kafka.connect.errors.ConnectException: boom\n\tat x.y(Z.java:1)\n"}],
  "type":"source"})";

TEST(ConnectStatus, ReadsTheConnectorAndItsTasksInIdOrder) {
  const auto status = parse_status(kFailedTask);
  ASSERT_TRUE(status) << status.error().describe();
  EXPECT_EQ(status->name, "pg");
  EXPECT_EQ(status->state, "RUNNING");
  ASSERT_EQ(status->tasks.size(), 2U);
  EXPECT_EQ(status->tasks[0].id, 0);
  EXPECT_EQ(status->tasks[0].state, "FAILED");
  EXPECT_EQ(status->tasks[0].trace, "org.apache.kafka.connect.errors.ConnectException: boom");
  EXPECT_EQ(status->tasks[1].trace, "");
}

TEST(ConnectStatus, NamesWhatIsNotRunning) {
  const auto failed = problems(*parse_status(kFailedTask));
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].task, 0);
  EXPECT_EQ(failed[0].describe(), "task 0 is FAILED (org.apache.kafka.connect.errors.ConnectException: boom)");

  const auto paused = problems(*parse_status(
      R"({"name":"pg","connector":{"state":"PAUSED"},"tasks":[{"id":0,"state":"PAUSED"}]})"));
  ASSERT_EQ(paused.size(), 2U);
  EXPECT_FALSE(paused[0].task);
  EXPECT_EQ(paused[0].describe(), "is PAUSED");
  EXPECT_EQ(paused[1].describe(), "task 0 is PAUSED");

  const auto no_task = problems(*parse_status(R"({"name":"pg","connector":{"state":"RUNNING"},"tasks":[]})"));
  ASSERT_EQ(no_task.size(), 1U);
  EXPECT_EQ(no_task[0].describe(), "has no task");

  EXPECT_TRUE(problems(*parse_status(
                           R"({"name":"pg","connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"RUNNING"}]})"))
                  .empty());
}

TEST(ConnectStatus, RefusesABodyThatIsNoStatus) {
  for (const char* body : {"", "[]", "{}", R"({"connector":"RUNNING"})", "<html>"}) {
    const auto status = parse_status(body);
    ASSERT_FALSE(status) << body;
    EXPECT_EQ(status.error().stage, Stage::Connect);
    EXPECT_EQ(status.error().kind, ErrorKind::Transient);
  }
}

// A stand-in for Kafka Connect's REST API on a loopback port.
class FakeConnect : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/connectors", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"(["pg","maria"])", "application/json");
    });
    server_.Get("/connectors/pg/status", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kFailedTask, "application/json");
    });
    server_.Get("/connectors/pg/config", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"publication.name":"pub","tasks.max":"1"})", "application/json");
    });
    server_.Get("/connectors/broken/status", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content(R"({"error_code":500})", "application/json");
    });
    server_.Get(R"(/connectors/missing/.*)", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"error_code":404,"message":"No status found for connector missing"})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(10ms);
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(FakeConnect, ReadsConnectorsStatusAndConfig) {
  const Client client(url(), 2s);
  const auto names = client.connectors();
  ASSERT_TRUE(names) << names.error().describe();
  EXPECT_EQ(*names, (std::vector<std::string>{"pg", "maria"}));

  const auto status = client.status("pg");
  ASSERT_TRUE(status.has_value()) << status.error().describe();
  const std::optional<ConnectorStatus>& found = *status;
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->tasks[0].state, "FAILED");

  const auto config = client.config("pg");
  ASSERT_TRUE(config.has_value()) << config.error().describe();
  const auto& settings = *config;
  ASSERT_TRUE(settings.has_value());
  EXPECT_EQ(settings->at("publication.name"), "pub");
}

TEST_F(FakeConnect, AnUnknownConnectorIsNoErrorButNothing) {
  const Client client(url(), 2s);
  const auto status = client.status("missing");
  ASSERT_TRUE(status) << status.error().describe();
  EXPECT_FALSE(*status);
  const auto config = client.config("missing");
  ASSERT_TRUE(config);
  EXPECT_FALSE(*config);
}

TEST_F(FakeConnect, AnErrorStatusIsAnErrorWithIt) {
  const auto status = Client(url(), 2s).status("broken");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().http_status, 500);
  EXPECT_EQ(status.error().stage, Stage::Connect);
}

TEST(ConnectClient, NoAnswerIsATransientError) {
  // Nothing listens on port 9 of loopback (discard) on a test machine; the refusal is at once.
  const auto names = Client("http://127.0.0.1:9", 1s).connectors();
  ASSERT_FALSE(names);
  EXPECT_EQ(names.error().kind, ErrorKind::Transient);
  EXPECT_NE(names.error().reason.find("no answer from http://127.0.0.1:9"), std::string::npos)
      << names.error().reason;
}

}  // namespace
}  // namespace metersync::connect
