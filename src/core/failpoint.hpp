// Points where a test can stop a thread for good, so that killing the process (SIGKILL)
// lands exactly between two steps that a crash may separate.
//
// Compiled into every build, off unless the environment variable METERSYNC_FAILPOINT names
// the point (a comma-separated list of names); read once, at the first point reached. A thread
// that reaches an armed point writes "failpoint <name> reached" to stderr and sleeps until the
// process is killed. Points:
//   dead-letter-flushed           Meter Master: a batch's dead letters are acknowledged by
//                                 Kafka, the sink transaction that skips them has not begun
//   endpoint-dead-letter-flushed  endpoint dispatcher: a dead letter is acknowledged, the
//                                 consumer group's offset past it is not committed
// docs/operating.md (Dead letters) says what a crash there does and why it is harmless.
#pragma once

#include <string_view>

namespace metersync {

void failpoint(std::string_view name);

}  // namespace metersync
