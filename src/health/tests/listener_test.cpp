#include "health/listener.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

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

}  // namespace
}  // namespace metersync::health
