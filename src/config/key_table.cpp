#include "config/key_table.hpp"

#include <array>
#include <chrono>

namespace metersync::config {
namespace {

// Setters convert a checked Setting into the struct member; the loader has already
// enforced the type, so the std::get calls cannot fail.
const std::string& text(const Setting& v) { return std::get<std::string>(v); }
int64_t integer(const Setting& v) { return std::get<int64_t>(v); }
bool flag(const Setting& v) { return std::get<bool>(v); }
std::chrono::milliseconds millis(const Setting& v) { return std::chrono::milliseconds(integer(v)); }
std::optional<std::string> optional_text(const Setting& v) {
  if (std::holds_alternative<std::string>(v) && !text(v).empty()) return text(v);
  return std::nullopt;
}

constexpr int64_t kDay = 86'400'000;

const std::array<Key<Config>, 24> kTopLevel{{
    {.name = "kafka.bootstrap_servers",
     .type = KeyType::String,
     .required = true,
     .format = Format::NonEmpty,
     .help = "Kafka brokers, host:port[,host:port...]",
     .set = [](Config& c, const Setting& v) { c.kafka.bootstrap_servers = text(v); }},
    {.name = "kafka.group_prefix",
     .type = KeyType::String,
     .default_value = "metersync",
     .format = Format::NonEmpty,
     .help = "consumer groups are <group_prefix>-<source> (sink) and "
             "<group_prefix>-<source>-endpoint (dispatch)",
     .set = [](Config& c, const Setting& v) { c.kafka.group_prefix = text(v); }},
    {.name = "kafka.properties",
     .type = KeyType::StringMap,
     .default_value = "{}",
     .help = "extra librdkafka settings for every client (security.protocol, sasl.*, ...); "
             "they override the consumer defaults metersync sets (kafka::Consumer::default_properties, "
             "listed in docs/design.md)",
     .set =
         [](Config& c, const Setting& v) {
           c.kafka.properties = std::get<std::map<std::string, std::string>>(v);
         }},
    {.name = "sink.dialect",
     .type = KeyType::Choice,
     .default_value = "postgres",
     .choices = "sqlserver|postgres|mariadb",
     .help = "the database that holds Meter Master",
     .set =
         [](Config& c, const Setting& v) {
           c.sink.dialect = text(v) == "sqlserver" ? Dialect::SqlServer
                            : text(v) == "mariadb" ? Dialect::MariaDb
                                                   : Dialect::Postgres;
         }},
    {.name = "sink.connection",
     .type = KeyType::String,
     .required = true,
     .format = Format::NonEmpty,
     .help = "ODBC connection string of the Meter Master database; keep the password in "
             "the environment: `${SINK_ODBC}`",
     .set = [](Config& c, const Setting& v) { c.sink.connection = text(v); }},
    {.name = "sink.schema",
     .type = KeyType::String,
     .default_value = "dbo (sqlserver), public (postgres), the connection's database (mariadb)",
     .derived = true,
     .format = Format::Identifier,
     .help =
         "schema (database on MariaDB) of Meter Master, the offsets table and the truncates table",
     .set = [](Config& c, const Setting& v) { c.sink.schema = text(v); }},
    {.name = "sink.table",
     .type = KeyType::String,
     .default_value = "MeterMaster",
     .format = Format::Identifier,
     .help = "the Meter Master table",
     .set = [](Config& c, const Setting& v) { c.sink.table = text(v); }},
    {.name = "sink.offsets_table",
     .type = KeyType::String,
     .default_value = "MeterSyncOffsets",
     .format = Format::Identifier,
     .help = "where Kafka offsets are stored in the same transaction as the rows",
     .set = [](Config& c, const Setting& v) { c.sink.offsets_table = text(v); }},
    {.name = "sink.truncates_table",
     .type = KeyType::String,
     .default_value = "MeterSyncTruncates",
     .format = Format::Identifier,
     .help = "the position of each source's latest truncate, so changes from before it that "
             "arrive later (from another partition) land deleted",
     .set = [](Config& c, const Setting& v) { c.sink.truncates_table = text(v); }},
    {.name = "sink.sqlserver_stage",
     .type = KeyType::Choice,
     .default_value = "auto",
     .choices = "auto|json|rows",
     .help = "sqlserver only: how a batch's rows reach the server. json: bound JSON "
             "documents of at most 16 KiB read with OPENJSON (needs SQL Server 2016+ and "
             "database compatibility level 130+); rows: multi-row INSERTs of bound parameters "
             "(any version, slower); auto: json when the server answers OPENJSON, else rows (the log and the status "
             "file say which)",
     .set =
         [](Config& c, const Setting& v) {
           c.sink.sqlserver_stage = text(v) == "json"   ? SqlServerStage::Json
                                    : text(v) == "rows" ? SqlServerStage::Rows
                                                        : SqlServerStage::Auto;
         }},
    {.name = "sink.max_batch_events",
     .type = KeyType::Integer,
     .default_value = "5000",
     .min = 1,
     .max = 1'000'000,
     .help = "changes written per transaction at most",
     .set = [](Config& c,
               const Setting& v) { c.sink.max_batch_events = static_cast<int>(integer(v)); }},
    {.name = "sink.max_batch_bytes",
     .type = KeyType::Integer,
     .default_value = "10485760",
     .min = 65'536,
     .max = 1'073'741'824,
     // Two batches are held (the one being written, the next filling), and the estimate leaves
     // out the allocator's slack and the prefetch behind them: resident memory grew by about
     // three times what was added (docs/sqlserver.md). The bench's Debezium SQL Server events
     // hold about 1.9 KB each, so the 10 MiB default ends a batch near 5,500 of them.
     .help = "bytes of consumed records a batch holds at most (each record as consumed, and "
             "its mapped change); a batch ends at this or at sink.max_batch_events, whichever "
             "comes first",
     .set = [](Config& c, const Setting& v) {
       c.sink.max_batch_bytes = static_cast<std::size_t>(integer(v));
     }},
    {.name = "sink.max_batch_wait_ms",
     .type = KeyType::Integer,
     .default_value = "5",
     .min = 0,
     .max = 60'000,
     // Short: while one batch is being written the next fills by itself, so a longer wait
     // adds latency without making batches bigger under load.
     .help = "how long a batch waits to fill once it holds a change",
     .set = [](Config& c, const Setting& v) { c.sink.max_batch_wait = millis(v); }},
    {.name = "sink.retry_initial_ms",
     .type = KeyType::Integer,
     .default_value = "200",
     .min = 1,
     .max = 600'000,
     .help = "first back-off after a transient database error",
     .set = [](Config& c, const Setting& v) { c.sink.retry_initial = millis(v); }},
    {.name = "sink.retry_max_ms",
     .type = KeyType::Integer,
     .default_value = "10000",
     .min = 1,
     .max = 3'600'000,
     .help = "longest back-off; the source stays paused and retries for ever",
     .set = [](Config& c, const Setting& v) { c.sink.retry_max = millis(v); }},
    {.name = "http.listen",
     .type = KeyType::String,
     .default_value = "127.0.0.1:9180",
     .format = Format::ListenAddress,
     .help = "host:port where `run` serves the operations page (/), /metrics (Prometheus), "
             "/healthz, /readyz and /status; "
             "\"\" for no listener. Loopback by default: put a proxy in front to expose it",
     .set = [](Config& c, const Setting& v) {
       c.http.listen = std::holds_alternative<std::string>(v) ? text(v) : "";
     }},
    {.name = "http.stall_after_ms",
     .type = KeyType::Integer,
     .default_value = "60000",
     .min = 1000,
     .max = kDay,
     .help = "/readyz reports a destination not ready once it has had work and made no "
             "progress for this long (sink or endpoint failing, lag not shrinking, partitions "
             "not assigned)",
     .set = [](Config& c, const Setting& v) { c.http.stall_after = millis(v); }},
    {.name = "http.replay_token",
     .type = KeyType::String,
     .help = "the token the operations page (GET / on http.listen) asks for before it replays a "
             "source's endpoint dead letters, as `metersync replay` does; keep it in the "
             "environment: `${METERSYNC_REPLAY_TOKEN}`. Empty or absent: the page's replay button "
             "is off (it says why) and replay is the command's only",
     .set = [](Config& c, const Setting& v) { c.http.replay_token = optional_text(v).value_or(""); }},
    {.name = "connect.url",
     .type = KeyType::String,
     .default_value = "\"\"",
     .help = "Kafka Connect's REST address (http://host:8083); `metersync check` then checks that "
             "each source's connector (sources.<name>.connector_name) and its tasks are RUNNING, "
             "and `run` reads their status for /readyz and the metrics. \"\": neither",
     .set = [](Config& c, const Setting& v) {
       c.connect.url = std::holds_alternative<std::string>(v) ? text(v) : "";
     }},
    {.name = "connect.poll_ms",
     .type = KeyType::Integer,
     .default_value = "5000",
     .min = 500,
     .max = kDay,
     .help = "how often `run` reads each source's connector status from connect.url (one GET per "
             "source, off the pipelines' threads); a failed connector or task shows in /readyz "
             "within this time and the one-second tick",
     .set = [](Config& c, const Setting& v) { c.connect.poll = millis(v); }},
    {.name = "verify.every_ms",
     .type = KeyType::Integer,
     .default_value = "0",
     .min = 0,
     .max = 7 * kDay,
     .help = "`run` verifies every enabled source with a connection this often, on a thread of its "
             "own beside the pipelines (what `metersync verify` does, without --repair), and shows the "
             "last result in the status file and the metersync_verify_* metrics; 0: never. Each run "
             "reads every source table once (docs/verify.md: its cost)",
     .set = [](Config& c, const Setting& v) { c.verify.every = millis(v); }},
    {.name = "status_file",
     .type = KeyType::String,
     .default_value = "\"\"",
     .help = "where `run` writes its status JSON (\"\" for none)",
     .set =
         [](Config& c, const Setting& v) {
           c.status_file = std::holds_alternative<std::string>(v) ? text(v) : "";
         }},
    {.name = "instance_id",
     .type = KeyType::String,
     .default_value = "the host name",
     .derived = true,
     .help = "this process's name among the instances that run the same configuration (they share "
             "each source's consumer groups and split the partitions): shown in the status file "
             "and the metrics (metersync_instance_info), and the group.instance.id of `run`'s "
             "consumers, so an instance restarted within kafka session.timeout.ms gets its "
             "partitions back without a rebalance. Each instance needs its own: set it when two "
             "run on one host (letters, digits, '.', '_', '-'; at most 64)",
     .set = [](Config& c, const Setting& v) {
       c.instance_id = std::holds_alternative<std::string>(v) ? text(v) : "";
     }},
    {.name = "sources",
     .type = KeyType::Section,
     .required = true,
     .help = "one entry per source database; the entry's name is its SourceSystem value",
     .set = nullptr},
}};

const std::array<Key<SourceConfig>, 9> kSource{{
    {.name = "topic",
     .type = KeyType::String,
     .required = true,
     .format = Format::NonEmpty,
     .help = "the Debezium change topic, e.g. postgres.public.meter",
     .set = [](SourceConfig& s, const Setting& v) { s.topic = text(v); }},
    {.name = "connector",
     .type = KeyType::Choice,
     .required = true,
     .choices = "postgres|mysql|mariadb|sqlserver|oracle",
     .help = "the Debezium connector that writes the topic; decides how positions compare",
     .set = [](SourceConfig& s, const Setting& v) { s.connector = text(v); }},
    {.name = "enabled",
     .type = KeyType::Boolean,
     .default_value = "true",
     .help = "false keeps the entry without running its pipelines",
     .set = [](SourceConfig& s, const Setting& v) { s.enabled = flag(v); }},
    {.name = "dead_letter_topic",
     .type = KeyType::String,
     .default_value = "<topic>.dlq",
     .derived = true,
     .format = Format::NonEmpty,
     .help = "where events that cannot be decoded, mapped or written go, with the reason",
     .set = [](SourceConfig& s, const Setting& v) { s.dead_letter_topic = text(v); }},
    {.name = "mapping",
     .type = KeyType::Mapping,
     .required = true,
     .help = "how a row of this source becomes a Meter Master row (see below)",
     .set = nullptr},
    {.name = "endpoint",
     .type = KeyType::Section,
     .help = "the HTTP endpoint this source's changes are sent to; absent: none",
     .set = nullptr},
    {.name = "connector_name",
     .type = KeyType::String,
     .default_value = "\"\"",
     .help = "the Kafka Connect connector that writes the topic (e.g. postgres-meter-source); "
             "`metersync check` checks it and its tasks, and reads its publication and slot names",
     .set = [](SourceConfig& s, const Setting& v) {
       s.connector_name = std::holds_alternative<std::string>(v) ? text(v) : "";
     }},
    {.name = "connection",
     .type = KeyType::String,
     .default_value = "\"\"",
     .help = "ODBC connection string of the source database, as the connector's user: "
             "`metersync check` reads the source's CDC prerequisites through it and `metersync "
             "verify` reads the source table (SELECT only). \"\": neither",
     .set = [](SourceConfig& s, const Setting& v) {
       s.connection = std::holds_alternative<std::string>(v) ? text(v) : "";
     }},
    {.name = "columns",
     .type = KeyType::StringMap,
     .default_value = "{}",
     .help = "column types for topics written without schemas "
             "(value.converter.schemas.enable=false), column: Debezium type name",
     .set = [](SourceConfig& s,
               const Setting& v) { s.columns = std::get<std::map<std::string, std::string>>(v); }},
}};

const std::array<Key<EndpointConfig>, 19> kEndpoint{{
    {.name = "url",
     .type = KeyType::String,
     .required = true,
     .format = Format::HttpUrl,
     .help = "where batches are POSTed, http:// or https://",
     .set = [](EndpointConfig& e, const Setting& v) { e.url = text(v); }},
    {.name = "auth_header",
     .type = KeyType::String,
     .help = "Authorization header value, e.g. \"Bearer ${POSTGRES_ENDPOINT_TOKEN}\"; "
             "empty or absent: none",
     .set = [](EndpointConfig& e, const Setting& v) { e.auth_header = optional_text(v); }},
    {.name = "signing_secret",
     .type = KeyType::String,
     .help = "the HMAC-SHA256 secret posts are signed with: `whsec_<base64 key>` (Standard "
             "Webhooks' form; the key is the decoded part) or any other text (the key is the "
             "text itself). Keep it in the environment: `${POSTGRES_ENDPOINT_SECRET}`. Empty "
             "or absent: posts are unsigned",
     .set = [](EndpointConfig& e, const Setting& v) { e.signing_secret = optional_text(v); }},
    {.name = "signing_secret_previous",
     .type = KeyType::String,
     .help = "rotation: the secret being replaced. Posts carry a webhook-signature entry for it "
             "beside the one for signing_secret, so receivers still on it keep verifying, until "
             "signing_secret_previous_until. Needs signing_secret; the legacy header is signed "
             "with signing_secret only",
     .set = [](EndpointConfig& e,
               const Setting& v) { e.signing_secret_previous = optional_text(v); }},
    {.name = "signing_secret_previous_until",
     .type = KeyType::String,
     .format = Format::UtcTime,
     .help = "end of the rotation's overlap, UTC (\"2026-12-01T00:00:00Z\"): from then on posts "
             "are signed with signing_secret alone. Empty or absent: signing_secret_previous is "
             "used for as long as it is set",
     .set = [](EndpointConfig& e, const Setting& v) {
       const auto text = optional_text(v);
       e.signing_secret_previous_until = text ? parse_utc_time(*text) : std::nullopt;
     }},
    {.name = "signature_scheme",
     .type = KeyType::Choice,
     .default_value = "both",
     .choices = "standard|legacy|both",
     .help = "how posts are signed. standard: Standard Webhooks (webhook-id = batch_id, "
             "webhook-timestamp, webhook-signature: v1,<base64> per secret; docs/endpoints.md). "
             "legacy (deprecated): X-MeterSync-Signature: sha256=<hex HMAC of the body>, which "
             "signs no timestamp, for receivers built on it. both (the default, because the "
             "endpoint contract promises X-MeterSync-Signature): the two header sets",
     .set = [](EndpointConfig& e, const Setting& v) { e.signature_scheme = text(v); }},
    {.name = "max_batch_events",
     .type = KeyType::Integer,
     .default_value = "500",
     .min = 1,
     .max = 100'000,
     .help = "changes per POST at most",
     .set = [](EndpointConfig& e,
               const Setting& v) { e.max_batch_events = static_cast<int>(integer(v)); }},
    {.name = "max_batch_bytes",
     .type = KeyType::Integer,
     .default_value = "1048576",
     .min = 1024,
     .max = 1'073'741'824,
     .help = "body size per POST at most",
     .set = [](EndpointConfig& e,
               const Setting& v) { e.max_batch_bytes = static_cast<size_t>(integer(v)); }},
    {.name = "linger_ms",
     .type = KeyType::Integer,
     .default_value = "5",
     .min = 0,
     .max = 60'000,
     .help = "how long a batch waits to fill once it holds a change",
     .set = [](EndpointConfig& e, const Setting& v) { e.linger = millis(v); }},
    {.name = "connect_timeout_ms",
     .type = KeyType::Integer,
     .default_value = "2000",
     .min = 1,
     .max = 600'000,
     .help = "TCP/TLS connect timeout",
     .set = [](EndpointConfig& e, const Setting& v) { e.connect_timeout = millis(v); }},
    {.name = "request_timeout_ms",
     .type = KeyType::Integer,
     .default_value = "10000",
     .min = 1,
     .max = 3'600'000,
     .help = "whole-request timeout",
     .set = [](EndpointConfig& e, const Setting& v) { e.request_timeout = millis(v); }},
    {.name = "retry_initial_ms",
     .type = KeyType::Integer,
     .default_value = "200",
     .min = 1,
     .max = 600'000,
     .help = "first back-off after a retryable failure",
     .set = [](EndpointConfig& e, const Setting& v) { e.retry_initial = millis(v); }},
    {.name = "retry_max_ms",
     .type = KeyType::Integer,
     .default_value = "30000",
     .min = 1,
     .max = kDay,
     .help = "longest back-off, also the longest wait a Retry-After can ask for",
     .set = [](EndpointConfig& e, const Setting& v) { e.retry_max = millis(v); }},
    {.name = "max_attempts",
     .type = KeyType::Integer,
     .default_value = "10",
     .min = 1,
     .max = 1'000'000,
     .help = "attempts per batch before it goes to the dead-letter topic (attempts while the circuit "
             "breaker is open are not counted)",
     .set = [](EndpointConfig& e,
               const Setting& v) { e.max_attempts = static_cast<int>(integer(v)); }},
    {.name = "max_in_flight",
     .type = KeyType::Integer,
     .default_value = "4",
     .min = 1,
     .max = 64,
     .help = "posts in flight at once, each for another partition (a partition never has two)",
     .set = [](EndpointConfig& e,
               const Setting& v) { e.max_in_flight = static_cast<int>(integer(v)); }},
    {.name = "breaker_failures",
     .type = KeyType::Integer,
     .default_value = "5",
     .min = 0,
     .max = 1'000'000,
     .help = "failed posts in a row (any partition) that open the circuit breaker: one probe at a "
             "time, backlog left on Kafka, retries not counted against max_attempts; 0: never opens",
     .set = [](EndpointConfig& e,
               const Setting& v) { e.breaker_failures = static_cast<int>(integer(v)); }},
    {.name = "dead_letter_topic",
     .type = KeyType::String,
     .default_value = "<topic>.endpoint.dlq",
     .derived = true,
     .format = Format::NonEmpty,
     .help = "where undeliverable batches go, with the last error",
     .set = [](EndpointConfig& e, const Setting& v) { e.dead_letter_topic = text(v); }},
    {.name = "tls_verify",
     .type = KeyType::Boolean,
     .default_value = "true",
     .help = "verify the server certificate (https)",
     .set = [](EndpointConfig& e, const Setting& v) { e.tls_verify = flag(v); }},
    {.name = "ca_file",
     .type = KeyType::String,
     .help = "PEM bundle of trusted CAs instead of the system's",
     .set = [](EndpointConfig& e, const Setting& v) { e.ca_file = optional_text(v); }},
}};

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_utc_time(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ: one spelling, so a configuration means one instant.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = at; i < at + length; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const auto year = number(0, 4);
  const auto month = number(5, 2);
  const auto day = number(8, 2);
  const auto hour = number(11, 2);
  const auto minute = number(14, 2);
  const auto second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *hour > 23 || *minute > 59 ||
      *second > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second);
}

std::span<const Key<Config>> top_level_keys() { return kTopLevel; }
std::span<const Key<SourceConfig>> source_keys() { return kSource; }
std::span<const Key<EndpointConfig>> endpoint_keys() { return kEndpoint; }

std::string_view type_name(KeyType type) {
  switch (type) {
    case KeyType::String:
      return "string";
    case KeyType::Integer:
      return "integer";
    case KeyType::Boolean:
      return "boolean";
    case KeyType::Choice:
      return "choice";
    case KeyType::StringMap:
      return "map";
    case KeyType::Mapping:
      return "mapping rules";
    case KeyType::Section:
      return "section";
  }
  return "?";
}

template <class Target>
std::string check_text(const Key<Target>& key) {
  switch (key.type) {
    case KeyType::Integer:
      return std::to_string(key.min) + " to " + std::to_string(key.max);
    case KeyType::Boolean:
      return "true or false";
    case KeyType::Choice: {
      std::string out;
      std::string_view rest = key.choices;
      while (!rest.empty()) {
        const size_t bar = rest.find('|');
        if (!out.empty()) out += bar == std::string_view::npos ? " or " : ", ";
        out += rest.substr(0, bar);
        rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
      }
      return out;
    }
    default:
      break;
  }
  switch (key.format) {
    case Format::NonEmpty:
      return "not empty";
    case Format::Identifier:
      return "letters, digits, _ (not first), at most 128";
    case Format::HttpUrl:
      return "http:// or https:// URL";
    case Format::ListenAddress:
      return "host:port, or \"\" for none";
    case Format::UtcTime:
      return "YYYY-MM-DDTHH:MM:SSZ, or \"\" for none";
    case Format::Any:
      return "";
  }
  return "";
}

template std::string check_text(const Key<Config>&);
template std::string check_text(const Key<SourceConfig>&);
template std::string check_text(const Key<EndpointConfig>&);

}  // namespace metersync::config
