#include "endpoint/fault_table.hpp"

#include <charconv>
#include <vector>

namespace metersync::endpoint {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

std::expected<Fault, std::string> parse_fault(std::string_view text) {
  auto parts = split(text, ':');
  Fault fault;
  std::size_t next = 1;
  if (parts[0] == "close") {
    fault.kind = Fault::Kind::Close;
  } else if (parts[0] == "status") {
    fault.kind = Fault::Kind::Status;
    auto status = parts.size() > 1 ? to_int(parts[1]) : std::nullopt;
    if (!status || *status < 100 || *status > 599) {
      return std::unexpected("fault \"" + std::string(text) + "\": status:<100..599> expected");
    }
    fault.status = *status;
    next = 2;
  } else if (parts[0] == "sleep") {
    auto ms = parts.size() > 1 ? to_int(parts[1]) : std::nullopt;
    if (!ms) return std::unexpected("fault \"" + std::string(text) + "\": sleep:<ms> expected");
    fault.kind = Fault::Kind::Sleep;
    fault.sleep = std::chrono::milliseconds(*ms);
    next = 2;
  } else {
    return std::unexpected("fault \"" + std::string(text) +
                           "\": expected close, status:<code> or sleep:<ms>");
  }
  for (; next < parts.size(); ++next) {
    auto option = parts[next];
    auto equals = option.find('=');
    auto name = option.substr(0, equals);
    auto value = equals == std::string_view::npos ? std::nullopt : to_int(option.substr(equals + 1));
    if (!value) {
      return std::unexpected("fault \"" + std::string(text) + "\": option \"" +
                             std::string(option) + "\" needs a whole number (name=N)");
    }
    if (name == "retry_after") {
      fault.retry_after_s = value;
    } else if (name == "count") {
      fault.remaining = value;
    } else {
      return std::unexpected("fault \"" + std::string(text) + "\": unknown option \"" +
                             std::string(name) + "\" (retry_after, count)");
    }
  }
  return fault;
}

std::string describe(const Fault& fault) {
  std::string text;
  switch (fault.kind) {
    case Fault::Kind::Close: text = "close"; break;
    case Fault::Kind::Status: text = "status:" + std::to_string(fault.status); break;
    case Fault::Kind::Sleep: text = "sleep:" + std::to_string(fault.sleep.count()); break;
  }
  if (fault.retry_after_s) text += ":retry_after=" + std::to_string(*fault.retry_after_s);
  if (fault.remaining) text += ":count=" + std::to_string(*fault.remaining);
  return text;
}

void FaultTable::set(const std::string& source, Fault fault) {
  std::lock_guard lock(mutex_);
  faults_[source] = fault;
}

void FaultTable::clear(const std::string& source) {
  std::lock_guard lock(mutex_);
  faults_.erase(source);
}

std::optional<Fault> FaultTable::take(const std::string& source) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(source);
  if (it == faults_.end()) return std::nullopt;
  Fault fault = it->second;
  if (auto& remaining = it->second.remaining; remaining && --*remaining <= 0) faults_.erase(it);
  if (fault.remaining && *fault.remaining <= 0) return std::nullopt;
  return fault;
}

std::map<std::string, Fault> FaultTable::snapshot() const {
  std::lock_guard lock(mutex_);
  return faults_;
}

}  // namespace metersync::endpoint
