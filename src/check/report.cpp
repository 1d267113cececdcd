#include "check/report.hpp"

#include <algorithm>

namespace metersync::check {

namespace {

// Drivers end their messages with a newline, or break them; a finding stays one line, except
// for the indented lines of a list (a table's column problems).
std::string tidy(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && text.compare(i + 1, 2, "  ") != 0) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    out += text[i];
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  for (std::size_t at; (at = out.find(" ;")) != std::string::npos;) out.erase(at, 1);
  return out;
}

}  // namespace

void Report::ok(std::string subject, std::string detail) {
  findings_.push_back({true, std::move(subject), tidy(std::move(detail))});
}

void Report::fail(std::string subject, std::string detail) {
  findings_.push_back({false, std::move(subject), tidy(std::move(detail))});
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
