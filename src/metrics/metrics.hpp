// The process's metrics: one prometheus-cpp registry whose families come from the
// catalogue (catalogue.hpp), with a handle per source and destination for the code that
// counts, and the text exposition /metrics serves.
//
// Threads: any. Counters and gauges are prometheus-cpp atomics; creating a labelled child
// (a new partition, stage or status) takes the family's mutex, which happens per batch at
// most. render() collects without stopping anyone: the pipelines never wait for a scrape.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "metrics/dead_letter_log.hpp"

namespace metersync::metrics {

enum class Destination { MeterMaster, Endpoint };
std::string_view destination_name(Destination destination);  // meter_master | endpoint

struct BuildInfo {
  std::string version;
  std::string revision;
  std::string librdkafka_version;
};

class Metrics;

// What both destinations of one source count.
class DestinationMetrics {
 public:
  void consumed(int64_t records);
  void tombstones(int64_t records);
  // One dead letter acknowledged by its topic: metersync_dead_letters_total{stage} counts its
  // records, and the process's DeadLetterLog keeps it for the operations page.
  void dead_letter(const DeadLetterNote& note);
  void retry();
  // A batch committed (sink transaction, delivered post): its Kafka records.
  void committed(int64_t records, std::chrono::system_clock::time_point at);
  void lag(int32_t partition, int64_t records);
  void forget_partition(int32_t partition);  // no longer assigned here
  // The partitions assigned to this instance now: one metersync_partition_assigned series
  // each; a partition given up loses its series (its new owner reports it).
  void assigned(const std::set<int32_t>& partitions);
  void lag_seconds(double seconds);
  // Both lags at once: each assigned partition's records, and how far behind the
  // destination is (the age of the newest committed record, by its Kafka timestamp
  // `newest_committed_ms`, while any record waits; 0 otherwise or with none committed, -1).
  void lags(const std::map<int32_t, int64_t>& partition_lags, int64_t newest_committed_ms,
            std::chrono::system_clock::time_point now);
  void ready(bool ready);

 protected:
  DestinationMetrics(Metrics& metrics, std::string source, Destination destination);
  Metrics& metrics_;
  std::string source_;
  Destination destination_;

 private:
  prometheus::Counter& dead_letters_of(std::string_view stage);

  prometheus::Counter& consumed_;
  prometheus::Counter& tombstones_;
  prometheus::Counter& retries_;
  prometheus::Histogram& batch_records_;
  prometheus::Gauge& last_commit_;
  prometheus::Gauge& lag_seconds_;
  prometheus::Gauge& ready_;
  std::mutex mutex_;
  std::map<int32_t, prometheus::Gauge*> lag_;
  std::map<int32_t, prometheus::Gauge*> assigned_;
};

class MeterMasterMetrics : public DestinationMetrics {
 public:
  MeterMasterMetrics(Metrics& metrics, std::string source);
  void changes_written(int64_t changes);
  void transaction(std::chrono::duration<double> took);
  void sink_error(std::string_view error_class);

 private:
  prometheus::Counter& changes_;
  prometheus::Histogram& transaction_;
};

class EndpointMetrics : public DestinationMetrics {
 public:
  EndpointMetrics(Metrics& metrics, std::string source);
  void delivered(int64_t events);
  // One POST and its answer: the HTTP status, or 0 when none came.
  void post(long status, std::chrono::duration<double> took);
  void retry_after(std::chrono::duration<double> waited);
  // The endpoint's circuit breaker: open (unavailable, probed) or closed.
  void circuit_open(bool open);

 private:
  prometheus::Counter& delivered_;
  prometheus::Histogram& post_duration_;
  prometheus::Counter& retry_after_;
  prometheus::Gauge& circuit_open_;
};

class Metrics {
 public:
  explicit Metrics(const BuildInfo& build);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Created on first use, then the same handle for the process's life (so counters never
  // go back while it runs).
  MeterMasterMetrics& meter_master(const std::string& source);
  EndpointMetrics& endpoint(const std::string& source);
  // This process's instance_id (metersync_instance_info), set once at start.
  void instance(const std::string& instance_id);
  // What Kafka Connect last said about the source's connector: all RUNNING or not.
  void connector_up(const std::string& source, bool up);
  // The last periodic verify of the source: could it verify, how many rows differed (kept
  // from the last verified run otherwise), when it ended. Any thread.
  void verify_result(const std::string& source, bool verified, int64_t differences,
                     std::chrono::system_clock::time_point ended);

  // The Prometheus text exposition format (version 0.0.4), process figures refreshed.
  std::string render();

  // Every destination's dead letters, as DestinationMetrics::dead_letter() noted them.
  const DeadLetterLog& dead_letter_log() const;
  DeadLetterLog& dead_letter_log();

  // The families, for the handles.
  prometheus::Family<prometheus::Counter>& counter(std::string_view name);
  prometheus::Family<prometheus::Gauge>& gauge(std::string_view name);
  prometheus::Family<prometheus::Histogram>& histogram(std::string_view name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace metersync::metrics
