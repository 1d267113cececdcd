// The operator's HTTP listener of `metersync run` (http.listen):
//   GET /metrics  the Prometheus text exposition
//   GET /healthz  200 while the supervisor's thread answers (it beats every second), else 503
//   GET /readyz   200 when every destination is progressing, else 503; JSON naming each one
//   GET /status   the status JSON (the status file's format), for `metersync status`
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

struct Handlers {
  std::function<std::string()> metrics;  // the exposition text
  std::function<bool()> ready;           // /readyz's status
  std::function<std::string()> ready_body;
  std::function<std::string()> status;   // the status JSON
};

class Listener {
 public:
  // Binds at once: an address in use or not available throws ConfigError naming
  // http.listen and the fix. Serves from start() on.
  Listener(const config::ListenAddress& address, Handlers handlers);
  ~Listener();  // stops and joins
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // The supervisor's heartbeat: /healthz fails when none came for `kHealthyWithin`.
  void beat();
  int port() const { return port_; }

  static constexpr std::chrono::seconds kHealthyWithin{10};

 private:
  Handlers handlers_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int64_t> last_beat_ns_;
};

}  // namespace metersync::health
