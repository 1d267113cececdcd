// A PostgreSQL or MariaDB server started for this test process in a temp dir on a free
// 127.0.0.1 port (throwaway_server.sh), stopped and deleted when the process ends.
#pragma once

#include <filesystem>
#include <string>

namespace metersync::sink::testing {

class ThrowawayServer {
 public:
  // Starts the server on first use; later calls return the same one.
  static ThrowawayServer& get(const std::string& kind);  // "postgres" | "mariadb"
  static void stop_all();

  ~ThrowawayServer();
  ThrowawayServer(const ThrowawayServer&) = delete;
  ThrowawayServer& operator=(const ThrowawayServer&) = delete;

  bool running() const { return running_; }
  // Why the server is not running: binaries absent (skip) or start failure (fail).
  const std::string& problem() const { return problem_; }
  bool binaries_missing() const { return missing_; }
  const std::string& connection_string() const { return connection_; }

 private:
  explicit ThrowawayServer(std::string kind);
  void stop();

  std::string kind_;
  std::filesystem::path dir_;
  int port_ = 0;
  bool running_ = false;
  bool missing_ = false;
  std::string problem_;
  std::string connection_;
};

}  // namespace metersync::sink::testing
