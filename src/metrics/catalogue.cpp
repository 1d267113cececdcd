#include "metrics/catalogue.hpp"

#include <array>
#include <stdexcept>

namespace metersync::metrics {
namespace {

constexpr std::array kFamilies{
    // Both destinations of a source: the Meter Master pipeline and the endpoint dispatcher.
    Family{"metersync_records_consumed_total", Type::Counter, "source,destination",
           "Kafka records read (a record read again after a retry or a rebalance counts again)"},
    Family{"metersync_tombstones_skipped_total", Type::Counter, "source,destination",
           "Kafka records with a null value, skipped and covered by the stored offsets"},
    Family{"metersync_dead_letters_total", Type::Counter, "source,destination,stage",
           "records sent to the dead-letter topic and acknowledged, by the stage that refused "
           "them (decode, map, sink, endpoint)"},
    Family{"metersync_retries_total", Type::Counter, "source,destination",
           "failed attempts retried after a back-off (sink transactions, endpoint posts, "
           "pipeline restarts)"},
    Family{"metersync_batch_records", Type::Histogram, "source,destination",
           "Kafka records per committed batch (a sink transaction, an endpoint post)"},
    Family{"metersync_last_commit_timestamp_seconds", Type::Gauge, "source,destination",
           "Unix time of the last committed batch (0: none yet)"},
    Family{"metersync_consumer_lag_records", Type::Gauge, "source,destination,partition",
           "records on the broker after the committed position, per assigned partition (an "
           "endpoint's position, until it settles something, is its group's committed offset, "
           "asked of the broker once per assignment)"},
    Family{"metersync_consumer_lag_seconds", Type::Gauge, "source,destination",
           "how far behind: while records wait on the broker, the age of the newest committed "
           "record (its Kafka timestamp); 0 when caught up or before this process committed any"},
    Family{"metersync_partition_assigned", Type::Gauge, "source,destination,partition",
           "1 for each partition of the source's topic assigned to this instance now (refreshed "
           "every second); instances sharing the consumer groups split the partitions, so across "
           "them each partition has one series"},
    Family{"metersync_destination_ready", Type::Gauge, "source,destination",
           "1 while the destination is progressing (what /readyz judges), else 0"},
    // Meter Master.
    Family{"metersync_changes_written_total", Type::Counter, "source",
           "Meter Master changes in committed sink transactions"},
    Family{"metersync_transaction_duration_seconds", Type::Histogram, "source",
           "time of one sink transaction, from the first statement to the acknowledged commit"},
    Family{"metersync_sink_errors_total", Type::Counter, "source,class",
           "sink transactions refused, by class (transient, data, fatal, configuration); a row the "
           "sink refuses costs one data error per bisection step that meets it"},
    // Endpoints.
    Family{"metersync_endpoint_events_delivered_total", Type::Counter, "source",
           "events in batches the endpoint answered with 2xx"},
    Family{"metersync_endpoint_posts_total", Type::Counter, "source,status",
           "POSTs by HTTP status (the code, or `error` when no answer came)"},
    Family{"metersync_endpoint_post_duration_seconds", Type::Histogram, "source",
           "time of one POST until its answer"},
    Family{"metersync_endpoint_retry_after_seconds_total", Type::Counter, "source",
           "time waited because an endpoint's Retry-After asked for it"},
    // Kafka Connect (connect.url, sources.<name>.connector_name).
    Family{"metersync_connector_up", Type::Gauge, "source",
           "1 when Kafka Connect last said the source's connector and every task are RUNNING, "
           "else 0 (failed, paused, stopped, not registered, or Connect not answering; /readyz "
           "says which)"},
    // The periodic verify of `run` (verify.every_ms).
    Family{"metersync_verify_differences", Type::Gauge, "source",
           "rows the last periodic verify found different (missing, extra live, differing and "
           "unmappable); kept from the last run that could verify the source"},
    Family{"metersync_verify_failed", Type::Gauge, "source",
           "1 when the last periodic verify could not verify the source (unreachable, table "
           "missing; the status file says why), else 0"},
    Family{"metersync_verify_last_run_timestamp_seconds", Type::Gauge, "source",
           "Unix time the last periodic verify of the source ended"},
    Family{"metersync_endpoint_circuit_open", Type::Gauge, "source",
           "1 while the endpoint's circuit breaker is open (endpoint.breaker_failures failed posts "
           "in a row: unavailable, partitions paused, one probe at a time), else 0"},
    // The process.
    Family{"metersync_build_info", Type::Gauge, "version,revision,librdkafka_version",
           "always 1; the labels say what runs"},
    Family{"metersync_instance_info", Type::Gauge, "instance_id",
           "always 1; instance_id names this process among the instances sharing the consumer "
           "groups (the instance_id key; the host name by default)"},
    Family{"metersync_uptime_seconds", Type::Gauge, "", "seconds since the process started"},
    Family{"process_cpu_seconds_total", Type::Counter, "",
           "user and system CPU time of the process"},
    Family{"process_resident_memory_bytes", Type::Gauge, "", "resident set size"},
    Family{"process_start_time_seconds", Type::Gauge, "", "Unix time the process started"},
};

std::string_view type_name(Type type) {
  switch (type) {
    case Type::Counter:
      return "counter";
    case Type::Gauge:
      return "gauge";
    case Type::Histogram:
      return "histogram";
  }
  return "";
}

}  // namespace

std::span<const Family> catalogue() { return kFamilies; }

const Family& family(std::string_view name) {
  for (const Family& f : kFamilies)
    if (f.name == name) return f;
  throw std::logic_error("metrics: no family named " + std::string(name) + " in the catalogue");
}

std::string reference_markdown() {
  std::string out =
      "| metric | type | labels | meaning |\n"
      "|---|---|---|---|\n";
  for (const Family& f : kFamilies) {
    out += "| `" + std::string(f.name) + "` | " + std::string(type_name(f.type)) + " | " +
           (f.labels.empty() ? std::string() : "`" + std::string(f.labels) + "`") + " | " +
           std::string(f.help) + " |\n";
  }
  return out;
}

}  // namespace metersync::metrics
