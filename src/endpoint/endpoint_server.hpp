// The endpoint service's HTTP server: one ingest route per source database and the
// read routes that present what was received (docs/endpoints.md).
//
// Threads: httplib runs each connection on a worker of its pool; the Store and the
// FaultTable are the only shared state and lock themselves.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "endpoint/fault_table.hpp"
#include "endpoint/store.hpp"

namespace httplib {
class Server;
struct Request;
}

namespace metersync::endpoint {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 58080;                 // 0 picks a free port (tests)
  std::string db_path = "metersync-endpoint.db";
  std::vector<std::string> sources = {"mssql", "oracle", "mysql", "postgres"};
  // Signature check (wire/webhook_signature.hpp), on when signing_secret is set: posts signed
  // with it, or with signing_secret_previous during a rotation, pass.
  std::optional<std::string> signing_secret;
  std::optional<std::string> signing_secret_previous;
  std::string signature_scheme = "standard";  // standard | legacy (deprecated) | both
  std::chrono::seconds timestamp_tolerance{300};  // webhook-timestamp this far from now, at most
  std::string read_token;                     // Bearer token for every read route and page
  // Reads and pages without a token (a service on a private machine); refused with one set.
  bool open_reads = false;
  std::optional<std::string> ingest_token;    // Bearer token for POSTs when set
  bool admin = false;                         // enables /admin/faults (tests, demos)
  std::size_t max_body_bytes = 16 << 20;
  int worker_threads = 32;                    // live streams hold a worker each
};

class EndpointServer {
 public:
  // Opens the store and binds the port; throws std::runtime_error naming the fix.
  explicit EndpointServer(ServerOptions options);
  ~EndpointServer();
  EndpointServer(const EndpointServer&) = delete;
  EndpointServer& operator=(const EndpointServer&) = delete;

  int port() const { return port_; }
  FaultTable& faults() { return faults_; }
  // Serves until stop() is called from another thread (or a signal handler thread).
  void run();
  void stop();

 private:
  struct Verifier;  // the parsed keys (src/wire stays out of this header)
  void install_routes();
  void install_page_routes();
  // The read token in the Authorization header or the pages' cookie (or open reads).
  bool may_read(const httplib::Request& req) const;

  ServerOptions options_;
  std::unique_ptr<Verifier> verifier_;  // null: posts are not checked
  Store store_;
  FaultTable faults_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
};

}  // namespace metersync::endpoint
