// `metersync replay --source X`: posts the batches in a source's endpoint dead-letter
// topic again, oldest first, with the same body (same batch_id and event ids, so a
// receiver that already has some of them drops the repeats) and a fresh signature.
//
// Progress is the consumer group <group_prefix>-<source>-endpoint-replay: a replayed
// batch is committed once the endpoint answered 2xx, so running replay again continues
// where the last run stopped. Records that were dead-lettered because they could not be
// decoded (stage "decode") cannot be posted; they are counted and passed over.
//
// A dead letter's identity is its `metersync.dead_letter.id` header; a crash between a dead
// letter's flush and the commit past it makes a second copy with the same identity. Each run
// reads the topic from its beginning (what lies before the group's committed offsets only to
// learn the identities handled before), so a copy of one already replayed or passed over, in
// this run or an earlier one, is passed over and counted in `repeats`, never posted again.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace metersync::dispatch {

struct ReplayResult {
  int64_t delivered = 0;    // batches the endpoint accepted
  int64_t skipped = 0;      // dead letters that are not batches (records rejected at decode or map)
  int64_t repeats = 0;      // copies of a dead letter already handled (same identity)
  bool complete = false;    // reached the end of the topic
  std::string error;        // why it stopped early (the endpoint still refuses a batch, ...)
};

// Reads the topic to its end and returns. Throws ConfigError when the source has no
// endpoint configured.
ReplayResult replay(const config::Config& config, const config::SourceConfig& source,
                    const std::atomic<bool>& stopping);

}  // namespace metersync::dispatch

namespace metersync::dispatch {

// `metersync replay --source <name>`: runs replay() for the named source, prints what it
// did, and returns the exit code (0 the topic was replayed to its end, 1 otherwise).
// Throws ConfigError for an unknown source or one without an endpoint.
int replay_command(const config::Config& config, const std::string& source_name);

}  // namespace metersync::dispatch
