// metersync-endpoint: the endpoint service that receives the dispatcher's batches and
// presents them. Secrets are best passed through the environment (they would show in
// `ps` as flags); they are never logged.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "endpoint/endpoint_server.hpp"

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

}  // namespace

// Before the server starts only the option set-up can throw (allocation); std::terminate
// reporting it and ending the process is the outcome wanted there.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  using metersync::endpoint::EndpointServer;
  using metersync::endpoint::ServerOptions;

  ServerOptions options;
  std::string sources = "mssql,oracle,mysql,postgres";
  std::string secret;
  std::string secret_previous;
  std::string ingest_token;
  std::vector<std::string> faults;
  std::string log_level = "info";

  CLI::App app{"metersync-endpoint: receives metersync's change batches, one route per source "
               "database, stores them in SQLite and presents history, meters and a live stream"};
  app.add_option("--bind", options.bind, "address to listen on")
      ->envname("METERSYNC_ENDPOINT_BIND")->capture_default_str();
  app.add_option("--port", options.port, "port to listen on (0 = any free port)")
      ->envname("METERSYNC_ENDPOINT_PORT")->capture_default_str();
  app.add_option("--db", options.db_path, "SQLite database file (created if missing)")
      ->envname("METERSYNC_ENDPOINT_DB")->capture_default_str();
  app.add_option("--sources", sources, "comma-separated source databases, one route each")
      ->envname("METERSYNC_ENDPOINT_SOURCES")->capture_default_str();
  app.add_option("--token", options.read_token, "bearer token required by every read route")
      ->envname("METERSYNC_ENDPOINT_TOKEN");
  app.add_flag("--open-reads", options.open_reads,
               "serve reads and pages without a token (say so on the pages); not with --token")
      ->envname("METERSYNC_ENDPOINT_OPEN_READS");
  app.add_option("--secret", secret,
                 "signing secret (whsec_<base64> or any text): posts must carry a matching "
                 "signature")
      ->envname("METERSYNC_ENDPOINT_SECRET");
  app.add_option("--secret-previous", secret_previous,
                 "the secret being rotated out: signatures under it pass too")
      ->envname("METERSYNC_ENDPOINT_SECRET_PREVIOUS");
  app.add_option("--signature-scheme", options.signature_scheme,
                 "standard (Standard Webhooks), legacy (X-MeterSync-Signature, deprecated) or "
                 "both (either passes)")
      ->envname("METERSYNC_ENDPOINT_SIGNATURE_SCHEME")->capture_default_str();
  int64_t tolerance_s = options.timestamp_tolerance.count();
  app.add_option("--timestamp-tolerance", tolerance_s,
                 "seconds a webhook-timestamp may be away from this clock, either way")
      ->envname("METERSYNC_ENDPOINT_TIMESTAMP_TOLERANCE")->check(CLI::Range(int64_t{1}, int64_t{86400}))
      ->capture_default_str();
  app.add_option("--ingest-token", ingest_token, "bearer token required by posts (optional)")
      ->envname("METERSYNC_ENDPOINT_INGEST_TOKEN");
  app.add_flag("--admin", options.admin, "enable /admin/faults (tests and demos)")
      ->envname("METERSYNC_ENDPOINT_ADMIN");
  app.add_option("--fault", faults,
                 "source=fault at start-up: close | status:<code>[:retry_after=S] | sleep:<ms>, "
                 "each optionally :count=N");
  app.add_option("--threads", options.worker_threads, "HTTP worker threads")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  options.sources = split_list(sources);
  if (!secret.empty()) options.signing_secret = secret;
  if (!secret_previous.empty()) options.signing_secret_previous = secret_previous;
  options.timestamp_tolerance = std::chrono::seconds(tolerance_s);
  if (!ingest_token.empty()) options.ingest_token = ingest_token;

  // Signals are taken by one thread with sigwait, so the server stops from ordinary code.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    EndpointServer server(options);
    for (const auto& item : faults) {
      auto equals = item.find('=');
      auto fault = equals == std::string::npos
                       ? std::unexpected(std::string("--fault expects source=fault"))
                       : metersync::endpoint::parse_fault(item.substr(equals + 1));
      if (!fault) throw std::runtime_error("--fault " + item + ": " + fault.error());
      server.faults().set(item.substr(0, equals), *fault);
    }
    std::thread waiter([&] {
      int signal = 0;
      sigwait(&signals, &signal);
      spdlog::info("signal {}: stopping", signal);
      server.stop();
    });
    spdlog::info("metersync-endpoint listening on {}:{} (db {}, signature check {}, admin {})",
                 options.bind, server.port(), options.db_path,
                 options.signing_secret ? options.signature_scheme : "off",
                 options.admin ? "on" : "off");
    // Tests and scripts read the chosen port from this line when --port 0.
    std::cout << "listening " << server.port() << '\n' << std::flush;
    server.run();
    // run() also returns when the socket fails; wake the waiter so it can be joined. SIGTERM
    // is blocked in every thread, so it ends nothing: the waiter's sigwait() takes it.
    // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
