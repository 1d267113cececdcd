// Starts the real metersync-endpoint binary, talks to it, stops it, starts it again.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace {

using Json = nlohmann::json;

// A child process running the service; SIGTERMed and reaped on destruction.
class EndpointProcess {
 public:
  explicit EndpointProcess(const std::string& db) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      setenv("METERSYNC_ENDPOINT_TOKEN", "reader", 1);
      execl(METERSYNC_ENDPOINT_BINARY, METERSYNC_ENDPOINT_BINARY, "--port", "0", "--db",
            db.c_str(), "--sources", "postgres,mysql", "--log-level", "warn", nullptr);
      _exit(127);
    }
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
    char line[128] = {};
    if (std::fgets(line, sizeof line, stdout_) != nullptr) std::sscanf(line, "listening %d", &port_);
  }
  ~EndpointProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_) std::fclose(stdout_);
  }
  int port() const { return port_; }
  // SIGTERM and the exit status.
  int terminate() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  int port_ = 0;
};

TEST(EndpointProcess, ServesStopsCleanlyAndKeepsWhatItStored) {
  auto dir = std::filesystem::temp_directory_path() / ("endpoint-process-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "endpoint.db").string();
  const std::string body = R"({"source":"mysql","batch_id":"mysql-0-0","events":[{"id":"mysql:f/1/0:m9",
    "op":"create","committed_at":"2026-11-24T19:43:00.000Z","position":"f/1/0",
    "meter":{"sourceSystem":"mysql","sourceMeterId":"m9"},"before":null,"after":{"id":9}}]})";
  {
    EndpointProcess process(db);
    ASSERT_GT(process.port(), 0);
    httplib::Client client("127.0.0.1", process.port());
    auto res = client.Post("/v1/sources/mysql/changes", body, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(client.Get("/v1/sources/oracle/changes", {{"Authorization", "Bearer reader"}})->status,
              404);  // not among --sources
    EXPECT_EQ(process.terminate(), 0);
  }
  {
    EndpointProcess process(db);
    ASSERT_GT(process.port(), 0);
    httplib::Client client("127.0.0.1", process.port());
    auto res = client.Get("/v1/sources/mysql/meters/m9", {{"Authorization", "Bearer reader"}});
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(Json::parse(res->body)["meter"]["sourceMeterId"], "m9");
    auto again = client.Post("/v1/sources/mysql/changes", body, "application/json");
    EXPECT_EQ(Json::parse(again->body)["duplicates"], 1);
    EXPECT_EQ(process.terminate(), 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
