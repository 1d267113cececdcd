#include "metrics/process.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace metersync::metrics {
namespace {

// Fields 14 (utime), 15 (stime) and 22 (starttime, ticks after boot) of /proc/self/stat
// (proc(5)). The second field, the command, is in parentheses and may hold spaces.
struct Stat {
  double utime_ticks = 0;
  double stime_ticks = 0;
  double start_ticks = 0;
};

Stat read_stat() {
  Stat stat;
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  // After the command the fields start at number 3.
  for (int number = 3; fields >> field; ++number) {
    if (number == 14) stat.utime_ticks = std::stod(field);
    if (number == 15) stat.stime_ticks = std::stod(field);
    if (number == 22) {
      stat.start_ticks = std::stod(field);
      break;
    }
  }
  return stat;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessFigures::ProcessFigures() {
  ticks_per_second_ = ::sysconf(_SC_CLK_TCK);
  page_size_ = ::sysconf(_SC_PAGESIZE);
  const Stat stat = read_stat();
  const double boot = boot_time_seconds();
  start_time_seconds_ =
      boot > 0 ? boot + stat.start_ticks / static_cast<double>(ticks_per_second_)
               : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ProcessFigures::Sample ProcessFigures::sample() const {
  Sample sample;
  const Stat stat = read_stat();
  sample.cpu_seconds = (stat.utime_ticks + stat.stime_ticks) / static_cast<double>(ticks_per_second_);
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  sample.resident_bytes = resident_pages * page_size_;
  sample.uptime_seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      start_time_seconds_;
  return sample;
}

}  // namespace metersync::metrics
