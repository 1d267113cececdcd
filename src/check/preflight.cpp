#include "check/preflight.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>

#include "check/source_prerequisites.hpp"
#include "connect/client.hpp"
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

// Each source's connector and tasks RUNNING; keeps each connector's configuration (its
// publication and slot names, for the PostgreSQL source checks), whatever its state.
void check_connectors(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                      const Options& options, Report& report,
                      std::map<std::string, std::map<std::string, std::string>>& connector_configs) {
  if (config.connect.url.empty()) return;
  const std::string& url = config.connect.url;
  const connect::Client client(url, options.timeout);
  const auto registered = client.connectors();
  if (!registered) {
    const Error& error = registered.error();
    report.fail("connect " + url,
                (error.http_status == 0 ? error.reason : "answered " + std::to_string(error.http_status)) +
                    "; fix: check connect.url and that Kafka Connect runs");
    return;
  }
  report.ok("connect " + url, std::to_string(registered->size()) + " connector(s) registered");
  for (const auto* source : sources) {
    const std::string subject = "connector " + (source->connector_name.empty() ? "of " + source->name : source->connector_name);
    if (source->connector_name.empty()) {
      report.ok(subject, "not checked (sources." + source->name + ".connector_name is empty)");
      continue;
    }
    const std::string name = source->connector_name;
    const auto status = client.status(name);
    if (status && !*status) {
      report.fail(subject, "not registered; fix: register it (POST " + url + "/connectors), or correct sources." +
                               source->name + ".connector_name");
      continue;
    }
    if (const auto connector_config = client.config(name); connector_config) {
      if (const auto& found = *connector_config) connector_configs[source->name] = *found;
    }
    if (!status) {
      report.fail(subject, "status not readable (" + status.error().describe() + "); fix: check Kafka Connect's log");
      continue;
    }
    const std::optional<connect::ConnectorStatus>& known = *status;
    if (!known) continue;  // not registered: reported above
    const connect::ConnectorStatus& state = *known;
    if (state.state != "RUNNING") {
      report.fail(subject, "is " + state.state + "; fix: " +
                               (state.state == "PAUSED" ? "curl -X PUT " + url + "/connectors/" + name + "/resume"
                                                        : "read its trace (GET " + url + "/connectors/" + name +
                                                              "/status), fix the cause, then POST " + url +
                                                              "/connectors/" + name + "/restart"));
      continue;
    }
    std::string found;
    for (const connect::Problem& problem : connect::problems(state)) {
      found += (found.empty() ? "" : "; ") + (problem.state == "no task" ? std::string("no task running") : problem.describe());
    }
    if (!found.empty()) {
      report.fail(subject, found + "; fix: correct the cause, then POST " + url + "/connectors/" + name +
                               "/restart?includeTasks=true&onlyFailed=true");
      continue;
    }
    report.ok(subject, "RUNNING, " + std::to_string(state.tasks.size()) + " task(s) RUNNING");
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
      // The answer's reason says which check failed (a stale webhook-timestamp is a clock apart).
      report.fail(subject, where + " refused the credentials (HTTP " + std::to_string(result.status) +
                               ")" + (result.body_excerpt.empty() ? "" : ": " + result.body_excerpt) +
                               "; fix: check sources." + source->name +
                               ".endpoint.auth_header, signing_secret and signature_scheme, and that "
                               "both clocks are right");
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
                   const std::map<std::string, std::map<std::string, std::string>>& connector_configs,
                   Report& report) {
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
      if (const auto publication = found->second.find("publication.name"); publication != found->second.end()) {
        target.publication = publication->second;
      }
      if (const auto slot = found->second.find("slot.name"); slot != found->second.end()) target.slot = slot->second;
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
  std::map<std::string, std::map<std::string, std::string>> connector_configs;
  check_connectors(config, sources, options, report, connector_configs);
  check_sink(config, report);
  check_endpoints(sources, report);
  check_sources(sources, connector_configs, report);
  return report;
}

}  // namespace metersync::check
