// Reads Kafka Connect's REST API (connect.url): the registered connectors, one connector's
// status and its configuration. Plain GETs, each bounded by the timeout; nothing is changed.
//
// Errors are values of stage Connect: no answer (kind Transient, the transport's reason),
// or an unexpected HTTP status (http_status set). A connector Connect does not know is not
// an error: status() and config() answer nullopt.
//
// Thread: one client per thread (cpp-httplib's client is not shared).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connect/status.hpp"
#include "core/error.hpp"

namespace metersync::connect {

class Client {
 public:
  Client(std::string url, std::chrono::milliseconds timeout);

  const std::string& url() const { return url_; }

  // GET /connectors: the names of the registered connectors.
  Result<std::vector<std::string>> connectors() const;
  // GET /connectors/<name>/status; nullopt when not registered (404).
  Result<std::optional<ConnectorStatus>> status(const std::string& name) const;
  // GET /connectors/<name>/config; nullopt when not registered (404).
  Result<std::optional<std::map<std::string, std::string>>> config(const std::string& name) const;

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  Result<Answer> get(const std::string& path) const;

  std::string url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace metersync::connect
