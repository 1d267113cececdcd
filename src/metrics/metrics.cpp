#include "metrics/metrics.hpp"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <stdexcept>

#include "metrics/catalogue.hpp"
#include "metrics/process.hpp"

namespace metersync::metrics {
namespace {

using prometheus::Histogram;

// Batches run from one record (a quiet source) to sink.max_batch_events (5,000 by default,
// at most 1,000,000) and endpoint.max_batch_events (500).
const Histogram::BucketBoundaries kRecordBuckets{1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 50000};
// A sink transaction or a POST: a millisecond on a quiet loopback to tens of seconds on a
// server that is struggling.
const Histogram::BucketBoundaries kSecondsBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25,  0.5,    1,     2.5,  5,     10,   30};

prometheus::Labels labels_of(const std::string& source, Destination destination) {
  return {{"source", source}, {"destination", std::string(destination_name(destination))}};
}

}  // namespace

std::string_view destination_name(Destination destination) {
  return destination == Destination::MeterMaster ? "meter_master" : "endpoint";
}

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::map<std::string, prometheus::Family<prometheus::Counter>*, std::less<>> counters;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*, std::less<>> gauges;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*, std::less<>> histograms;
  std::mutex mutex;  // the handle maps below
  std::map<std::string, std::unique_ptr<MeterMasterMetrics>> meter_master;
  std::map<std::string, std::unique_ptr<EndpointMetrics>> endpoint;
  ProcessFigures process;
  DeadLetterLog dead_letters;
  prometheus::Gauge* uptime = nullptr;
  prometheus::Gauge* rss = nullptr;
  prometheus::Gauge* start_time = nullptr;
  prometheus::Counter* cpu = nullptr;
  double cpu_reported = 0;
};

Metrics::Metrics(const BuildInfo& build) : impl_(std::make_unique<Impl>()) {
  for (const Family& f : catalogue()) {
    const std::string name(f.name);
    const std::string help(f.help);
    switch (f.type) {
      case Type::Counter:
        impl_->counters[name] =
            &prometheus::BuildCounter().Name(name).Help(help).Register(*impl_->registry);
        break;
      case Type::Gauge:
        impl_->gauges[name] = &prometheus::BuildGauge().Name(name).Help(help).Register(*impl_->registry);
        break;
      case Type::Histogram:
        impl_->histograms[name] =
            &prometheus::BuildHistogram().Name(name).Help(help).Register(*impl_->registry);
        break;
    }
  }
  gauge("metersync_build_info")
      .Add({{"version", build.version},
            {"revision", build.revision},
            {"librdkafka_version", build.librdkafka_version}})
      .Set(1);
  impl_->uptime = &gauge("metersync_uptime_seconds").Add({});
  impl_->rss = &gauge("process_resident_memory_bytes").Add({});
  impl_->start_time = &gauge("process_start_time_seconds").Add({});
  impl_->cpu = &counter("process_cpu_seconds_total").Add({});
  impl_->start_time->Set(impl_->process.start_time_seconds());
}

Metrics::~Metrics() = default;

prometheus::Family<prometheus::Counter>& Metrics::counter(std::string_view name) {
  const auto it = impl_->counters.find(name);
  if (it == impl_->counters.end()) throw std::logic_error("metrics: no counter " + std::string(name));
  return *it->second;
}
prometheus::Family<prometheus::Gauge>& Metrics::gauge(std::string_view name) {
  const auto it = impl_->gauges.find(name);
  if (it == impl_->gauges.end()) throw std::logic_error("metrics: no gauge " + std::string(name));
  return *it->second;
}
prometheus::Family<prometheus::Histogram>& Metrics::histogram(std::string_view name) {
  const auto it = impl_->histograms.find(name);
  if (it == impl_->histograms.end())
    throw std::logic_error("metrics: no histogram " + std::string(name));
  return *it->second;
}

MeterMasterMetrics& Metrics::meter_master(const std::string& source) {
  std::lock_guard lock(impl_->mutex);
  auto& slot = impl_->meter_master[source];
  if (!slot) slot = std::make_unique<MeterMasterMetrics>(*this, source);
  return *slot;
}

EndpointMetrics& Metrics::endpoint(const std::string& source) {
  std::lock_guard lock(impl_->mutex);
  auto& slot = impl_->endpoint[source];
  if (!slot) slot = std::make_unique<EndpointMetrics>(*this, source);
  return *slot;
}

void Metrics::instance(const std::string& instance_id) {
  gauge("metersync_instance_info").Add({{"instance_id", instance_id}}).Set(1);
}

void Metrics::connector_up(const std::string& source, bool up) {
  gauge("metersync_connector_up").Add({{"source", source}}).Set(up ? 1 : 0);
}

void Metrics::verify_result(const std::string& source, bool verified, int64_t differences,
                            std::chrono::system_clock::time_point ended) {
  gauge("metersync_verify_failed").Add({{"source", source}}).Set(verified ? 0 : 1);
  if (verified) gauge("metersync_verify_differences").Add({{"source", source}}).Set(static_cast<double>(differences));
  gauge("metersync_verify_last_run_timestamp_seconds")
      .Add({{"source", source}})
      .Set(std::chrono::duration<double>(ended.time_since_epoch()).count());
}

const DeadLetterLog& Metrics::dead_letter_log() const { return impl_->dead_letters; }
DeadLetterLog& Metrics::dead_letter_log() { return impl_->dead_letters; }

std::string Metrics::render() {
  {
    std::lock_guard lock(impl_->mutex);
    const ProcessFigures::Sample now = impl_->process.sample();
    impl_->uptime->Set(now.uptime_seconds);
    impl_->rss->Set(static_cast<double>(now.resident_bytes));
    // A counter only moves forward: add what the kernel counted since the last scrape.
    if (now.cpu_seconds > impl_->cpu_reported) {
      impl_->cpu->Increment(now.cpu_seconds - impl_->cpu_reported);
      impl_->cpu_reported = now.cpu_seconds;
    }
  }
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

DestinationMetrics::DestinationMetrics(Metrics& metrics, std::string source, Destination destination)
    : metrics_(metrics),
      source_(std::move(source)),
      destination_(destination),
      consumed_(metrics.counter("metersync_records_consumed_total").Add(labels_of(source_, destination))),
      tombstones_(
          metrics.counter("metersync_tombstones_skipped_total").Add(labels_of(source_, destination))),
      retries_(metrics.counter("metersync_retries_total").Add(labels_of(source_, destination))),
      batch_records_(metrics.histogram("metersync_batch_records")
                         .Add(labels_of(source_, destination), kRecordBuckets)),
      last_commit_(
          metrics.gauge("metersync_last_commit_timestamp_seconds").Add(labels_of(source_, destination))),
      lag_seconds_(metrics.gauge("metersync_consumer_lag_seconds").Add(labels_of(source_, destination))),
      ready_(metrics.gauge("metersync_destination_ready").Add(labels_of(source_, destination))) {
  // Every stage's series exists from the start at 0: Prometheus's increase() sees nothing on a
  // series whose first sample is already 1, so the first dead letter of a process would not
  // raise the dead-letter alerts.
  for (const char* stage : {"decode", "map", destination == Destination::MeterMaster ? "sink" : "endpoint"})
    dead_letters_of(stage);
}

void DestinationMetrics::consumed(int64_t records) { consumed_.Increment(static_cast<double>(records)); }
void DestinationMetrics::tombstones(int64_t records) {
  tombstones_.Increment(static_cast<double>(records));
}
prometheus::Counter& DestinationMetrics::dead_letters_of(std::string_view stage) {
  prometheus::Labels labels = labels_of(source_, destination_);
  labels.emplace("stage", std::string(stage));
  return metrics_.counter("metersync_dead_letters_total").Add(labels);
}
void DestinationMetrics::dead_letter(const DeadLetterNote& note) {
  dead_letters_of(note.stage).Increment(static_cast<double>(note.records));
  metrics_.dead_letter_log().add(
      {std::chrono::system_clock::now(), source_, std::string(destination_name(destination_)), note});
}
void DestinationMetrics::retry() { retries_.Increment(); }

void DestinationMetrics::committed(int64_t records, std::chrono::system_clock::time_point at) {
  batch_records_.Observe(static_cast<double>(records));
  last_commit_.Set(std::chrono::duration<double>(at.time_since_epoch()).count());
}

void DestinationMetrics::lag(int32_t partition, int64_t records) {
  std::lock_guard lock(mutex_);
  prometheus::Gauge*& gauge = lag_[partition];
  if (gauge == nullptr) {
    prometheus::Labels labels = labels_of(source_, destination_);
    labels.emplace("partition", std::to_string(partition));
    gauge = &metrics_.gauge("metersync_consumer_lag_records").Add(labels);
  }
  gauge->Set(static_cast<double>(records));
}

void DestinationMetrics::forget_partition(int32_t partition) {
  std::lock_guard lock(mutex_);
  const auto it = lag_.find(partition);
  if (it == lag_.end()) return;
  // Another instance owns it now and reports it; a stale series here would double the lag.
  metrics_.gauge("metersync_consumer_lag_records").Remove(it->second);
  lag_.erase(it);
}

void DestinationMetrics::assigned(const std::set<int32_t>& partitions) {
  std::lock_guard lock(mutex_);
  auto& family = metrics_.gauge("metersync_partition_assigned");
  for (auto it = assigned_.begin(); it != assigned_.end();) {
    if (partitions.contains(it->first)) {
      ++it;
      continue;
    }
    family.Remove(it->second);
    it = assigned_.erase(it);
  }
  for (int32_t partition : partitions) {
    prometheus::Gauge*& gauge = assigned_[partition];
    if (gauge != nullptr) continue;
    prometheus::Labels labels = labels_of(source_, destination_);
    labels.emplace("partition", std::to_string(partition));
    gauge = &family.Add(labels);
    gauge->Set(1);
  }
}

void DestinationMetrics::lag_seconds(double seconds) { lag_seconds_.Set(seconds); }

void DestinationMetrics::lags(const std::map<int32_t, int64_t>& partition_lags, int64_t newest_committed_ms,
                              std::chrono::system_clock::time_point now) {
  int64_t total = 0;
  for (const auto& [partition, records] : partition_lags) {
    lag(partition, records);
    total += records;
  }
  double behind = 0;
  if (total > 0 && newest_committed_ms >= 0) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    behind = std::max<double>(0, static_cast<double>(now_ms - newest_committed_ms) / 1000.0);
  }
  lag_seconds(behind);
}
void DestinationMetrics::ready(bool ready) { ready_.Set(ready ? 1 : 0); }

MeterMasterMetrics::MeterMasterMetrics(Metrics& metrics, std::string source)
    : DestinationMetrics(metrics, std::move(source), Destination::MeterMaster),
      changes_(metrics.counter("metersync_changes_written_total").Add({{"source", source_}})),
      transaction_(metrics.histogram("metersync_transaction_duration_seconds")
                       .Add({{"source", source_}}, kSecondsBuckets)) {}

void MeterMasterMetrics::changes_written(int64_t changes) {
  changes_.Increment(static_cast<double>(changes));
}
void MeterMasterMetrics::transaction(std::chrono::duration<double> took) {
  transaction_.Observe(took.count());
}
void MeterMasterMetrics::sink_error(std::string_view error_class) {
  metrics_.counter("metersync_sink_errors_total")
      .Add({{"source", source_}, {"class", std::string(error_class)}})
      .Increment();
}

EndpointMetrics::EndpointMetrics(Metrics& metrics, std::string source)
    : DestinationMetrics(metrics, std::move(source), Destination::Endpoint),
      delivered_(metrics.counter("metersync_endpoint_events_delivered_total").Add({{"source", source_}})),
      post_duration_(metrics.histogram("metersync_endpoint_post_duration_seconds")
                         .Add({{"source", source_}}, kSecondsBuckets)),
      retry_after_(
          metrics.counter("metersync_endpoint_retry_after_seconds_total").Add({{"source", source_}})),
      circuit_open_(metrics.gauge("metersync_endpoint_circuit_open").Add({{"source", source_}})) {}

void EndpointMetrics::delivered(int64_t events) { delivered_.Increment(static_cast<double>(events)); }
void EndpointMetrics::post(long status, std::chrono::duration<double> took) {
  metrics_.counter("metersync_endpoint_posts_total")
      .Add({{"source", source_}, {"status", status > 0 ? std::to_string(status) : "error"}})
      .Increment();
  post_duration_.Observe(took.count());
}
void EndpointMetrics::retry_after(std::chrono::duration<double> waited) {
  retry_after_.Increment(waited.count());
}
void EndpointMetrics::circuit_open(bool open) { circuit_open_.Set(open ? 1 : 0); }

}  // namespace metersync::metrics
