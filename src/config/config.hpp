// metersync's configuration: one YAML file; every value may hold `${VAR}` /
// `${VAR:-default}`, taken from the environment (secrets stay out of the file). Values
// are substituted after the YAML is read, so a secret's characters never change its
// structure, and an unset variable is reported with the key that uses it.
//
// Every key is declared once in config.cpp's key table (name, type, default, check,
// help); that table drives parsing, validation messages and docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/mapping_spec.hpp"

namespace metersync {

// A broken start: the message names the key (as a dotted path) and the fix.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace config {

struct KafkaConfig {
  std::string bootstrap_servers;                  // kafka.bootstrap_servers
  std::string group_prefix = "metersync";         // kafka.group_prefix
  std::map<std::string, std::string> properties;  // kafka.properties: extra librdkafka settings
};

enum class Dialect { SqlServer, Postgres, MariaDb };
// sink.dialect's spelling: "sqlserver", "postgres", "mariadb".
std::string dialect_name(Dialect dialect);

// How the SQL Server dialect brings a batch's rows to the server (docs/sqlserver.md).
enum class SqlServerStage {
  Auto,  // Json where the server answers OPENJSON (SQL Server 2016+, compatibility level 130+)
  Json,  // one bound NVARCHAR(MAX) JSON document per segment, read with OPENJSON ... WITH
  Rows,  // multi-row INSERTs of bound parameters, 131 rows each (any SQL Server)
};

struct SinkConfig {
  Dialect dialect = Dialect::Postgres;             // sink.dialect: sqlserver | postgres | mariadb
  std::string connection;                          // sink.connection: ODBC connection string
  std::string schema;                              // sink.schema (dbo / public / database name)
  std::string table = "MeterMaster";               // sink.table
  std::string offsets_table = "MeterSyncOffsets";  // sink.offsets_table
  std::string truncates_table = "MeterSyncTruncates";  // sink.truncates_table
  int max_batch_events = 5000;                         // sink.max_batch_events
  std::size_t max_batch_bytes = 10u << 20;             // sink.max_batch_bytes
  std::chrono::milliseconds max_batch_wait{5};        // sink.max_batch_wait_ms
  std::chrono::milliseconds retry_initial{200};        // sink.retry_initial_ms
  std::chrono::milliseconds retry_max{10000};          // sink.retry_max_ms
  SqlServerStage sqlserver_stage = SqlServerStage::Auto;  // sink.sqlserver_stage
};

struct EndpointConfig {
  std::string url;                                   // sources.<name>.endpoint.url
  std::optional<std::string> auth_header;            // ...endpoint.auth_header ("Bearer ${TOKEN}")
  std::optional<std::string> signing_secret;         // ...endpoint.signing_secret
  // ...endpoint.signing_secret_previous: the secret being retired, signed with beside
  // signing_secret until signing_secret_previous_until (absent: for as long as it is set).
  std::optional<std::string> signing_secret_previous;
  std::optional<std::chrono::system_clock::time_point> signing_secret_previous_until;
  std::string signature_scheme = "both";               // ...endpoint.signature_scheme
  int max_batch_events = 500;                        // ...endpoint.max_batch_events
  std::size_t max_batch_bytes = 1 << 20;             // ...endpoint.max_batch_bytes
  std::chrono::milliseconds linger{5};              // ...endpoint.linger_ms
  std::chrono::milliseconds connect_timeout{2000};   // ...endpoint.connect_timeout_ms
  std::chrono::milliseconds request_timeout{10000};  // ...endpoint.request_timeout_ms
  std::chrono::milliseconds retry_initial{200};      // ...endpoint.retry_initial_ms
  std::chrono::milliseconds retry_max{30000};        // ...endpoint.retry_max_ms
  int max_attempts = 10;                             // ...endpoint.max_attempts
  int max_in_flight = 4;                             // ...endpoint.max_in_flight
  int breaker_failures = 5;                          // ...endpoint.breaker_failures
  std::string dead_letter_topic;  // ...endpoint.dead_letter_topic; empty: pipeline::topics_of names it
  bool tls_verify = true;         // ...endpoint.tls_verify
  std::optional<std::string> ca_file;  // ...endpoint.ca_file
};

struct SourceConfig {
  std::string name;               // the map key under `sources:` == SourceSystem value
  std::string topic;              // sources.<name>.topic
  std::string dead_letter_topic;  // sources.<name>.dead_letter_topic; empty: pipeline::topics_of names it
  std::string
      connector;        // sources.<name>.connector: postgres | mysql | mariadb | sqlserver | oracle
  bool enabled = true;  // sources.<name>.enabled
  MappingSpec mapping;  // sources.<name>.mapping
  std::optional<EndpointConfig> endpoint;  // sources.<name>.endpoint (absent: no dispatch)
  std::string connector_name;    // sources.<name>.connector_name: its Kafka Connect connector
  std::string connection;  // sources.<name>.connection: ODBC, for `check` and `verify`
  // sources.<name>.columns: column -> Debezium type name, for topics written without
  // schemas (value.converter.schemas.enable=false); empty when messages carry schemas.
  std::map<std::string, std::string> columns;
};

// Kafka Connect, for `metersync check` (connectors and tasks RUNNING).
struct ConnectConfig {
  std::string url;  // connect.url; "" = not checked
  std::chrono::milliseconds poll{5000};  // connect.poll_ms
};

// `run`'s periodic verify (docs/verify.md).
struct VerifyConfig {
  std::chrono::milliseconds every{0};  // verify.every_ms; 0 = off
};

// The operator's HTTP listener of `run` (/metrics, /healthz, /readyz).
struct HttpConfig {
  std::string listen = "127.0.0.1:9180";        // http.listen; "" = no listener
  std::chrono::milliseconds stall_after{60000};  // http.stall_after_ms
  std::string replay_token;                      // http.replay_token; "" = replay from the page off
};

// `http.listen`'s value split; nullopt for "" (no listener). The key's check guarantees the
// form, so this only splits.
struct ListenAddress {
  std::string host;
  int port = 0;
};
std::optional<ListenAddress> listen_address(const HttpConfig& http);

struct Config {
  KafkaConfig kafka;
  SinkConfig sink;
  HttpConfig http;
  ConnectConfig connect;
  VerifyConfig verify;
  std::vector<SourceConfig> sources;  // in file order
  std::string status_file;            // status_file: where `run` writes its status JSON ("" = none)
  // instance_id: this process among the instances sharing the consumer groups; the host
  // name when not set. The status file and the metrics name it; `run`'s consumers use it
  // as group.instance.id (static membership, docs/operating.md "Several instances").
  std::string instance_id;
};

// The host name, as instance_id's default ("metersync" when the system names none).
std::string host_name();

// Reads, interpolates and validates. Throws ConfigError naming the key and the fix.
Config load_file(const std::string& path);
Config load_string(const std::string& yaml_text);

// docs/configuration.md: every key with its type, default, check and help, the mapping
// rule language and the Meter Master columns, generated from the same tables the
// loader uses (`metersync config-docs` prints it).
std::string reference_markdown();

}  // namespace config
}  // namespace metersync
