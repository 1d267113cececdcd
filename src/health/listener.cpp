#include "health/listener.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <system_error>

namespace metersync::health {
namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Listener::Listener(const config::ListenAddress& address, Handlers handlers)
    : handlers_(std::move(handlers)), http_(std::make_unique<httplib::Server>()), last_beat_ns_(steady_ns()) {
  http_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  http_->set_keep_alive_timeout(5);  // so stopping never waits long for an idle scraper
  http_->set_tcp_nodelay(true);
  // cpp-httplib sets SO_REUSEPORT by default, which lets a second metersync bind the same
  // port and take half the scrapes; SO_REUSEADDR alone still allows a quick restart.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const auto silent = std::chrono::nanoseconds(steady_ns() - last_beat_ns_.load());
    if (silent < kHealthyWithin) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("the supervisor thread has not answered for " +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(silent).count()) +
                          " s\n",
                      "text/plain");
    }
  });
  http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    res.status = handlers_.ready() ? 200 : 503;
    res.set_content(handlers_.ready_body(), "application/json");
  });
  http_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.status(), "application/json");
  });

  const std::string where = address.host + ":" + std::to_string(address.port);
  errno = 0;
  if (!http_->bind_to_port(address.host, address.port)) {
    // std::strerror may hand back a buffer shared by every thread of the process, and the
    // listener is a part of a threaded daemon; the category's message is built per call.
    const int bind_errno = errno;
    const std::string why = bind_errno == EADDRINUSE ? "the address is in use (another metersync?)"
                            : bind_errno != 0        ? std::generic_category().message(bind_errno)
                                                     : "the host does not resolve to a local address";
    throw ConfigError("http.listen: cannot listen on " + where + ": " + why +
                      "; set http.listen to a free host:port, or \"\" for no listener");
  }
  port_ = address.port;
}

Listener::~Listener() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

void Listener::start() {
  thread_ = std::thread([this] {
    if (!http_->listen_after_bind()) spdlog::error("http listener stopped unexpectedly");
  });
  spdlog::info("http listener on port {}: /metrics /healthz /readyz /status", port_);
}

void Listener::beat() { last_beat_ns_.store(steady_ns()); }

}  // namespace metersync::health
