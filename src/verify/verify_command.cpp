#include "verify/verify_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <librdkafka/rdkafkacpp.h>

#include <thread>

#include "connect/client.hpp"
#include "engine/pipeline.hpp"
#include "kafka/client_config.hpp"
#include "kafka/topic_metadata.hpp"
#include "sink/sink.hpp"
#include "verify/odbc_sides.hpp"
#include "verify/repair.hpp"

namespace metersync::verify {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until the Meter Master pipeline's stored offsets reach the topic's end offsets as
// they are now; true when they did within the bound.
Result<bool> wait_for_pipeline(const config::Config& config, const config::SourceConfig& source,
                               std::chrono::milliseconds timeout, const std::atomic<bool>* stop) {
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
      if (Clock::now() >= deadline || (stop != nullptr && *stop)) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink::to_error(error));
  }
}

kafka::ClientSettings kafka_settings(const config::Config& config) {
  return kafka::ClientSettings{config.kafka.bootstrap_servers, config.kafka.properties, "metersync-verify"};
}

Error repair_failure(std::string reason) { return Error::data(Stage::Map, std::move(reason)); }

// The connector's signal table, as its configuration names it in Kafka Connect.
Result<std::string> signal_collection(const config::Config& config, const config::SourceConfig& source) {
  if (config.connect.url.empty() || source.connector_name.empty())
    return std::unexpected(repair_failure(
        "repair reads the connector's signal.data.collection from Kafka Connect: set connect.url and sources." +
        source.name + ".connector_name"));
  const connect::Client client(config.connect.url, std::chrono::milliseconds(10'000));
  auto found = client.config(source.connector_name);
  if (!found) return std::unexpected(found.error());
  const std::optional<std::map<std::string, std::string>>& settings = *found;
  if (!settings)
    return std::unexpected(repair_failure("Kafka Connect has no connector " + source.connector_name +
                                          "; fix: sources." + source.name + ".connector_name"));
  const auto entry = settings->find("signal.data.collection");
  if (entry == settings->end() || entry->second.empty())
    return std::unexpected(repair_failure("the connector " + source.connector_name +
                                          " has no signal.data.collection: give it a signal table (docs/verify.md)"));
  // Oracle's names the PDB first, which no SQL statement of the PDB's session names.
  if (source.connector == "oracle") return entry->second.substr(entry->second.find('.') + 1);
  return entry->second;
}

// The newest key record of the topic: the template of the delete records' keys.
Result<std::string> newest_key_record(const config::Config& config, const std::string& topic) {
  const auto settings = kafka_settings(config);
  auto ends = kafka::end_offsets(settings, topic, std::chrono::milliseconds(10'000));
  if (!ends) return std::unexpected(repair_failure("the end offsets of " + topic + ": " + ends.error()));
  auto conf = kafka::make_conf(settings, {{"group.id", "metersync-verify-repair"},
                                          {"enable.auto.commit", "false"},
                                          {"enable.partition.eof", "false"}});
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) return std::unexpected(repair_failure("a Kafka consumer: " + error));
  std::vector<RdKafka::TopicPartition*> partitions;
  for (const auto& [partition, end] : *ends)
    if (end > 0) partitions.push_back(RdKafka::TopicPartition::create(topic, partition, end - 1));
  std::optional<std::string> key;
  if (!partitions.empty() && consumer->assign(partitions) == RdKafka::ERR_NO_ERROR) {
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    while (!key && Clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> message(consumer->consume(500));
      if (message->err() == RdKafka::ERR_NO_ERROR && message->key() != nullptr && !message->key()->empty())
        key = *message->key();
    }
  }
  RdKafka::TopicPartition::destroy(partitions);
  consumer->close();
  if (!key) return std::unexpected(repair_failure("no record of " + topic + " to learn its key records from"));
  return *key;
}

// Produces the delete records; an error when one was not acknowledged.
Result<void> produce_records(const config::Config& config, const std::string& topic,
                             const std::vector<std::pair<std::string, std::string>>& records) {
  class Delivery : public RdKafka::DeliveryReportCb {
   public:
    void dr_cb(RdKafka::Message& message) override {
      if (message.err() != RdKafka::ERR_NO_ERROR && first_error.empty()) first_error = message.errstr();
    }
    std::string first_error;
  } delivery;
  // Java's partitioner (murmur2 of the key bytes), as the connector's records are placed:
  // the same key record lands in the key's partition, behind the key's earlier changes.
  auto conf = kafka::make_conf(kafka_settings(config), {{"partitioner", "murmur2_random"},
                                                        {"enable.idempotence", "true"},
                                                        {"acks", "all"}});
  std::string error;
  if (conf->set("dr_cb", &delivery, error) != RdKafka::Conf::CONF_OK)
    return std::unexpected(repair_failure("kafka producer: " + error));
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) return std::unexpected(repair_failure("kafka producer: " + error));
  for (const auto& [key, value] : records) {
    std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
    headers->add("metersync.repair", "verify");  // where the record came from, for people reading the topic
    const auto err = producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                       const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                                       0, headers.get(), nullptr);
    if (err != RdKafka::ERR_NO_ERROR)
      return std::unexpected(repair_failure("producing to " + topic + ": " + RdKafka::err2str(err)));
    (void)headers.release();  // librdkafka owns them once produce() succeeded
  }
  const auto flushed = producer->flush(30'000);
  if (!delivery.first_error.empty())
    return std::unexpected(repair_failure("producing to " + topic + ": " + delivery.first_error));
  if (flushed != RdKafka::ERR_NO_ERROR)
    return std::unexpected(repair_failure("producing to " + topic + ": " + RdKafka::err2str(flushed)));
  return {};
}

// --repair: asks Debezium to read the differing keys again, closes the extra live ones with
// delete records, then compares the keys until they agree or the time is up.
void repair_source(const config::Config& config, const config::SourceConfig& source, OdbcSourceTable& table,
                   Verifier& verifier, const Result<SourcePoint>& at_read, SourceReport& report,
                   const CommandOptions& options, const std::function<Result<bool>()>& catch_up) {
  RepairReport& repair = report.repair.emplace();
  std::vector<Difference> asked;
  std::vector<Difference> left;  // differences repair could not ask for: reported as they are
  std::vector<std::string> signal_keys;
  std::vector<const Difference*> extra;
  for (const auto& d : report.differences) {
    if (d.kind == Difference::Kind::ExtraLive) extra.push_back(&d);
    else signal_keys.push_back(d.source_key);
  }
  const auto started = Clock::now();
  if (!signal_keys.empty()) {
    auto collection = signal_collection(config, source);
    Result<std::vector<std::string>> signals = collection
        ? snapshot_signals(source.connector, fmt::format("{}", fmt::join(table.table(), ".")), table.key_column(), signal_keys)
        : std::unexpected(collection.error());
    std::optional<Error> failed = signals ? std::nullopt : std::optional<Error>(signals.error());
    for (size_t i = 0; signals && !failed && i < signals->size(); ++i) {
      // The id only has to be unique in the signal table (VARCHAR(42)).
      const std::string id = fmt::format("metersync-verify-{}-{}",
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count(), i);
      auto written = table.execute(signal_insert_sql(source.connector, *collection),
                                   {sink::SqlParam::ascii(id), sink::SqlParam::ascii("execute-snapshot"),
                                    sink::SqlParam::national((*signals)[i])});
      if (!written) failed = written.error();
      else ++repair.signals;
    }
    for (const auto& d : report.differences) {
      if (d.kind == Difference::Kind::ExtraLive) continue;
      if (failed) {
        repair.not_attempted.push_back({d.source_key, failed->describe()});
        left.push_back(d);
      } else {
        asked.push_back(d);
      }
    }
    if (!failed) repair.keys_signalled = static_cast<int64_t>(signal_keys.size());
  }
  if (!extra.empty()) {
    std::optional<std::string> failed;
    std::optional<KeyTemplate> key;
    if (!at_read) failed = "the source's position at the verify read: " + at_read.error().describe();
    if (!failed) {
      auto newest = newest_key_record(config, source.topic);
      auto parsed = newest ? key_template(*newest) : Result<KeyTemplate>(std::unexpected(newest.error()));
      if (parsed) key = *parsed;
      else failed = parsed.error().describe();
    }
    std::vector<std::pair<std::string, std::string>> records;
    std::vector<const Difference*> built;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    for (const Difference* d : extra) {
      Result<std::string> record = failed ? Result<std::string>(std::unexpected(repair_failure(*failed)))
                                          : source_key_of(source, d->key);
      Result<std::string> value_json = record ? key_value_json(*key, *record) : record;
      Result<std::string> value = value_json
          ? delete_record_value(DeleteRecordSpec{source.connector, source.topic, table.table(), *at_read, now_ms},
                                *key, *value_json)
          : value_json;
      if (!value) {
        repair.not_attempted.push_back({d->key, value.error().describe()});
        left.push_back(*d);
        continue;
      }
      records.emplace_back(key_record(*key, *value_json), std::move(*value));
      built.push_back(d);
    }
    if (!records.empty()) {
      auto sent = produce_records(config, source.topic, records);
      for (const Difference* d : built) {
        if (sent) {
          asked.push_back(*d);
        } else {
          repair.not_attempted.push_back({d->key, sent.error().describe()});
          left.push_back(*d);
        }
      }
      if (sent) repair.delete_records = static_cast<int64_t>(records.size());
    }
  }

  // Compared until every asked key agrees or the time is up; each comparison waits for the
  // pipeline as a re-check round does, so a key is equal only once Meter Master shows it.
  std::map<std::string, Difference> still;
  for (const auto& d : asked) still.insert_or_assign(d.key, d);
  const auto deadline = started + options.repair_timeout;
  while (!still.empty()) {
    std::optional<Error> wait_error;
    std::vector<Difference> keys;
    keys.reserve(still.size());
    for (const auto& [key, d] : still) keys.push_back(d);
    auto again = verifier.compare_again(keys, report, [&] {
      auto waited = catch_up();
      if (!waited) wait_error = waited.error();
    });
    if (wait_error) {
      repair.error = "waiting for the pipeline: " + wait_error->describe();
      break;
    }
    if (!again) {
      repair.error = again.error().describe();
      break;
    }
    std::map<std::string, Difference> next;
    for (auto& [key, d] : *again)
      if (still.contains(key)) next.insert_or_assign(key, std::move(d));
    still = std::move(next);
    if (still.empty()) break;
    if (Clock::now() >= deadline) {
      repair.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  repair.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  for (const auto& d : asked)
    if (!still.contains(d.key)) repair.repaired.push_back(d);
  std::map<std::string, Difference> remaining;
  for (auto& d : left) remaining.insert_or_assign(d.key, std::move(d));
  for (auto& [key, d] : still) remaining.insert_or_assign(key, std::move(d));
  report.differences.clear();
  for (auto& [key, d] : remaining) report.differences.push_back(std::move(d));
}

}  // namespace

SourceReport verify_one(const config::Config& config, const config::SourceConfig& source,
                        const sink::OdbcEnvironment& environment, const CommandOptions& options) {
  const auto columns = compared_columns(source);
  VerifyOptions verify_options;
  verify_options.encoding = encoding_of(config.sink.dialect);
  for (const auto* column : columns) verify_options.column_names.emplace_back(column->name);
  verify_options.catch_up = [&] { return wait_for_pipeline(config, source, options.catch_up_timeout, options.stop); };
  SourceReport failed;
  failed.source = source.name;
  if (source.connection.empty()) {
    failed.error = "no sources." + source.name + ".connection: set it to verify this source";
    return failed;
  }
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
  // The source's log position before its table is read: a delete record for a key the read
  // does not find carries it, so that any change of the key after the read is newer.
  Result<SourcePoint> at_read = std::unexpected(repair_failure("not read"));
  if (options.repair) {
    const std::string sql = source_position_sql(source.connector);
    auto rows = sql.empty() ? Result<std::vector<sink::SqlRow>>(std::unexpected(repair_failure(
                                  "repair is built for postgres, mysql and mariadb sources, not " + source.connector)))
                            : table->query(sql);
    at_read = !rows ? Result<SourcePoint>(std::unexpected(rows.error()))
                    : parse_source_point(source.connector, rows->empty() ? sink::SqlRow{} : rows->front());
  }
  Verifier verifier(*table, *meter_master, verify_options);
  SourceReport report = verifier.run(source.name);
  if (options.repair && report.error.empty() && !report.differences.empty())
    repair_source(config, source, *table, verifier, at_read, report, options, verify_options.catch_up);
  return report;
}

namespace {

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
    if (r.repair) {
      const RepairReport& repair = *r.repair;
      for (const auto& d : repair.repaired)
        out += fmt::format("{} repaired {} {}\n", r.source, kind_name(d.kind), d.key);
      for (const auto& n : repair.not_attempted)
        out += fmt::format("{} not repaired {}: {}\n", r.source, n.source_key, n.reason);
      out += fmt::format("{}: repair: {} key(s) in {} snapshot signal(s), {} delete record(s); {} repaired, {} still "
                         "differing{}{}; {:.2f} s\n",
                         r.source, repair.keys_signalled, repair.signals, repair.delete_records,
                         repair.repaired.size(), r.differences.size(),
                         repair.timed_out ? " (--repair-timeout ran out)" : "",
                         repair.error.empty() ? "" : ": " + repair.error, repair.seconds);
    }
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
    if (r.repair) {
      nlohmann::json repaired = nlohmann::json::array();
      for (const auto& d : r.repair->repaired)
        repaired.push_back({{"kind", kind_name(d.kind)}, {"key", d.key},
                            {"source_key", d.source_key.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.source_key)}});
      nlohmann::json not_attempted = nlohmann::json::array();
      for (const auto& n : r.repair->not_attempted)
        not_attempted.push_back({{"key", n.source_key}, {"reason", n.reason}});
      entry["repair"] = {{"signals", r.repair->signals},
                         {"keys_signalled", r.repair->keys_signalled},
                         {"delete_records", r.repair->delete_records},
                         {"repaired", repaired},
                         {"not_attempted", not_attempted},
                         {"timed_out", r.repair->timed_out},
                         {"seconds", r.repair->seconds}};
      if (!r.repair->error.empty()) entry["repair"]["error"] = r.repair->error;
    }
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
    reports.push_back(verify_one(config, *source, environment, options));
  }
  out << (options.json ? render_json(reports) : render_text(reports));
  const bool equal = std::all_of(reports.begin(), reports.end(), [](const auto& r) { return r.equal(); });
  return equal ? 0 : 1;
}

}  // namespace metersync::verify
