// The server in this process on a free port, spoken to over real HTTP.
#include "endpoint/endpoint_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "wire/signature.hpp"

namespace metersync::endpoint {
namespace {

using Json = nlohmann::json;

std::string batch_body(const std::string& source, const std::string& batch_id,
                       const std::vector<std::pair<std::string, std::string>>& id_and_meter) {
  Json events = Json::array();
  for (const auto& [id, meter] : id_and_meter) {
    events.push_back({{"id", id}, {"op", "update"}, {"committed_at", "2026-11-24T19:43:00.123Z"},
                      {"position", id}, {"meter", {{"sourceSystem", source}, {"sourceMeterId", meter}}},
                      {"before", nullptr}, {"after", {{"serial", "S-1"}}}});
  }
  return Json{{"source", source}, {"batch_id", batch_id}, {"events", events}}.dump();
}

class EndpointServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("endpoint-server-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ServerOptions options;
    options.port = 0;
    options.db_path = (dir_ / "endpoint.db").string();
    options.signing_secret = "s3cret";
    options.read_token = "reader";
    options.admin = true;
    options.worker_threads = 8;
    server_ = std::make_unique<EndpointServer>(options);
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
    reader_ = {{"Authorization", "Bearer reader"}};
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  httplib::Result post(const std::string& source, const std::string& body,
                       std::optional<std::string> signature = std::nullopt) {
    httplib::Headers headers = {
        {"X-MeterSync-Signature", signature.value_or(wire::signature_header("s3cret", body))}};
    return client_->Post(("/v1/sources/" + source + "/changes").c_str(), headers, body,
                         "application/json");
  }

  std::filesystem::path dir_;
  std::unique_ptr<EndpointServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  httplib::Headers reader_;
};

TEST_F(EndpointServerTest, HealthNeedsNoToken) {
  auto res = client_->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Json::parse(res->body)["status"], "ok");
}

TEST_F(EndpointServerTest, StoresSignedBatchesAndDropsDuplicates) {
  auto body = batch_body("postgres", "postgres-0-0", {{"e1", "m1"}, {"e2", "m2"}});
  auto first = post("postgres", body);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(Json::parse(first->body)["accepted"], 2);
  auto again = post("postgres", body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(Json::parse(again->body)["duplicates"], 2);
  EXPECT_EQ(Json::parse(again->body)["batch_seen_before"], true);

  auto history = client_->Get("/v1/sources/postgres/changes?limit=1", reader_);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->status, 200);
  auto page = Json::parse(history->body);
  ASSERT_EQ(page["changes"].size(), 1u);
  EXPECT_EQ(page["changes"][0]["event"]["id"], "e1");
  EXPECT_EQ(page["has_more"], true);
  EXPECT_EQ(page["total"], 2);
  auto next = client_->Get(
      ("/v1/sources/postgres/changes?after=" + page["next_cursor"].get<std::string>()).c_str(),
      reader_);
  ASSERT_TRUE(next);
  auto page2 = Json::parse(next->body);
  ASSERT_EQ(page2["changes"].size(), 1u);
  EXPECT_EQ(page2["changes"][0]["event"]["id"], "e2");
  EXPECT_EQ(page2["has_more"], false);

  auto meter = client_->Get("/v1/sources/postgres/meters/m2", reader_);
  ASSERT_TRUE(meter);
  ASSERT_EQ(meter->status, 200);
  EXPECT_EQ(Json::parse(meter->body)["meter"]["sourceMeterId"], "m2");
  auto meters = client_->Get("/v1/sources/postgres/meters", reader_);
  ASSERT_TRUE(meters);
  EXPECT_EQ(Json::parse(meters->body)["meters"].size(), 2u);
  EXPECT_EQ(client_->Get("/v1/sources/postgres/meters/nope", reader_)->status, 404);
  EXPECT_EQ(Json::parse(client_->Get("/v1/sources/mysql/changes", reader_)->body)["total"], 0);
}

TEST_F(EndpointServerTest, RejectsAlteredBodiesBadBatchesAndUnknownRoutes) {
  auto body = batch_body("postgres", "postgres-0-0", {{"e1", "m1"}});
  const std::string signature = wire::signature_header("s3cret", body);
  std::string altered = body;
  altered.replace(altered.find("S-1"), 3, "S-2");
  auto tampered = post("postgres", altered, signature);
  ASSERT_TRUE(tampered);
  EXPECT_EQ(tampered->status, 401);
  auto unsigned_post = post("postgres", body, "");
  EXPECT_EQ(unsigned_post->status, 401);
  auto wrong_route = post("mysql", body);
  EXPECT_EQ(wrong_route->status, 400);
  EXPECT_NE(Json::parse(wrong_route->body)["error"].get<std::string>().find("route of \"mysql\""),
            std::string::npos);
  EXPECT_EQ(post("nosuch", body)->status, 404);
  EXPECT_EQ(Json::parse(client_->Get("/v1/sources/postgres/changes", reader_)->body)["total"], 0);
}

TEST_F(EndpointServerTest, ReadsNeedTheToken) {
  EXPECT_EQ(client_->Get("/v1/sources/postgres/changes")->status, 401);
  EXPECT_EQ(client_->Get("/v1/sources/postgres/meters", {{"Authorization", "Bearer nope"}})->status,
            401);
  EXPECT_EQ(client_->Get("/admin/faults")->status, 401);
}

TEST_F(EndpointServerTest, InjectsFaultsPerSource) {
  auto set = client_->Put("/admin/faults/postgres", reader_, "status:429:retry_after=3:count=1",
                          "text/plain");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200) << set->body;
  auto body = batch_body("postgres", "postgres-0-0", {{"e1", "m1"}});
  auto limited = post("postgres", body);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "3");
  EXPECT_EQ(post("postgres", body)->status, 200);  // count=1 used up

  client_->Put("/admin/faults/postgres", reader_, "close", "text/plain");
  auto broken = post("postgres", body);
  EXPECT_FALSE(broken && broken->status == 200);
  // Another source is not affected.
  EXPECT_EQ(post("mysql", batch_body("mysql", "mysql-0-0", {{"x", "m"}}))->status, 200);
  EXPECT_EQ(client_->Delete("/admin/faults/postgres", reader_)->status, 200);
  EXPECT_EQ(post("postgres", body)->status, 200);
  EXPECT_EQ(client_->Put("/admin/faults/postgres", reader_, "bogus", "text/plain")->status, 400);
}

TEST_F(EndpointServerTest, StreamsNewChanges) {
  std::string received;
  std::thread reader([&] {
    httplib::Client stream("127.0.0.1", server_->port());
    stream.set_read_timeout(20, 0);
    stream.Get("/v1/sources/postgres/stream?after=0", reader_,
               [&](const char* data, size_t length) {
                 received.append(data, length);
                 return received.find("\"id\":\"e2\"") == std::string::npos;
               });
  });
  ASSERT_EQ(post("postgres", batch_body("postgres", "b1", {{"e1", "m1"}}))->status, 200);
  ASSERT_EQ(post("mysql", batch_body("mysql", "b1", {{"x1", "m1"}}))->status, 200);
  ASSERT_EQ(post("postgres", batch_body("postgres", "b2", {{"e2", "m1"}}))->status, 200);
  reader.join();
  EXPECT_NE(received.find("event: change\ndata: {"), std::string::npos) << received;
  EXPECT_NE(received.find("\"id\":\"e1\""), std::string::npos) << received;
  EXPECT_NE(received.find("\"id\":\"e2\""), std::string::npos);
  EXPECT_EQ(received.find("\"id\":\"x1\""), std::string::npos);
}

}  // namespace
}  // namespace metersync::endpoint
