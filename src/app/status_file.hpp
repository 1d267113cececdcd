// The status JSON file `run` rewrites every second, and its reading by `status`.
//
// Written to a temporary file beside it and renamed over it, so a reader never sees a
// half-written file. Format (all counts since this process started):
//   { "pid": 123, "instance_id": "host-a", "started_at": "...Z", "updated_at": "...Z",
//     "sources": { "postgres": { "state": "running", "topic": "...", "group": "...",
//        "partitions": [0, 2], "records_consumed": 0, "records_applied": 0,
//        "changes_written": 0, "records_dead_lettered": 0, "tombstones_skipped": 0,
//        "batches_committed": 0, "retries": 0, "positions": { "0": 42 }, "lag": 0,
//        "last_error": null, "last_error_at": null, "last_commit_at": "...Z" } },
//     "endpoints": { "postgres": { "group": "...", "partitions": [1] } },
//     "sink": { "dialect": "sqlserver", "stage": "json", "stage_reason": "..." },
//     "verify": { "postgres": { "verified": true, "equal": true, "differences": 0,
//        "error": null, "ended_at": "...Z", "seconds": 1.7 } } }   (verify.every_ms, once run)
// "partitions": those assigned to this instance now (instances sharing the consumer groups
// split them).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "app/periodic_verify.hpp"
#include "engine/pipeline_status.hpp"

namespace metersync::app {

// A source's endpoint dispatcher as the status file shows it: its group and partitions.
struct EndpointAssignment {
  std::string source;
  std::string group;
  std::vector<int32_t> partitions;
};

class StatusFile {
 public:
  StatusFile(std::string path, std::chrono::system_clock::time_point started_at,
             std::string instance_id = {});

  std::string render(const std::vector<engine::PipelineSnapshot>& pipelines,
                     const std::vector<EndpointAssignment>& endpoints = {}) const;
  // How the sink writes (sink::SinkStage), once `run` has connected to it.
  void set_sink(std::string dialect, std::string stage, std::string stage_reason);
  // The last periodic verify of each source (empty: none yet, no "verify" member).
  void set_verify(std::vector<VerifySummary> verify);
  // Writes atomically; returns false (and logs once) when the file cannot be written.
  bool write(const std::vector<engine::PipelineSnapshot>& pipelines,
             const std::vector<EndpointAssignment>& endpoints = {});

  // For `metersync status`: a short table of a status file's contents. Throws
  // std::runtime_error naming the path when it cannot be read or parsed.
  static std::string describe_file(const std::string& path);
  // The same table from the status JSON itself (`origin` names where it came from, for errors).
  static std::string describe(const std::string& json_text, const std::string& origin);

 private:
  std::string path_;
  std::chrono::system_clock::time_point started_at_;
  std::string instance_id_;
  bool warned_ = false;
  std::string sink_dialect_;
  std::string sink_stage_;
  std::string sink_stage_reason_;
  std::vector<VerifySummary> verify_;
};

std::string iso_utc(std::chrono::system_clock::time_point at);

}  // namespace metersync::app
