#include "check/report.hpp"

#include <algorithm>

namespace metersync::check {

void Report::ok(std::string subject, std::string detail) {
  findings_.push_back({true, std::move(subject), std::move(detail)});
}

void Report::fail(std::string subject, std::string detail) {
  findings_.push_back({false, std::move(subject), std::move(detail)});
}

bool Report::failed() const {
  return std::any_of(findings_.begin(), findings_.end(), [](const Finding& f) { return !f.ok; });
}

std::string Report::render() const {
  std::string out;
  std::size_t failures = 0;
  for (const Finding& f : findings_) {
    failures += f.ok ? 0 : 1;
    out += (f.ok ? "ok    " : "FAIL  ") + f.subject + ": " + f.detail + "\n";
  }
  out += failures == 0 ? "all " + std::to_string(findings_.size()) + " checks passed\n"
                       : std::to_string(failures) + " of " + std::to_string(findings_.size()) +
                             " checks failed\n";
  return out;
}

}  // namespace metersync::check
