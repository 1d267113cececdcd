#include "app/cli.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "engine/pipeline.hpp"
#include "app/redact.hpp"
#include "app/status_file.hpp"
#include "app/supervisor.hpp"
#include "check/preflight.hpp"
#include "dispatch/replay.hpp"
#include "config/config.hpp"
#include "kafka/client_config.hpp"
#include "mapping/source_mapper.hpp"
#include "metrics/catalogue.hpp"
#include "pipeline/topics.hpp"
#include "sink/sink.hpp"
#include "verify/verify_command.hpp"

namespace metersync::app {
namespace {

constexpr int kRuntimeFailure = 1;
constexpr int kConfigFailure = 2;

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("metersync");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

int check_config(const config::Config& config) {
  // Compiling every mapping catches rule errors the YAML parse cannot see.
  for (const auto& source : config.sources) mapping::SourceMapper mapper(source);
  std::cout << "configuration is valid\n"
            << "kafka: " << config.kafka.bootstrap_servers << " (groups " << config.kafka.group_prefix
            << "-<source>)\n";
  for (const auto& [name, value] : config.kafka.properties) {
    std::cout << "  " << name << " = " << (kafka::is_secret_property(name) ? "***" : value) << "\n";
  }
  std::cout << "sink: " << config::dialect_name(config.sink.dialect) << " "
            << redact_connection_string(config.sink.connection) << " table "
            << (config.sink.schema.empty() ? "" : config.sink.schema + ".") << config.sink.table
            << ", offsets " << config.sink.offsets_table << "\n";
  for (const auto& source : config.sources) {
    std::cout << "source " << source.name << (source.enabled ? "" : " (disabled)") << ": topic "
              << source.topic << ", connector " << source.connector << ", group "
              << engine::group_for(config, source) << ", dead letters "
              << pipeline::topics_of(source).dead_letters
              << ", " << source.mapping.columns.size() << " mapped columns\n";
  }
  return 0;
}

// The sources a command works on: those named (each must exist), else every enabled one.
std::vector<const config::SourceConfig*> chosen_sources(const config::Config& config,
                                                        const std::vector<std::string>& names) {
  std::vector<const config::SourceConfig*> chosen;
  for (const auto& source : config.sources) {
    const bool named = std::find(names.begin(), names.end(), source.name) != names.end();
    if (names.empty() ? source.enabled : named) chosen.push_back(&source);
  }
  for (const auto& name : names) {
    if (std::none_of(chosen.begin(), chosen.end(), [&](const auto* s) { return s->name == name; }))
      throw ConfigError("--source " + name + ": no such source in the configuration");
  }
  return chosen;
}

int preflight(const config::Config& config, const std::vector<std::string>& names) {
  for (const auto& source : config.sources) mapping::SourceMapper mapper(source);
  const check::Report report = check::preflight(config, chosen_sources(config, names));
  std::cout << report.render();
  return report.failed() ? kRuntimeFailure : 0;
}

int init_sink(const config::Config& config) {
  sink::Sink sink(config.sink);
  sink.init();
  std::cout << "sink ready: " << (config.sink.schema.empty() ? "" : config.sink.schema + ".")
            << config.sink.table << ", " << config.sink.offsets_table << " and "
            << config.sink.truncates_table << "\n"
            << config::dialect_name(config.sink.dialect) << " stage: " << sink::stage_name(sink.stage())
            << ": " << sink.stage_description() << "\n";
  return 0;
}

// The running process's status and readiness from its listener; nullopt when nothing answers
// there (then the status file is read).
std::optional<std::string> status_from_listener(const config::Config& config, bool raw_json) {
  const auto address = config::listen_address(config.http);
  if (!address) return std::nullopt;
  httplib::Client client(address->host, address->port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  const auto status = client.Get("/status");
  if (!status || status->status != 200) return std::nullopt;
  if (raw_json) return status->body + "\n";
  std::string out = StatusFile::describe(status->body, "http://" + config.http.listen + "/status");
  const auto ready = client.Get("/readyz");
  if (!ready) return out;
  const nlohmann::json body = nlohmann::json::parse(ready->body, nullptr, false);
  if (!body.is_object()) return out;
  out += std::string("ready: ") + (body.value("ready", false) ? "yes" : "no") + "\n";
  for (const auto& d : body.value("destinations", nlohmann::json::array())) {
    out += fmt::format("  {:<12} {:<13} {}{}\n", d.value("source", "?"), d.value("destination", "?"),
                       d.value("ready", false) ? "ready" : "NOT READY: " + d.value("reason", std::string()),
                       d.contains("since") && d["since"].is_string() ? " (since " + d["since"].get<std::string>() + ")" : "");
  }
  return out;
}

int print_status(const std::string& path, bool raw_json) {
  if (!raw_json) {
    std::cout << StatusFile::describe_file(path);
    return 0;
  }
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read status file " + path);
  std::cout << in.rdbuf();
  return 0;
}

}  // namespace

int main_cli(int argc, char** argv) {
  CLI::App app{"metersync: keeps the Meter Master table in sync with Debezium change events"};
  app.require_subcommand(0, 1);
  app.fallthrough();
  std::string config_path = "config/metersync.yaml";
  std::string log_level = "info";
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  std::vector<std::string> only_sources;
  auto* run = app.add_subcommand("run", "run the pipelines until SIGTERM/SIGINT (the default)");
  run->add_option("--source", only_sources, "run only this source (repeatable)");
  auto* init = app.add_subcommand("init", "create or check the Meter Master and offsets tables, then exit");
  auto* check = app.add_subcommand("check-config", "load and validate the configuration, then exit");
  auto* docs = app.add_subcommand("config-docs", "print the configuration reference (Markdown)");
  auto* metrics_docs = app.add_subcommand("metrics-docs", "print the metrics reference (Markdown)");
  std::vector<std::string> check_sources;
  auto* preflight_check = app.add_subcommand(
      "check", "check Kafka, the topics, Kafka Connect, the sink, the endpoints and the sources' CDC "
               "settings; one line each with the fix; exit 1 when any fails");
  preflight_check->add_option("--source", check_sources, "check only this source (repeatable)");
  auto* status = app.add_subcommand(
      "status", "show a running metersync's status and readiness (from its http.listen, else its status file)");
  std::string replay_source;
  auto* replay = app.add_subcommand("replay", "post a source's endpoint dead-letter batches again, then exit");
  replay->add_option("--source", replay_source, "the source whose endpoint dead letters to replay")->required();
  std::vector<std::string> verify_sources;
  verify::CommandOptions verify_options;
  int catch_up_seconds = 60;
  auto* verify_cmd = app.add_subcommand(
      "verify", "compare Meter Master with the source tables through the sources' mapping; exit 1 "
                "when anything differs (docs/verify.md)");
  verify_cmd->add_option("--source", verify_sources, "verify only this source (repeatable)");
  verify_cmd->add_flag("--json", verify_options.json, "print the report as JSON");
  verify_cmd->add_option("--catch-up-timeout", catch_up_seconds,
                         "seconds to wait for the pipeline before differing keys are compared again")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  int repair_seconds = 120;
  verify_cmd->add_flag("--repair", verify_options.repair,
                       "ask Debezium to read the keys that still differ again (an incremental snapshot signal) "
                       "and close extra live keys with delete records through the pipeline, then verify them "
                       "again (docs/verify.md)");
  verify_cmd->add_option("--repair-timeout", repair_seconds,
                         "seconds --repair waits for the repaired keys to pass through the pipeline")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  bool raw_json = false;
  std::string status_path;
  status->add_flag("--json", raw_json, "print the status file as it is");
  status->add_option("--file", status_path, "status file (default: status_file from the configuration)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kConfigFailure;
  }
  setup_logging(log_level);

  if (docs->parsed()) {
    std::cout << config::reference_markdown();
    return 0;
  }
  if (metrics_docs->parsed()) {
    std::cout << metrics::reference_markdown();
    return 0;
  }
  // Signals are blocked before any thread (librdkafka's included) exists.
  const bool running = run->parsed() || app.get_subcommands().empty();
  if (running) Supervisor::block_stop_signals();

  try {
    if (status->parsed() && !status_path.empty()) return print_status(status_path, raw_json);
    config::Config config = config::load_file(config_path);
    if (check->parsed()) return check_config(config);
    if (init->parsed()) return init_sink(config);
    if (preflight_check->parsed()) return preflight(config, check_sources);
    if (replay->parsed()) return dispatch::replay_command(config, replay_source);
    if (verify_cmd->parsed()) {
      for (const auto& source : config.sources) mapping::SourceMapper mapper(source);
      verify_options.catch_up_timeout = std::chrono::seconds(catch_up_seconds);
      verify_options.repair_timeout = std::chrono::seconds(repair_seconds);
      return verify::verify_command(config, chosen_sources(config, verify_sources), verify_options, std::cout);
    }
    if (status->parsed()) {
      if (const auto live = status_from_listener(config, raw_json)) {
        std::cout << *live;
        return 0;
      }
      if (config.status_file.empty()) {
        throw ConfigError("status_file: not set in " + config_path + " (set it, or pass --file)");
      }
      return print_status(config.status_file, raw_json);
    }
    Supervisor supervisor(config, only_sources);
    return supervisor.run();
  } catch (const ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kConfigFailure;
  } catch (const kafka::ClientConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kConfigFailure;
  } catch (const sink::SinkError& e) {
    spdlog::error("sink: {}", e.what());
    return kRuntimeFailure;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kRuntimeFailure;
  }
}

}  // namespace metersync::app
