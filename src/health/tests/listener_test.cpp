#include "health/listener.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace metersync::health {
namespace {

// A free loopback port: bind a socket to port 0, read the port, close it.
int free_port() {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(sock);
  return ntohs(address.sin_port);
}

Handlers handlers(std::atomic<bool>& ready) {
  return Handlers{
      .metrics = [] { return std::string("metersync_up 1\n"); },
      .ready = [&ready] { return ready.load(); },
      .ready_body = [&ready] { return std::string(ready ? R"({"ready":true})" : R"({"ready":false})"); },
      .status = [] { return std::string(R"({"sources":{}})"); },
      .operations = {},
      .replay = {},
  };
}

TEST(Listener, ServesMetricsHealthReadinessAndStatus) {
  std::atomic<bool> ready{false};
  const int port = free_port();
  Listener listener({"127.0.0.1", port}, handlers(ready));
  listener.start();
  httplib::Client client("127.0.0.1", port);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->body, "metersync_up 1\n");
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");

  auto healthz = client.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);

  auto readyz = client.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 503);
  EXPECT_EQ(readyz->body, R"({"ready":false})");
  ready = true;
  readyz = client.Get("/readyz");
  EXPECT_EQ(readyz->status, 200);

  auto status = client.Get("/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->body, R"({"sources":{}})");
  EXPECT_EQ(client.Get("/nothing")->status, 404);
}

TEST(Listener, AnAddressInUseNamesTheKeyAndTheFix) {
  std::atomic<bool> ready{true};
  const int port = free_port();
  Listener first({"127.0.0.1", port}, handlers(ready));
  try {
    Listener second({"127.0.0.1", port}, handlers(ready));
    FAIL() << "a second listener bound the same port";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("http.listen: cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
        << message;
    EXPECT_NE(message.find("in use"), std::string::npos) << message;
    EXPECT_NE(message.find("set http.listen to a free host:port"), std::string::npos) << message;
  }
}

TEST(Listener, AHostThatIsNotLocalIsRefused) {
  std::atomic<bool> ready{true};
  // TEST-NET-1 (RFC 5737): never an address of this machine.
  EXPECT_THROW(Listener({"192.0.2.1", free_port()}, handlers(ready)), ConfigError);
}

TEST(Listener, StopsWithAKeepAliveClientConnected) {
  std::atomic<bool> ready{true};
  const int port = free_port();
  auto listener = std::make_unique<Listener>(config::ListenAddress{"127.0.0.1", port}, handlers(ready));
  listener->start();
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/metrics"));
  listener.reset();  // would hang (and time the test out) if an idle keep-alive held it
  EXPECT_FALSE(client.Get("/metrics")) << "nothing answers after the listener stopped";
}

// A listener with the operations page, recording the replays it was asked for.
struct OperationsListener {
  std::atomic<bool> ready{true};
  // Written by the listener's thread: the reply to the POST follows the write, but a socket
  // is no synchronisation ThreadSanitizer can see, so the test reads it under the lock.
  std::mutex mutex;
  std::vector<std::string> asked;
  int port = free_port();
  std::unique_ptr<Listener> listener;

  explicit OperationsListener(const std::string& token) {
    Handlers h = handlers(ready);
    h.operations = [] { return std::string(R"({"sources":[]})"); };
    h.replay = [this](const std::string& source) {
      const std::lock_guard lock(mutex);
      asked.push_back(source);
      return ReplayAnswer{202, R"({"state":"running"})"};
    };
    listener = std::make_unique<Listener>(config::ListenAddress{"127.0.0.1", port}, std::move(h), token);
    listener->start();
  }
  std::vector<std::string> replays() {
    const std::lock_guard lock(mutex);
    return asked;
  }
  httplib::Result replay(const std::string& body, httplib::Headers headers = {},
                         const std::string& type = "application/json", const std::string& path = "/v1/replay") {
    httplib::Client client("127.0.0.1", port);
    return client.Post(path, headers, body, type);
  }
};

TEST(Listener, ServesTheOperationsPageItsAssetsAndItsData) {
  OperationsListener ops("");
  httplib::Client client("127.0.0.1", ops.port);
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("/assets/operations.js"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Content-Security-Policy").find("unsafe-inline"), std::string::npos);
  for (const char* asset : {"/assets/operations.js", "/assets/app.css"}) {
    auto res = client.Get(asset);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << asset;
    EXPECT_GT(res->body.size(), 100u) << asset;
  }
  EXPECT_EQ(client.Get("/assets/shell.js")->status, 404);
  EXPECT_EQ(client.Get("/v1/operations")->body, R"({"sources":[]})");
}

TEST(Listener, WithoutAReplayTokenReplayIsOffAndSaysWhy) {
  OperationsListener ops("");
  auto res = ops.replay(R"({"source":"postgres","token":""})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_NE(res->body.find("http.replay_token is not set"), std::string::npos) << res->body;
  EXPECT_TRUE(ops.replays().empty());
}

TEST(Listener, ReplayNeedsTheTokenInAJsonBodyFromThisSite) {
  OperationsListener ops("s3cret-token");
  EXPECT_EQ(ops.replay(R"({"source":"postgres","token":"wrong"})")->status, 401);
  EXPECT_EQ(ops.replay(R"({"source":"postgres","token":"s3cret-toke"})")->status, 401);
  EXPECT_EQ(ops.replay(R"({"source":"postgres"})")->status, 400);
  EXPECT_EQ(ops.replay("not json")->status, 400);
  // The token in the URL (where logs keep it) is never read; nor is a form another site could post.
  EXPECT_EQ(ops.replay(R"({"source":"postgres"})", {}, "application/json", "/v1/replay?token=s3cret-token")->status,
            400);
  EXPECT_EQ(ops.replay("source=postgres&token=s3cret-token", {}, "application/x-www-form-urlencoded")->status, 415);
  // Another site's page, even one that knows the token.
  const std::string right = R"({"source":"postgres","token":"s3cret-token"})";
  EXPECT_EQ(ops.replay(right, {{"Origin", "http://evil.example"}})->status, 403);
  EXPECT_EQ(ops.replay(right, {{"Sec-Fetch-Site", "cross-site"}})->status, 403);
  EXPECT_TRUE(ops.replays().empty());

  auto res = ops.replay(right, {{"Origin", "http://127.0.0.1:" + std::to_string(ops.port)},
                                {"Sec-Fetch-Site", "same-origin"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, R"({"state":"running"})");
  EXPECT_EQ(ops.replays(), std::vector<std::string>{"postgres"});
}

TEST(Listener, WithoutOperationsHandlersThereIsNoPage) {
  std::atomic<bool> ready{true};
  const int port = free_port();
  Listener listener({"127.0.0.1", port}, handlers(ready), "token");
  listener.start();
  httplib::Client client("127.0.0.1", port);
  EXPECT_EQ(client.Get("/")->status, 404);
  EXPECT_EQ(client.Post("/v1/replay", R"({"source":"x","token":"token"})", "application/json")->status, 404);
}

}  // namespace
}  // namespace metersync::health
