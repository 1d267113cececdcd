#include "verify/verify_command.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "engine/pipeline.hpp"
#include "kafka/topic_metadata.hpp"
#include "sink/sink.hpp"
#include "verify/odbc_sides.hpp"

namespace metersync::verify {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until the Meter Master pipeline's stored offsets reach the topic's end offsets as
// they are now; true when they did within the bound.
Result<bool> wait_for_pipeline(const config::Config& config, const config::SourceConfig& source,
                               std::chrono::milliseconds timeout) {
  const kafka::ClientSettings settings{config.kafka.bootstrap_servers, config.kafka.properties,
                                       "metersync-verify"};
  auto ends = kafka::end_offsets(settings, source.topic, std::chrono::milliseconds(10'000));
  if (!ends) {
    // Not knowing the topic's end is not knowing whether the pipeline caught up: the keys
    // are compared again without waiting, and the report says it did not catch up.
    spdlog::warn("verify {}: the end offsets of {}: {}", source.name, source.topic, ends.error());
    return false;
  }
  const std::string pipeline = engine::group_for(config, source);
  const auto deadline = Clock::now() + timeout;
  try {
    sink::Sink sink(config.sink);
    while (true) {
      const sink::Offsets applied = sink.load_offsets(pipeline, source.topic);
      bool caught_up = true;
      for (const auto& [partition, end] : *ends) {
        const auto found = applied.find(partition);
        // A partition never written to (end 0) needs no offset.
        if (end > 0 && (found == applied.end() || found->second < end)) caught_up = false;
      }
      if (caught_up) return true;
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink::to_error(error));
  }
}

SourceReport verify_source(const config::Config& config, const config::SourceConfig& source,
                           const sink::OdbcEnvironment& environment, const CommandOptions& options) {
  const auto columns = compared_columns(source);
  VerifyOptions verify_options;
  verify_options.encoding = encoding_of(config.sink.dialect);
  for (const auto* column : columns) verify_options.column_names.emplace_back(column->name);
  verify_options.catch_up = [&] { return wait_for_pipeline(config, source, options.catch_up_timeout); };
  SourceReport failed;
  failed.source = source.name;
  std::unique_ptr<OdbcSourceTable> table;
  try {
    table = std::make_unique<OdbcSourceTable>(environment, source, columns);
  } catch (const sink::SinkError& error) {
    failed.error = std::string("cannot reach the source: ") + error.what() + "; fix: check sources." +
                   source.name + ".connection";
    return failed;
  } catch (const ConfigError& error) {
    failed.error = error.what();
    return failed;
  }
  std::unique_ptr<OdbcMeterMaster> meter_master;
  try {
    meter_master = std::make_unique<OdbcMeterMaster>(environment, config.sink, source.name, columns);
  } catch (const sink::SinkError& error) {
    failed.error = std::string("cannot reach Meter Master: ") + error.what() + "; fix: check sink.connection";
    return failed;
  }
  Verifier verifier(*table, *meter_master, verify_options);
  return verifier.run(source.name);
}

std::string shown(const std::optional<std::string>& value) { return value ? "'" + *value + "'" : "NULL"; }

nlohmann::json json_value(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string render_text(const std::vector<SourceReport>& reports) {
  std::string out;
  for (const auto& r : reports) {
    for (const auto& d : r.differences) {
      out += fmt::format("{} {} {}{}\n", r.source, kind_name(d.kind), d.key,
                         d.source_key.empty() || d.source_key == d.key ? "" : " (source key " + d.source_key + ")");
      for (const auto& c : d.columns)
        out += fmt::format("    {}: source {} | Meter Master {}\n", c.column, shown(c.source),
                           shown(c.meter_master));
    }
    for (const auto& u : r.unmappable)
      out += fmt::format("{} unmappable source row {}: {}\n", r.source, u.source_key, u.reason);
  }
  for (const auto& r : reports) {
    if (!r.error.empty()) {
      out += fmt::format("{}: NOT VERIFIED: {}\n", r.source, r.error);
      continue;
    }
    int64_t missing = 0, extra = 0, differing = 0;
    for (const auto& d : r.differences)
      (d.kind == Difference::Kind::Missing ? missing
       : d.kind == Difference::Kind::ExtraLive ? extra : differing)++;
    out += fmt::format(
        "{}: {}: {} source rows, {} live Meter Master rows; {} missing, {} extra live, {} differing, "
        "{} unmappable; {} of {} buckets differed, {} source pass(es), {} Meter Master rows read{}{}; "
        "{:.2f} s\n",
        r.source, r.equal() ? "EQUAL" : "DIFFERENT", r.source_rows, r.meter_master_rows, missing, extra,
        differing, r.unmappable_rows, r.differing_buckets, r.buckets, r.source_passes,
        r.meter_master_rows_read,
        r.settled_in_flight > 0 ? fmt::format(", {} in-flight change(s) settled", r.settled_in_flight) : "",
        r.caught_up && !*r.caught_up ? ", the pipeline did not catch up in time: differences may be in flight" : "",
        r.seconds);
  }
  return out;
}

std::string render_json(const std::vector<SourceReport>& reports) {
  nlohmann::json sources = nlohmann::json::array();
  bool equal = true;
  for (const auto& r : reports) {
    equal = equal && r.equal();
    nlohmann::json differences = nlohmann::json::array();
    for (const auto& d : r.differences) {
      nlohmann::json columns = nlohmann::json::array();
      for (const auto& c : d.columns)
        columns.push_back({{"column", c.column}, {"source", json_value(c.source)},
                           {"meter_master", json_value(c.meter_master)}});
      differences.push_back({{"kind", kind_name(d.kind)}, {"key", d.key},
                             {"source_key", d.source_key.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.source_key)},
                             {"columns", columns}});
    }
    nlohmann::json unmappable = nlohmann::json::array();
    for (const auto& u : r.unmappable)
      unmappable.push_back({{"source_key", u.source_key}, {"reason", u.reason}});
    nlohmann::json entry{{"source", r.source},
                         {"verified", r.error.empty()},
                         {"equal", r.equal()},
                         {"source_rows", r.source_rows},
                         {"meter_master_rows", r.meter_master_rows},
                         {"buckets", r.buckets},
                         {"differing_buckets", r.differing_buckets},
                         {"source_passes", r.source_passes},
                         {"source_rows_looked_up", r.source_rows_looked_up},
                         {"meter_master_rows_read", r.meter_master_rows_read},
                         {"settled_in_flight", r.settled_in_flight},
                         {"differences", differences},
                         {"unmappable_rows", r.unmappable_rows},
                         {"unmappable", unmappable},
                         {"seconds", r.seconds}};
    if (!r.error.empty()) entry["error"] = r.error;
    if (r.caught_up) entry["caught_up"] = *r.caught_up;
    sources.push_back(std::move(entry));
  }
  return nlohmann::json{{"equal", equal}, {"sources", sources}}.dump(2) + "\n";
}

int verify_command(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                   const CommandOptions& options, std::ostream& out) {
  std::vector<SourceReport> reports;
  const sink::OdbcEnvironment environment;
  for (const auto* source : sources) {
    if (source->connection.empty()) {
      SourceReport skipped;
      skipped.source = source->name;
      skipped.error = "no sources." + source->name + ".connection: set it to verify this source";
      reports.push_back(std::move(skipped));
      continue;
    }
    reports.push_back(verify_source(config, *source, environment, options));
  }
  out << (options.json ? render_json(reports) : render_text(reports));
  const bool equal = std::all_of(reports.begin(), reports.end(), [](const auto& r) { return r.equal(); });
  return equal ? 0 : 1;
}

}  // namespace metersync::verify
