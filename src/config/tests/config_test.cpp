#include "config/config.hpp"
#include "config/key_table.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_env.hpp"

namespace metersync::config {
namespace {

using testing::ScopedEnv;

const std::string kRoot = METERSYNC_SOURCE_DIR;

// A small valid configuration; tests replace one line to break it.
const std::string kMinimal = R"(
kafka:
  bootstrap_servers: 127.0.0.1:9092
sink:
  connection: DSN=mm
sources:
  pg:
    connector: postgres
    topic: pg.public.meter
    mapping:
      SourceMeterId: { from: meter_id, text: uuid }
      SerialNumber: serial_number
      MeterType: kind
      Status: { value: active }
      Multiplier: multiplier
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

// The message of the ConfigError that loading `yaml` throws ("" if none).
std::string error_of(const std::string& yaml) {
  try {
    load_string(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ShippedConfig, LoadsAllFourSourcesWithDefaultsFromTheEnvironment) {
  ScopedEnv env;
  env.set("SINK_ODBC", "Driver=PostgreSQL Unicode;Server=127.0.0.1")
      .unset("KAFKA_BOOTSTRAP")
      .unset("ENDPOINT_URL")
      .unset("SINK_DIALECT")
      .unset("MSSQL_ENABLED")
      .unset("ORACLE_ENABLED")
      .unset("METERSYNC_ENDPOINT_AUTH")
      .set("METERSYNC_ENDPOINT_SECRET", "s3cret")
      .unset("METERSYNC_STATUS_FILE");
  const Config config = load_file(kRoot + "/config/metersync.yaml");

  EXPECT_EQ(config.kafka.bootstrap_servers, "127.0.0.1:59092");
  EXPECT_EQ(config.sink.dialect, Dialect::Postgres);
  EXPECT_EQ(config.sink.connection, "Driver=PostgreSQL Unicode;Server=127.0.0.1");
  EXPECT_EQ(config.sink.schema, "public");
  EXPECT_EQ(config.status_file, ".local/metersync-status.json");
  ASSERT_EQ(config.sources.size(), 4u);

  const std::vector<std::tuple<std::string, std::string, std::string, bool>> expected{
      {"postgres", "postgres", "postgres.public.meter", true},
      {"mysql", "mariadb", "mysql.meterdb.meters", true},
      {"mssql", "sqlserver", "mssql.MeterDB.dbo.Meters", false},
      {"oracle", "oracle", "oracle.METERS.METER", false},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& [name, connector, topic, enabled] = expected[i];
    const SourceConfig& source = config.sources[i];
    EXPECT_EQ(source.name, name);
    EXPECT_EQ(source.connector, connector);
    EXPECT_EQ(source.topic, topic);
    EXPECT_EQ(source.enabled, enabled) << name;
    EXPECT_EQ(source.dead_letter_topic, "");  // unset: pipeline::topics_of names the default
    EXPECT_EQ(source.mapping.columns.size(), 11u) << name;
    ASSERT_TRUE(source.endpoint.has_value()) << name;
    EXPECT_EQ(source.endpoint->url, "http://127.0.0.1:58080/v1/sources/" + name + "/changes");
    EXPECT_EQ(source.endpoint->dead_letter_topic, "");
    EXPECT_FALSE(source.endpoint->auth_header.has_value());  // empty = none
    EXPECT_EQ(source.endpoint->signing_secret, std::optional<std::string>("s3cret"));
    EXPECT_EQ(source.endpoint->max_batch_events, 500);
  }
}

TEST(ShippedConfig, EnvironmentOverridesDefaults) {
  ScopedEnv env;
  env.set("SINK_ODBC", "DSN=x")
      .set("KAFKA_BOOTSTRAP", "10.0.0.1:9092")
      .set("ENDPOINT_URL", "https://api.example")
      .set("SINK_DIALECT", "sqlserver")
      .set("MSSQL_ENABLED", "true")
      .set("METERSYNC_ENDPOINT_AUTH", "Bearer abc");
  const Config config = load_file(kRoot + "/config/metersync.yaml");
  EXPECT_EQ(config.kafka.bootstrap_servers, "10.0.0.1:9092");
  EXPECT_EQ(config.sink.dialect, Dialect::SqlServer);
  EXPECT_EQ(config.sink.schema, "dbo");
  EXPECT_TRUE(config.sources[2].enabled);
  EXPECT_EQ(config.sources[1].endpoint->url, "https://api.example/v1/sources/mysql/changes");
  EXPECT_EQ(config.sources[0].endpoint->auth_header, std::optional<std::string>("Bearer abc"));
}

TEST(Load, DefaultsComeFromTheKeyTable) {
  const Config config = load_string(kMinimal);
  EXPECT_EQ(config.kafka.group_prefix, "metersync");
  EXPECT_EQ(config.sink.table, "MeterMaster");
  EXPECT_EQ(config.sink.offsets_table, "MeterSyncOffsets");
  EXPECT_EQ(config.sink.truncates_table, "MeterSyncTruncates");
  EXPECT_EQ(config.sink.max_batch_events, 5000);
  EXPECT_EQ(config.sink.max_batch_bytes, 10u << 20);
  EXPECT_EQ(config.sink.max_batch_wait.count(), 5);
  EXPECT_EQ(config.sink.retry_max.count(), 10000);
  EXPECT_EQ(config.status_file, "");
  ASSERT_EQ(config.sources.size(), 1u);
  EXPECT_TRUE(config.sources[0].enabled);
  EXPECT_FALSE(config.sources[0].endpoint.has_value());
  EXPECT_EQ(config.sources[0].dead_letter_topic, "");
}

// The structs' own initial values (for code that builds them by hand) agree with the
// key table's defaults, which are what a file without the key gets.
TEST(Load, TableDefaultsMatchTheStructs) {
  const Config config = load_string(kMinimal + "    endpoint: { url: http://h/x }\n");
  const SinkConfig plain_sink;
  EXPECT_EQ(config.sink.dialect, plain_sink.dialect);
  EXPECT_EQ(config.sink.table, plain_sink.table);
  EXPECT_EQ(config.sink.offsets_table, plain_sink.offsets_table);
  EXPECT_EQ(config.sink.truncates_table, plain_sink.truncates_table);
  EXPECT_EQ(config.sink.max_batch_events, plain_sink.max_batch_events);
  EXPECT_EQ(config.sink.max_batch_wait, plain_sink.max_batch_wait);
  EXPECT_EQ(config.sink.retry_initial, plain_sink.retry_initial);
  EXPECT_EQ(config.sink.retry_max, plain_sink.retry_max);
  EXPECT_EQ(config.kafka.group_prefix, KafkaConfig{}.group_prefix);
  EXPECT_EQ(config.http.listen, HttpConfig{}.listen);
  EXPECT_EQ(config.http.stall_after, HttpConfig{}.stall_after);
  const EndpointConfig plain;
  const EndpointConfig& loaded = *config.sources[0].endpoint;
  EXPECT_EQ(loaded.max_batch_events, plain.max_batch_events);
  EXPECT_EQ(loaded.max_batch_bytes, plain.max_batch_bytes);
  EXPECT_EQ(loaded.linger, plain.linger);
  EXPECT_EQ(loaded.connect_timeout, plain.connect_timeout);
  EXPECT_EQ(loaded.request_timeout, plain.request_timeout);
  EXPECT_EQ(loaded.retry_initial, plain.retry_initial);
  EXPECT_EQ(loaded.retry_max, plain.retry_max);
  EXPECT_EQ(loaded.max_attempts, plain.max_attempts);
  EXPECT_EQ(loaded.tls_verify, plain.tls_verify);
  EXPECT_EQ(loaded.auth_header, plain.auth_header);
  EXPECT_EQ(loaded.signing_secret, plain.signing_secret);
  EXPECT_EQ(loaded.signing_secret_previous, plain.signing_secret_previous);
  EXPECT_EQ(loaded.signing_secret_previous_until, plain.signing_secret_previous_until);
  EXPECT_EQ(loaded.signature_scheme, plain.signature_scheme);
  EXPECT_EQ(loaded.ca_file, plain.ca_file);
  EXPECT_EQ(config.sources[0].enabled, SourceConfig{}.enabled);
}

TEST(Load, SigningSecretRotationAndScheme) {
  const Config config = load_string(
      kMinimal + "    endpoint: { url: http://h/x, signing_secret: whsec_bmV3, "
                 "signing_secret_previous: old, signing_secret_previous_until: "
                 "\"2026-12-01T06:30:00Z\", signature_scheme: both }\n");
  const EndpointConfig& e = *config.sources[0].endpoint;
  EXPECT_EQ(e.signing_secret_previous, std::optional<std::string>("old"));
  ASSERT_TRUE(e.signing_secret_previous_until);
  EXPECT_EQ(e.signing_secret_previous_until->time_since_epoch(), std::chrono::seconds(1'796'106'600));
  EXPECT_EQ(e.signature_scheme, "both");
  EXPECT_NE(error_of(kMinimal + "    endpoint: { url: http://h/x, signing_secret_previous: old }\n")
                .find("signing_secret_previous: set without signing_secret"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "    endpoint: { url: http://h/x, signing_secret: s, "
                                "signing_secret_previous_until: 2026-12-01 }\n")
                .find("is not a UTC time; use YYYY-MM-DDTHH:MM:SSZ"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "    endpoint: { url: http://h/x, signature_scheme: v1 }\n")
                .find("standard, legacy or both"),
            std::string::npos);
  EXPECT_FALSE(parse_utc_time("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_utc_time("2026-12-01T24:00:00Z"));
  EXPECT_FALSE(parse_utc_time("2026-12-01 00:00:00Z"));
}

TEST(Load, ReadsEveryKindOfValue) {
  std::string yaml =
      replaced(kMinimal, "sink:\n",
               "sink:\n  max_batch_events: 250\n  max_batch_bytes: 33554432\n  dialect: mariadb\n");
  yaml = replaced(yaml, "kafka:\n",
                  "kafka:\n  properties: { security.protocol: SSL, fetch.max.bytes: 1024 }\n");
  yaml += R"yaml(    enabled: false
    columns: { multiplier: "Decimal(4)", last_reading_at: MicroTimestamp }
    endpoint:
      url: http://127.0.0.1:1/x
      linger_ms: 5
      tls_verify: False
      ca_file: /etc/ca.pem
)yaml";
  const Config config = load_string(yaml);
  EXPECT_EQ(config.sink.max_batch_events, 250);
  EXPECT_EQ(config.sink.max_batch_bytes, 32u << 20);
  EXPECT_EQ(config.sink.dialect, Dialect::MariaDb);
  EXPECT_EQ(config.sink.schema, "");  // MariaDB: the connection's database
  EXPECT_EQ(config.kafka.properties.at("security.protocol"), "SSL");
  EXPECT_EQ(config.kafka.properties.at("fetch.max.bytes"), "1024");
  const SourceConfig& source = config.sources[0];
  EXPECT_FALSE(source.enabled);
  EXPECT_EQ(source.columns.at("multiplier"), "Decimal(4)");
  ASSERT_TRUE(source.endpoint);
  EXPECT_EQ(source.endpoint->linger.count(), 5);
  EXPECT_FALSE(source.endpoint->tls_verify);
  EXPECT_EQ(source.endpoint->ca_file, std::optional<std::string>("/etc/ca.pem"));
  EXPECT_EQ(source.endpoint->max_attempts, 10);
}

TEST(Load, TheInstanceIdIsTheHostNameUnlessSetAndMustBePlain) {
  const Config defaults = load_string(kMinimal);
  EXPECT_EQ(defaults.instance_id, host_name());
  EXPECT_FALSE(defaults.instance_id.empty());
  EXPECT_EQ(load_string(kMinimal + "instance_id: mm-2.site_a\n").instance_id, "mm-2.site_a");
  EXPECT_EQ(load_string(kMinimal + "instance_id: \"\"\n").instance_id, host_name());
  for (const std::string& bad : std::vector<std::string>{"two words", "a/b", std::string(65, 'x')}) {
    EXPECT_NE(error_of(kMinimal + "instance_id: " + bad + "\n").find("instance_id: "), std::string::npos)
        << bad;
  }
  EXPECT_NE(error_of(kMinimal + "instance_id: a/b\n").find("set instance_id to a name of its own"),
            std::string::npos);
}

TEST(Load, TheListenerAddressIsHostAndPortOrNothing) {
  const Config defaults = load_string(kMinimal);
  ASSERT_TRUE(listen_address(defaults.http));
  EXPECT_EQ(listen_address(defaults.http)->host, "127.0.0.1");
  EXPECT_EQ(listen_address(defaults.http)->port, 9180);

  const Config off = load_string(kMinimal + "http:\n  listen: \"\"\n  stall_after_ms: 5000\n");
  EXPECT_FALSE(listen_address(off.http));
  EXPECT_EQ(off.http.stall_after.count(), 5000);

  const Config v6 = load_string(kMinimal + "http:\n  listen: \"[::1]:9999\"\n");
  EXPECT_EQ(listen_address(v6.http)->host, "::1");
  EXPECT_EQ(listen_address(v6.http)->port, 9999);

  for (const std::string bad : {"9180", ":9180", "localhost:", "localhost:http", "h:70000", "h:0"}) {
    EXPECT_NE(error_of(kMinimal + "http:\n  listen: \"" + bad + "\"\n")
                  .find("http.listen: '" + bad + "' is not host:port"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(error_of(kMinimal + "http:\n  stall_after_ms: 10\n").find("http.stall_after_ms"),
            std::string::npos);
}

TEST(Load, ConnectIsPolledEveryFewSecondsUnlessSet) {
  const Config defaults = load_string(kMinimal);
  EXPECT_EQ(defaults.connect.url, "");
  EXPECT_EQ(defaults.connect.poll.count(), 5000);
  const Config set = load_string(kMinimal + "connect:\n  url: http://127.0.0.1:8083\n  poll_ms: 1000\n");
  EXPECT_EQ(set.connect.url, "http://127.0.0.1:8083");
  EXPECT_EQ(set.connect.poll.count(), 1000);
  EXPECT_NE(error_of(kMinimal + "connect:\n  poll_ms: 10\n").find("connect.poll_ms"), std::string::npos);
}

TEST(Errors, UnknownMappingColumnSuggestsTheRightOne) {
  const std::string yaml =
      replaced(kMinimal, "SerialNumber: serial_number", "Serial: serial_number");
  // Renamed to Serial, so SerialNumber is also missing; the unknown key is reported first.
  EXPECT_EQ(error_of(replaced(yaml, "pg:", "postgres:")),
            "unknown key sources.postgres.mapping.Serial; did you mean SerialNumber? "
            "(mapping keys are Meter Master columns)");
}

TEST(Errors, UnknownKeysAnywhereAreNamedWithSuggestion) {
  EXPECT_EQ(error_of(replaced(kMinimal, "sink:", "sinc:")), "unknown key sinc; did you mean sink?");
  EXPECT_EQ(error_of(replaced(kMinimal, "  connection:", "  conection:")),
            "unknown key sink.conection; did you mean connection?");
  EXPECT_EQ(error_of(replaced(kMinimal, "    topic:", "    topik:")),
            "unknown key sources.pg.topik; did you mean topic?");
  EXPECT_EQ(error_of(replaced(kMinimal, "text: uuid", "txt: uuid")),
            "unknown key sources.pg.mapping.SourceMeterId.txt; did you mean text?");
  const std::string far = error_of(replaced(kMinimal, "sink:", "zzzzzz: 1\nsink:"));
  EXPECT_EQ(far, "unknown key zzzzzz; the keys here are kafka, sink, http, connect, verify, status_file, instance_id, sources");
}

TEST(Errors, MissingEnvironmentVariableNamesVariableAndKey) {
  ScopedEnv env;
  env.unset("MS_TEST_ODBC");
  EXPECT_EQ(error_of(replaced(kMinimal, "DSN=mm", "${MS_TEST_ODBC}")),
            "sink.connection: environment variable MS_TEST_ODBC is not set; export it, or give a "
            "default as ${MS_TEST_ODBC:-value}");
}

TEST(Errors, WrongTypesAndRanges) {
  EXPECT_EQ(error_of(replaced(kMinimal, "sink:\n", "sink:\n  max_batch_events: many\n")),
            "sink.max_batch_events: expected an integer (1 to 1000000), found 'many'");
  EXPECT_EQ(error_of(replaced(kMinimal, "sink:\n", "sink:\n  max_batch_events: 0\n")),
            "sink.max_batch_events: 0 is out of range; use 1 to 1000000");
  EXPECT_EQ(error_of(replaced(kMinimal, "sink:\n", "sink:\n  max_batch_bytes: 1024\n")),
            "sink.max_batch_bytes: 1024 is out of range; use 65536 to 1073741824");
  EXPECT_EQ(
      error_of(replaced(kMinimal, "sink:\n", "sink:\n  dialect: postgress\n")),
      "sink.dialect: 'postgress' is not sqlserver, postgres or mariadb; did you mean postgres?");
  EXPECT_EQ(error_of(kMinimal + "    enabled: maybe\n"),
            "sources.pg.enabled: expected true or false, found 'maybe'");
  EXPECT_EQ(error_of(replaced(kMinimal, "sink:\n", "sink:\n  table: \"Meter Master\"\n")),
            "sink.table: 'Meter Master' is not a plain SQL name; use letters, digits, _ (not "
            "first), at most 128");
  EXPECT_EQ(error_of(replaced(kMinimal, "  bootstrap_servers: 127.0.0.1:9092",
                              "  bootstrap_servers: [a, b]")),
            "kafka.bootstrap_servers: expected a single value, found a list");
  EXPECT_EQ(error_of(kMinimal + "    endpoint: { url: ftp://x }\n"),
            "sources.pg.endpoint.url: 'ftp://x' is not an http:// or https:// URL with a host");
  EXPECT_EQ(error_of(kMinimal + "    endpoint: { linger_ms: 5 }\n"),
            "sources.pg.endpoint.url is missing: where batches are POSTed, http:// or https://");
}

TEST(Errors, RequiredKeysAndStructure) {
  EXPECT_EQ(
      error_of(replaced(kMinimal, "  connection: DSN=mm\n", "  table: MM\n")),
      "sink.connection is missing: ODBC connection string of the Meter Master database; keep the "
      "password in the environment: `${SINK_ODBC}`");
  EXPECT_EQ(
      error_of(replaced(kMinimal, "    connector: postgres\n", "")),
      "sources.pg.connector is missing: the Debezium connector that writes the topic; decides how "
      "positions compare");
  EXPECT_EQ(error_of(replaced(kMinimal, "  pg:", "  Postgres-1:")).substr(0, 40),
            "sources.Postgres-1: source names are low");
  EXPECT_NE(error_of(replaced(kMinimal, "  pg:", "  a_very_long_source_name:")).find("at most 16"),
            std::string::npos);
  EXPECT_EQ(error_of("kafka: { bootstrap_servers: x }\nsink: { connection: y }\nsources: {}\n"),
            "sources: no source is configured; add at least one");
  EXPECT_EQ(error_of(replaced(kMinimal, "sink:\n", "sink:\n  table: A\n  table: B\n")),
            "sink.table appears twice; keep one");
  EXPECT_NE(error_of("kafka: [\n").find("not valid YAML at line"), std::string::npos);
  std::string two = kMinimal + kMinimal.substr(kMinimal.find("  pg:"));
  two = two.replace(two.rfind("  pg:"), 5, "  pg2:");
  EXPECT_EQ(error_of(two),
            "sources.pg2.topic: 'pg.public.meter' is also the topic of sources.pg; each source has "
            "its own topic");
}

TEST(Errors, BadMappingRules) {
  EXPECT_EQ(
      error_of(replaced(kMinimal, "Multiplier: multiplier", "Multiplier: { from: m, round: x }")),
      "sources.pg.mapping.Multiplier.round: 'x' is not a number of decimal places from 0 to 18");
  EXPECT_EQ(
      error_of(replaced(kMinimal, "Multiplier: multiplier", "Multiplier: { from: m, rond: 3 }")),
      "unknown key sources.pg.mapping.Multiplier.rond; did you mean round?");
  EXPECT_EQ(
      error_of(replaced(kMinimal, "Multiplier: multiplier", "Multiplier: { round: 3, from: m }")),
      "sources.pg.mapping.Multiplier.round: the rule must start with from, value or cases before "
      "`round`");
  EXPECT_EQ(
      error_of(replaced(kMinimal, "Multiplier: multiplier", "Multiplier: { from: m, value: 1 }")),
      "sources.pg.mapping.Multiplier.value: a rule has one start (from, value or cases), written "
      "first");
  EXPECT_EQ(error_of(replaced(kMinimal, "Multiplier: multiplier",
                              "Multiplier: { from: m, truncate: hours }")),
            "sources.pg.mapping.Multiplier.truncate: 'hours' is not one of seconds, milliseconds, "
            "microseconds");
  EXPECT_EQ(error_of(replaced(kMinimal, "      Multiplier: multiplier\n", "")),
            "sources.pg.mapping: no rule for Multiplier (DECIMAL(9,4) NOT NULL); add e.g. "
            "`Multiplier: <source column>`");
  EXPECT_EQ(error_of(replaced(kMinimal, "Multiplier: multiplier",
                              "Multiplier: multiplier\n      IsDeleted: gone")),
            "sources.pg.mapping.IsDeleted: IsDeleted is set by metersync, not by a mapping rule; "
            "remove it");
  EXPECT_EQ(
      error_of(replaced(
          kMinimal, "Status: { value: active }",
          "Status: { cases: [ { value: active }, { column: a, is: true, value: removed } ] }")),
      "sources.pg.mapping.Status.cases[1]: follows a case without a test, so it can never apply; "
      "put the case without `column` last");
  EXPECT_EQ(
      error_of(replaced(kMinimal, "Status: { value: active }",
                        "Status: { cases: [ { column: a, is: maybe, value: x } ] }")),
      "sources.pg.mapping.Status.cases[0].is: 'maybe' is not one of null, not_null, true, false");
  EXPECT_EQ(error_of(replaced(kMinimal, "Status: { value: active }",
                              "Status: { cases: [ { column: a, value: x } ] }")),
            "sources.pg.mapping.Status.cases[0]: `column:` without a test; add `is:` or `equals:`");
  EXPECT_EQ(error_of(replaced(kMinimal, "Status: { value: active }", "Status:")),
            "sources.pg.mapping.Status: expected a source column name or a map of steps such as "
            "{ from: col, round: 3 }; for a column that is always NULL write { value: null }");
}

TEST(Mapping, StepsKeepTheOrderWritten) {
  const Config config = load_string(replaced(
      kMinimal, "Multiplier: multiplier",
      "Multiplier: multiplier\n      Latitude: { from: location, json_path: geo.lat, round: 6 }\n"
      "      Manufacturer: { from: maker, map: { \"01\": Acme, x: null }, trim: both }"));
  const MappingSpec& spec = config.sources[0].mapping;
  const ColumnRule* latitude = spec.find("Latitude");
  ASSERT_NE(latitude, nullptr);
  EXPECT_EQ(latitude->key_path, "sources.pg.mapping.Latitude");
  ASSERT_EQ(latitude->steps.size(), 3u);
  EXPECT_EQ(std::get<FromColumn>(latitude->steps[0]).column, "location");
  EXPECT_EQ(std::get<JsonPath>(latitude->steps[1]).path, (std::vector<std::string>{"geo", "lat"}));
  EXPECT_EQ(std::get<Round>(latitude->steps[2]).places, 6);
  const ColumnRule* maker = spec.find("Manufacturer");
  ASSERT_NE(maker, nullptr);
  const auto& map = std::get<ValueMap>(maker->steps[1]);
  ASSERT_EQ(map.entries.size(), 2u);
  EXPECT_EQ(map.entries[0].first, "01");  // quoted, so not the integer 1
  EXPECT_EQ(map.entries[0].second, std::optional<std::string>("Acme"));
  EXPECT_EQ(map.entries[1].second, std::nullopt);
  EXPECT_EQ(std::get<Trim>(maker->steps[2]).side, Trim::Side::Both);
  // A plain name is a rename.
  EXPECT_EQ(std::get<FromColumn>(spec.find("SerialNumber")->steps[0]).column, "serial_number");
}

TEST(Mapping, CasesParseIntoOrderedTests) {
  ScopedEnv env;
  env.set("MS_TEST_REMOVED", "removed");
  const Config config = load_string(replaced(kMinimal, "Status: { value: active }", R"(Status:
        cases:
          - { column: removed_at, is: not_null, value: "${MS_TEST_REMOVED}" }
          - { column: code, equals: 7, value: inactive }
          - { column: gone, is: null, value: removed }
          - { value: active })"));
  const auto& cases = std::get<Cases>(config.sources[0].mapping.find("Status")->steps[0]).cases;
  ASSERT_EQ(cases.size(), 4u);
  EXPECT_EQ(cases[0].test, Case::Test::IsNotNull);
  EXPECT_EQ(cases[0].column, "removed_at");
  EXPECT_EQ(cases[0].value, std::optional<std::string>("removed"));
  EXPECT_EQ(cases[1].test, Case::Test::Equals);
  EXPECT_EQ(cases[1].equals, "7");
  EXPECT_EQ(cases[2].test, Case::Test::IsNull);  // `is: null` is YAML's null, read as the test
  EXPECT_EQ(cases[2].column, "gone");
  EXPECT_EQ(cases[3].test, Case::Test::Always);
}

TEST(Docs, ConfigurationMarkdownIsGeneratedFromTheTables) {
  const std::string markdown = reference_markdown();
  // Every key of every table appears with its full dotted name.
  for (const char* key :
       {"`kafka.bootstrap_servers`", "`sink.max_batch_wait_ms`", "`status_file`",
        "`sources.<name>.topic`", "`sources.<name>.columns`",
        "`sources.<name>.endpoint.signing_secret`", "`sources.<name>.endpoint.max_attempts`"})
    EXPECT_NE(markdown.find(key), std::string::npos) << key;
  for (const char* step :
       {"`from` (start)", "`cases` (start)", "`json_path`", "`round`", "`time_zone`", "`text`"})
    EXPECT_NE(markdown.find(step), std::string::npos) << step;
  EXPECT_NE(markdown.find("| SerialNumber | NVARCHAR(64) | no |"), std::string::npos);

  const std::string path = kRoot + "/docs/configuration.md";
  if (std::getenv("METERSYNC_UPDATE_DOCS") != nullptr)
    std::ofstream(path, std::ios::binary) << markdown;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), markdown) << "docs/configuration.md is out of date: regenerate it with "
                                     "`metersync config-docs > docs/configuration.md` "
                                     "(or run config_test with METERSYNC_UPDATE_DOCS=1)";
}

}  // namespace
}  // namespace metersync::config
