#include "core/failpoint.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace metersync {
namespace {

bool armed(std::string_view name) {
  static const std::string list = [] {
    const char* value = std::getenv("METERSYNC_FAILPOINT");
    return value == nullptr ? std::string() : "," + std::string(value) + ",";
  }();
  return !list.empty() && list.find("," + std::string(name) + ",") != std::string::npos;
}

}  // namespace

void failpoint(std::string_view name) {
  if (!armed(name)) return;
  std::fprintf(stderr, "failpoint %.*s reached: this thread stops here until the process is killed\n",
               static_cast<int>(name.size()), name.data());
  std::fflush(stderr);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

}  // namespace metersync
