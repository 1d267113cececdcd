// The sender and the deliverer against the real endpoint service, in this process.
#include "dispatch/http_sender.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "dispatch/batch_deliverer.hpp"
#include "endpoint/endpoint_server.hpp"
#include "endpoint/fault_table.hpp"
#include "wire/signature.hpp"

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;

std::string body(const std::string& batch_id, const std::string& event_id) {
  return R"({"source":"postgres","batch_id":")" + batch_id + R"(","events":[{"id":")" + event_id +
         R"(","op":"create","committed_at":"2026-11-24T19:43:00.123Z","position":"p","meter":null,"before":null,"after":{"a":1}}]})";
}

class HttpSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dispatch-sender-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    endpoint::ServerOptions options;
    options.port = 0;
    options.db_path = (dir_ / "endpoint.db").string();
    options.signing_secret = "s3cret";
    options.read_token = "reader";
    options.ingest_token = "poster";
    options.worker_threads = 4;
    server_ = std::make_unique<endpoint::EndpointServer>(options);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  SenderSettings settings() const {
    SenderSettings s;
    s.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/sources/postgres/changes";
    s.authorization = "Bearer poster";
    s.signing_secret = "s3cret";
    s.connect_timeout = 1000ms;
    s.request_timeout = 1000ms;
    return s;
  }
  void fault(const std::string& text) { server_->faults().set("postgres", *endpoint::parse_fault(text)); }

  std::filesystem::path dir_;
  std::unique_ptr<endpoint::EndpointServer> server_;
  std::thread thread_;
};

TEST_F(HttpSenderTest, PostsSignedBatchesOverOneConnection) {
  HttpSender sender(settings());
  for (int i = 0; i < 3; ++i) {
    auto result = sender.post(body("b" + std::to_string(i), "e" + std::to_string(i)), "b" + std::to_string(i));
    ASSERT_FALSE(result.transport_error) << *result.transport_error;
    EXPECT_EQ(result.status, 200) << result.body_excerpt;
    EXPECT_EQ(classify(result), Verdict::Delivered);
  }
  EXPECT_EQ(sender.connections_opened(), 1);
  auto again = sender.post(body("b0", "e0"), "b0");
  EXPECT_EQ(nlohmann::json::parse(again.body_excerpt)["duplicates"], 1);
}

TEST_F(HttpSenderTest, SignatureAndAuthAreChecked) {
  auto wrong_secret = settings();
  wrong_secret.signing_secret = "guess";
  auto rejected = HttpSender(wrong_secret).post(body("b", "e"), "b");
  EXPECT_EQ(rejected.status, 401);
  EXPECT_EQ(classify(rejected), Verdict::DeadLetter);
  EXPECT_EQ(rejected.describe().find("guess"), std::string::npos);  // secrets stay out
  auto no_auth = settings();
  no_auth.authorization.reset();
  EXPECT_EQ(HttpSender(no_auth).post(body("b", "e"), "b").status, 401);
  EXPECT_EQ(wire::signature_header("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(HttpSenderTest, SignsBySchemeAndRotation) {
  // The service checks Standard Webhooks: the legacy header alone is refused, both pass.
  auto legacy = settings();
  legacy.signature_scheme = "legacy";
  EXPECT_EQ(HttpSender(legacy).post(body("l", "e-l"), "l").status, 401);
  auto both = settings();
  both.signature_scheme = "both";
  EXPECT_EQ(HttpSender(both).post(body("b2", "e-b2"), "b2").status, 200);
  // A rotation: the new secret current, the service's still on the previous one.
  auto rotating = settings();
  rotating.signing_secret = "whsec_bmV3LXNlY3JldA==";
  rotating.signing_secret_previous = "s3cret";
  EXPECT_EQ(HttpSender(rotating).post(body("r1", "e-r1"), "r1").status, 200);
  // After the overlap the previous secret signs no more.
  rotating.signing_secret_previous_until = std::chrono::system_clock::now() - 1s;
  EXPECT_EQ(HttpSender(rotating).post(body("r2", "e-r2"), "r2").status, 401);
  rotating.signing_secret_previous_until = std::chrono::system_clock::now() + 1h;
  EXPECT_EQ(HttpSender(rotating).post(body("r3", "e-r3"), "r3").status, 200);
  auto broken = settings();
  broken.signing_secret = "whsec_***";
  EXPECT_THROW(HttpSender{broken}, std::runtime_error);
}

TEST_F(HttpSenderTest, ReportsEveryFailureKind) {
  HttpSender sender(settings());
  fault("status:429:retry_after=7:count=1");
  auto limited = sender.post(body("b", "e"), "b");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.retry_after, " 7");
  EXPECT_EQ(classify(limited), Verdict::Retry);

  fault("close:count=1");
  auto closed = sender.post(body("b", "e"), "b");
  ASSERT_TRUE(closed.transport_error);
  EXPECT_EQ(classify(closed), Verdict::Retry);

  fault("sleep:3000:count=1");
  auto slow = sender.post(body("b", "e"), "b");
  ASSERT_TRUE(slow.transport_error);
  EXPECT_TRUE(slow.timed_out);

  fault("status:400:count=1");
  auto bad = sender.post(body("b", "e"), "b");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(classify(bad), Verdict::DeadLetter);

  auto nowhere = settings();
  nowhere.url = "http://127.0.0.1:1/v1/sources/postgres/changes";
  auto refused = HttpSender(nowhere).post(body("b", "e"), "b");
  ASSERT_TRUE(refused.transport_error);
  EXPECT_FALSE(refused.timed_out);
}

TEST_F(HttpSenderTest, DelivererRetriesThenDeliversOrDeadLetters) {
  HttpSender sender(settings());
  std::atomic<bool> stopping{false};
  int retries = 0;
  BatchDeliverer deliverer(
      [&](const std::string& b, const std::string& id) { return sender.post(b, id); },
      RetryPolicy({1ms, 20ms, 4}, 3), stopping,
      [&](const AttemptResult&, int, std::chrono::milliseconds) { ++retries; });

  fault("status:503:count=2");
  auto delivered = deliverer.deliver(body("b1", "e1"), "b1");
  EXPECT_EQ(delivered.kind, DeliveryOutcome::Kind::Delivered);
  EXPECT_EQ(delivered.attempts, 3);
  EXPECT_EQ(retries, 2);

  fault("status:400:count=1");
  auto refused = deliverer.deliver(body("b2", "e2"), "b2");
  EXPECT_EQ(refused.kind, DeliveryOutcome::Kind::DeadLetter);
  EXPECT_EQ(refused.attempts, 1);
  EXPECT_NE(refused.last_error.find("HTTP 400"), std::string::npos);

  fault("status:500");
  auto exhausted = deliverer.deliver(body("b3", "e3"), "b3");
  EXPECT_EQ(exhausted.kind, DeliveryOutcome::Kind::DeadLetter);
  EXPECT_EQ(exhausted.attempts, 4);
  EXPECT_EQ(exhausted.last_error.rfind("gave up after 4 attempts; last: HTTP 500", 0), 0u)
      << exhausted.last_error;

  stopping = true;
  EXPECT_EQ(deliverer.deliver(body("b4", "e4"), "b4").kind, DeliveryOutcome::Kind::Stopped);
}

}  // namespace
}  // namespace metersync::dispatch
