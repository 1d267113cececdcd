// The operator's HTTP listener of `metersync run` (http.listen):
//   GET /metrics  the Prometheus text exposition
//   GET /healthz  200 while the supervisor's thread answers (it beats every second), else 503
//   GET /readyz   200 when every destination is progressing, else 503; JSON naming each one
//   GET /status   the status JSON (the status file's format), for `metersync status`
//   GET /         the operations page (pages/, embedded at build time; docs/operating.md),
//                 which reads GET /v1/operations and posts POST /v1/replay
//
// Replay needs http.replay_token in a JSON body ({"source", "token"}): never in the URL, so
// never in a proxy's log; no cookie either, so another site's page has nothing to borrow, and
// a cross-site request (Origin or Sec-Fetch-Site says so) is refused before the token is read.
//
// Threads: cpp-httplib's, two workers (a scrape and a probe at once); the handlers only
// copy state the pipelines publish, so a slow or stuck client never holds a pipeline back.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"

namespace httplib {
class Server;
}

namespace metersync::health {

// What a replay request is answered: an HTTP status and a JSON body.
struct ReplayAnswer {
  int status = 202;
  std::string body;
};

struct Handlers {
  std::function<std::string()> metrics;  // the exposition text
  std::function<bool()> ready;           // /readyz's status
  std::function<std::string()> ready_body;
  std::function<std::string()> status;   // the status JSON
  std::function<std::string()> operations;  // the operations page's JSON; unset: no page
  // Starts replaying the source's endpoint dead letters; called only with the right token.
  std::function<ReplayAnswer(const std::string& source)> replay;
};

class Listener {
 public:
  // Binds at once: an address in use or not available throws ConfigError naming
  // http.listen and the fix. Serves from start() on.
  // `replay_token`: http.replay_token; "" turns POST /v1/replay away (403, saying why).
  Listener(const config::ListenAddress& address, Handlers handlers, std::string replay_token = {});
  ~Listener();  // stops and joins
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  static constexpr std::size_t kMaxReplayBody = 4096;
  // The supervisor's heartbeat: /healthz fails when none came for `kHealthyWithin`.
  void beat();
  int port() const { return port_; }

  static constexpr std::chrono::seconds kHealthyWithin{10};

 private:
  void install_operations_routes();

  Handlers handlers_;
  std::string replay_token_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int64_t> last_beat_ns_;
};

}  // namespace metersync::health
