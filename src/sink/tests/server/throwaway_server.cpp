#include "throwaway_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

namespace metersync::sink::testing {
namespace {

const std::string kScript =
    std::string(METERSYNC_SOURCE_DIR) + "/src/sink/tests/server/throwaway_server.sh";

// A port nobody listens on now: bind port 0 and read what the kernel picked.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::unique_ptr<ThrowawayServer>>& servers() {
  static std::map<std::string, std::unique_ptr<ThrowawayServer>> instances;
  return instances;
}

// Stops every server after the last test, also when tests failed.
class StopServers : public ::testing::Environment {
 public:
  void TearDown() override { ThrowawayServer::stop_all(); }
};
const auto* const kStopServers = ::testing::AddGlobalTestEnvironment(new StopServers);

}  // namespace

ThrowawayServer& ThrowawayServer::get(const std::string& kind) {
  auto& all = servers();
  auto it = all.find(kind);
  if (it == all.end())
    it = all.emplace(kind, std::unique_ptr<ThrowawayServer>(new ThrowawayServer(kind))).first;
  return *it->second;
}

void ThrowawayServer::stop_all() { servers().clear(); }

ThrowawayServer::ThrowawayServer(std::string kind) : kind_(std::move(kind)) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("metersync-sink-" + kind_ + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    problem_ = "cannot create a temp dir";
    return;
  }
  dir_ = pattern;
  std::filesystem::permissions(
      dir_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                std::filesystem::perms::others_exec);
  port_ = free_port();
  const std::filesystem::path log = dir_ / "start.log";
  const std::string command = kScript + " start " + kind_ + " " + dir_.string() + " " +
                              std::to_string(port_) + " >" + log.string() + " 2>&1";
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) {
    running_ = true;
    if (kind_ == "postgres") {
      connection_ = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=" + std::to_string(port_) +
                    ";Database=postgres;Uid=postgres;Pwd=unused;";
    } else {
      connection_ = "Driver={MariaDB Unicode};Server=127.0.0.1;Port=" + std::to_string(port_) +
                    ";Database=metersync_test;Uid=sink;Pwd=sink;";
    }
    return;
  }
  missing_ = code == 77;
  problem_ = kind_ + " server did not start (exit " + std::to_string(code) + "): " + read_file(log);
  stop();
}

ThrowawayServer::~ThrowawayServer() { stop(); }

void ThrowawayServer::stop() {
  if (dir_.empty()) return;
  const std::string command = kScript + " stop " + kind_ + " " + dir_.string() + " >/dev/null 2>&1";
  [[maybe_unused]] const int status = std::system(command.c_str());
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  dir_.clear();
  running_ = false;
}

}  // namespace metersync::sink::testing
