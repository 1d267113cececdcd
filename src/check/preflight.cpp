#include "check/preflight.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "check/source_prerequisites.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/http_sender.hpp"
#include "kafka/topic_metadata.hpp"
#include "sink/odbc_connection.hpp"
#include "sink/odbc_environment.hpp"
#include "sink/sink.hpp"

namespace metersync::check {
namespace {

using Json = nlohmann::json;

void check_kafka(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                 const Options& options, Report& report) {
  std::vector<std::string> topics;
  topics.reserve(sources.size());
  for (const auto* source : sources) topics.push_back(source->topic);
  const std::string subject = "kafka " + config.kafka.bootstrap_servers;
  const auto metadata = kafka::describe_topics({config.kafka.bootstrap_servers, config.kafka.properties, "metersync-check"},
                                               topics, options.timeout);
  if (!metadata) {
    report.fail(subject, metadata.error() +
                             "; fix: check kafka.bootstrap_servers (and kafka.properties for TLS/SASL), "
                             "and that the brokers run");
    return;
  }
  report.ok(subject, std::to_string(metadata->brokers) + " broker(s) answer");
  for (const auto* source : sources) {
    const auto& partitions = metadata->partitions.at(source->topic);
    if (partitions) {
      report.ok("topic " + source->topic, std::to_string(*partitions) + " partition(s)");
    } else {
      report.fail("topic " + source->topic,
                  "does not exist; fix: check sources." + source->name +
                      ".topic, and that its connector has run (Debezium creates the topic with its "
                      "first change)");
    }
  }
}

// GET on Kafka Connect's REST API: (status, parsed body), status 0 when no answer came.
std::pair<int, Json> connect_get(const std::string& url, const std::string& path, const Options& options) {
  httplib::Client client(url);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count();
  client.set_connection_timeout(seconds, 0);
  client.set_read_timeout(seconds, 0);
  const auto result = client.Get(path);
  if (!result) return {0, Json(httplib::to_string(result.error()))};
  return {result->status, Json::parse(result->body, nullptr, false)};
}

// The connector's publication and slot names (PostgreSQL), when Connect is configured.
void check_connectors(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                      const Options& options, Report& report,
                      std::map<std::string, Json>& connector_configs) {
  if (config.connect.url.empty()) return;
  const std::string& url = config.connect.url;
  const auto [status, body] = connect_get(url, "/connectors", options);
  if (status != 200) {
    report.fail("connect " + url,
                (status == 0 ? "no answer (" + body.get<std::string>() + ")" : "answered " + std::to_string(status)) +
                    "; fix: check connect.url and that Kafka Connect runs");
    return;
  }
  report.ok("connect " + url, std::to_string(body.size()) + " connector(s) registered");
  for (const auto* source : sources) {
    const std::string subject = "connector " + (source->connector_name.empty() ? "of " + source->name : source->connector_name);
    if (source->connector_name.empty()) {
      report.ok(subject, "not checked (sources." + source->name + ".connector_name is empty)");
      continue;
    }
    const std::string name = source->connector_name;
    const auto [code, state] = connect_get(url, "/connectors/" + name + "/status", options);
    if (code == 404) {
      report.fail(subject, "not registered; fix: register it (POST " + url + "/connectors), or correct sources." +
                               source->name + ".connector_name");
      continue;
    }
    // Its publication and slot names, whatever its state: the source checks need them.
    const auto [config_code, connector_config] = connect_get(url, "/connectors/" + name + "/config", options);
    if (config_code == 200 && connector_config.is_object()) connector_configs[source->name] = connector_config;
    if (code != 200 || !state.is_object()) {
      report.fail(subject, "status not readable (HTTP " + std::to_string(code) + "); fix: check Kafka Connect's log");
      continue;
    }
    const std::string connector_state = state.value("/connector/state"_json_pointer, std::string("?"));
    if (connector_state != "RUNNING") {
      report.fail(subject, "is " + connector_state + "; fix: " +
                               (connector_state == "PAUSED" ? "curl -X PUT " + url + "/connectors/" + name + "/resume"
                                                            : "read its trace (GET " + url + "/connectors/" + name +
                                                                  "/status), fix the cause, then POST " + url +
                                                                  "/connectors/" + name + "/restart"));
      continue;
    }
    std::string problems;
    const Json tasks = state.value("tasks", Json::array());
    for (const Json& task : tasks) {
      const std::string task_state = task.value("state", std::string("?"));
      if (task_state == "RUNNING") continue;
      std::string trace = task.value("trace", std::string());
      trace = trace.substr(0, trace.find('\n'));
      problems += (problems.empty() ? "" : "; ") + std::string("task ") + std::to_string(task.value("id", -1)) + " is " +
                  task_state + (trace.empty() ? "" : " (" + trace + ")");
    }
    if (tasks.empty()) problems = "no task running";
    if (!problems.empty()) {
      report.fail(subject, problems + "; fix: correct the cause, then POST " + url + "/connectors/" + name +
                               "/restart?includeTasks=true&onlyFailed=true");
      continue;
    }
    report.ok(subject, "RUNNING, " + std::to_string(tasks.size()) + " task(s) RUNNING");
  }
}

void check_sink(const config::Config& config, Report& report) {
  const std::string subject = "sink (" + config::dialect_name(config.sink.dialect) + ")";
  try {
    sink::Sink sink(config.sink);
    report.ok(subject, "connected; writes by " + std::string(sink::stage_name(sink.stage())) + ": " +
                           sink.stage_description());
    for (const sink::TableReport& table : sink.verify()) {
      if (table.ok) {
        report.ok("sink table " + table.table, table.detail);
      } else {
        report.fail("sink table " + table.table, table.detail);
      }
    }
  } catch (const sink::SinkError& error) {
    report.fail(subject, std::string(error.what()) +
                             "; fix: check sink.connection (server, port, database, login and password)");
  }
}

void check_endpoints(const std::vector<const config::SourceConfig*>& sources, Report& report) {
  for (const auto* source : sources) {
    if (!source->endpoint) continue;
    const std::string subject = "endpoint of " + source->name;
    dispatch::SenderSettings settings = dispatch::sender_settings(*source->endpoint);
    const std::string batch_id = "metersync-check-" + source->name;
    const Json body{{"source", source->name}, {"batch_id", batch_id}, {"events", Json::array()}};
    dispatch::AttemptResult result;
    try {
      dispatch::HttpSender sender(settings);
      result = sender.post(body.dump(), batch_id);
    } catch (const std::exception& error) {
      report.fail(subject, std::string(error.what()));
      continue;
    }
    const std::string where = source->endpoint->url;
    if (result.transport_error) {
      report.fail(subject, "no answer from " + where + ": " + *result.transport_error +
                               "; fix: check sources." + source->name + ".endpoint.url and that the endpoint runs");
    } else if (result.status == 401 || result.status == 403) {
      report.fail(subject, where + " refused the credentials (HTTP " + std::to_string(result.status) +
                               "); fix: check sources." + source->name + ".endpoint.auth_header and signing_secret");
    } else if (result.status == 404) {
      report.fail(subject, where + " has no such route (HTTP 404); fix: check sources." + source->name +
                               ".endpoint.url");
    } else if (result.status >= 500) {
      report.fail(subject, where + " answered " + std::to_string(result.status) + ": " + result.body_excerpt +
                               "; fix: look at the endpoint's side");
    } else {
      // 2xx, or 400/422 for the empty batch itself: the address, the credentials and the
      // signature were accepted before the body was judged.
      report.ok(subject, where + " reachable and authorised (a signed empty batch answered " +
                             std::to_string(result.status) + ")");
    }
  }
}

config::Dialect odbc_dialect_of(const std::string& connector) {
  if (connector == "mysql" || connector == "mariadb") return config::Dialect::MariaDb;
  if (connector == "sqlserver") return config::Dialect::SqlServer;
  return config::Dialect::Postgres;  // PostgreSQL, and Oracle's SQLSTATEs read the same way
}

void check_sources(const std::vector<const config::SourceConfig*>& sources,
                   const std::map<std::string, Json>& connector_configs, Report& report) {
  std::unique_ptr<sink::OdbcEnvironment> environment;
  for (const auto* source : sources) {
    if (source->connection.empty()) continue;
    const std::string subject = "source " + source->name;
    const auto table = table_of_topic(source->topic);
    if (!table) {
      report.fail(subject, "topic " + source->topic + " names no schema.table");
      continue;
    }
    SourceTarget target{source->connector, table->first, table->second};
    if (const auto found = connector_configs.find(source->name); found != connector_configs.end()) {
      target.publication = found->second.value("publication.name", target.publication);
      target.slot = found->second.value("slot.name", target.slot);
    }
    try {
      if (!environment) environment = std::make_unique<sink::OdbcEnvironment>();
      sink::OdbcConnection connection(*environment, source->connection, odbc_dialect_of(source->connector));
      for (const Prerequisite& p : prerequisites(target)) {
        std::vector<sink::SqlParam> params;
        params.reserve(p.params.size());
        for (const std::string& value : p.params) params.push_back(sink::SqlParam::national(value));
        const auto rows = connection.query(p.sql, params, p.what);
        Rows cells(rows.begin(), rows.end());
        const std::string problem = p.judge(cells);
        if (problem.empty()) {
          report.ok(subject + " " + p.what, "as Debezium needs it");
        } else {
          report.fail(subject + " " + p.what, problem);
        }
      }
    } catch (const sink::SinkError& error) {
      report.fail(subject, std::string(error.what()) + "; fix: check sources." + source->name +
                               ".connection (and that the connector's user may read the catalog)");
    }
  }
}

}  // namespace

Report preflight(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                 const Options& options) {
  Report report;
  std::string names;
  for (const auto* source : sources) names += (names.empty() ? "" : ", ") + source->name;
  report.ok("configuration", std::to_string(sources.size()) + " source(s): " + names);
  check_kafka(config, sources, options, report);
  std::map<std::string, Json> connector_configs;
  check_connectors(config, sources, options, report, connector_configs);
  check_sink(config, report);
  check_endpoints(sources, report);
  check_sources(sources, connector_configs, report);
  return report;
}

}  // namespace metersync::check
