#include "health/listener.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <system_error>

#include "health/page_assets.hpp"

namespace metersync::health {
namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

using Json = nlohmann::ordered_json;

void answer(httplib::Response& res, int status, const std::string& error) {
  res.status = status;
  res.set_content(Json{{"error", error}}.dump(), "application/json");
}

// Compares every byte whatever the first difference, so the time taken says nothing of the token.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char differ = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    differ |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  return differ == 0;
}

// A request another site's page made: the browser says so in Origin or Sec-Fetch-Site.
bool cross_site(const httplib::Request& req) {
  const std::string fetch_site = req.get_header_value("Sec-Fetch-Site");
  if (!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none") return true;
  // Behind a TLS proxy the page's origin is https://, the host the same.
  const std::string origin = req.get_header_value("Origin");
  const std::string host = req.get_header_value("Host");
  return !origin.empty() && origin != "http://" + host && origin != "https://" + host;
}

}  // namespace

Listener::Listener(const config::ListenAddress& address, Handlers handlers, std::string replay_token)
    : handlers_(std::move(handlers)),
      replay_token_(std::move(replay_token)),
      http_(std::make_unique<httplib::Server>()),
      last_beat_ns_(steady_ns()) {
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
  if (handlers_.operations) install_operations_routes();

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

void Listener::install_operations_routes() {
  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    // The page loads only its own script and style, is never framed, and posts only here.
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                   "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::string(page_asset("operations.html").value_or("")), "text/html; charset=utf-8");
  });
  http_->Get(R"(/assets/([a-z]+\.(js|css)))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const auto asset = page_asset(name);
    if (!asset || name == "operations.html") return answer(res, 404, "no asset " + name);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(*asset), name.ends_with(".js") ? "text/javascript; charset=utf-8"
                                                               : "text/css; charset=utf-8");
  });
  http_->Get("/v1/operations", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(handlers_.operations(), "application/json");
  });
  http_->Post("/v1/replay", [this](const httplib::Request& req, httplib::Response& res) {
    if (replay_token_.empty() || !handlers_.replay) {
      return answer(res, 403, "replay from this page is off: http.replay_token is not set");
    }
    if (cross_site(req)) return answer(res, 403, "refused: the request came from another site");
    // A JSON body: an HTML form of another site cannot send one without asking first (CORS),
    // and the token stays out of the URL.
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      return answer(res, 415, "a JSON body {\"source\": ..., \"token\": ...} expected");
    }
    if (req.body.size() > kMaxReplayBody) return answer(res, 413, "body too large");
    const Json body = Json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("source") || !body["source"].is_string() ||
        !body.contains("token") || !body["token"].is_string()) {
      return answer(res, 400, "a JSON body {\"source\": ..., \"token\": ...} expected");
    }
    if (!same_secret(body["token"].get<std::string>(), replay_token_)) {
      spdlog::warn("operations page: refused a replay with a wrong token from {}", req.remote_addr);
      return answer(res, 401, "wrong replay token");
    }
    const ReplayAnswer replay = handlers_.replay(body["source"].get<std::string>());
    res.status = replay.status;
    res.set_content(replay.body, "application/json");
  });
}

Listener::~Listener() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

void Listener::start() {
  thread_ = std::thread([this] {
    if (!http_->listen_after_bind()) spdlog::error("http listener stopped unexpectedly");
  });
  spdlog::info("http listener on port {}: /metrics /healthz /readyz /status{}", port_,
               handlers_.operations ? ", the operations page at /" : "");
}

void Listener::beat() { last_beat_ns_.store(steady_ns()); }

}  // namespace metersync::health
