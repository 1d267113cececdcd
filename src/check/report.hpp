// `metersync check`'s findings: one line each, ok or FAIL, with what was found or the problem
// and its fix.
#pragma once

#include <string>
#include <vector>

namespace metersync::check {

struct Finding {
  bool ok = true;
  std::string subject;  // "kafka", "topic postgres.public.meter", "sink table …", …
  std::string detail;   // what was found; for a failure, the problem and "fix: …"
};

class Report {
 public:
  void ok(std::string subject, std::string detail);
  void fail(std::string subject, std::string detail);

  const std::vector<Finding>& findings() const { return findings_; }
  bool failed() const;
  // "ok    subject: detail" / "FAIL  subject: detail", one per line, then a summary line.
  std::string render() const;

 private:
  std::vector<Finding> findings_;
};

}  // namespace metersync::check
