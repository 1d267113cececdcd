// Test support for the engine's tests on librdkafka's mock cluster: records of the captured
// PostgreSQL create (tests/fixtures/debezium/captured/postgres/create.json), each with a meter
// id of its own, and waiting for what other threads do.
#pragma once

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace metersync::engine::testing {

// The meter id in the captured message, replaced in each record.
inline constexpr const char* kCapturedMeterId = "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e";

inline std::string meter_id(int i) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
  return id;
}

inline std::string captured_create() {
  std::ifstream in(std::string(METERSYNC_SOURCE_DIR) + "/tests/fixtures/debezium/captured/postgres/create.json",
                   std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string with_meter_id(std::string message, const std::string& id) {
  const std::string from = kCapturedMeterId;
  for (auto at = message.find(from); at != std::string::npos; at = message.find(from, at + id.size()))
    message.replace(at, from.size(), id);
  return message;
}

// Waits until `done` holds or `limit` passed; the answer is whether it holds.
inline bool eventually(const std::function<bool()>& done, std::chrono::seconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

}  // namespace metersync::engine::testing
