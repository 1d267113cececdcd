// `metersync verify --repair`: what it sends through the pipeline, built without I/O so that
// it is tested beside the logic (docs/verify.md, "Repair").
//
//   - keys whose source row exists (missing, differing): an `execute-snapshot` signal row of
//     type incremental in the connector's signal table, its `additional-conditions` naming
//     the keys, so that Debezium reads those rows again into the topic;
//   - keys live in Meter Master that no source row maps to (extra live): a snapshot of a
//     missing key produces nothing, so a delete record for the key is produced to the source
//     topic, shaped as the connector's own (same key record, so the same partition; an
//     envelope with op "d" and a before image of the key). Its source position is the
//     source's position at the verify read: the sink's stale-position guard refuses it
//     when Meter Master holds a change newer than that read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"

namespace metersync::verify {

// The signal table's `data` column of the shipped schemas is VARCHAR(2048).
inline constexpr size_t kSignalDataMax = 2048;

// The `data` of execute-snapshot signals re-reading the rows of `data_collection`
// ("public.meter", "meterdb.meters") whose `key_column` is one of `keys` (as the source
// prints them), as few signals as fit `max_data` characters each. Keys are SQL string
// literals, except keys of digits for MySQL and MariaDB (numbers). A key too long for one
// signal is refused.
Result<std::vector<std::string>> snapshot_signals(const std::string& connector,
                                                  const std::string& data_collection,
                                                  const std::string& key_column,
                                                  const std::vector<std::string>& keys,
                                                  size_t max_data = kSignalDataMax);

// The statement writing one signal row: parameters id, type, data. `signal_collection` is the
// connector's `signal.data.collection` ("public.debezium_signal", "meterdb.debezium_signal").
std::string signal_insert_sql(const std::string& connector, const std::string& signal_collection);

// The statement reading where the source's log stands now: PostgreSQL one row with the
// current WAL LSN as a decimal number; MySQL and MariaDB SHOW MASTER STATUS (File, Position).
// Empty for the connectors repair is not built for.
std::string source_position_sql(const std::string& connector);

// Where the source's log stood at the verify read, in the fields the connector writes.
struct SourcePoint {
  std::optional<uint64_t> lsn;  // postgres
  std::string file;             // mysql, mariadb: the binlog file
  int64_t pos = 0;              // mysql, mariadb: where its next event will start
};
// From the first row of source_position_sql's result.
Result<SourcePoint> parse_source_point(const std::string& connector,
                                       const std::vector<std::optional<std::string>>& row);

// A key record of the topic, as the connector writes it: learnt from one record read back
// from the topic, so that a record built from it has the same bytes as the connector's for
// the same key (Kafka's partitioner hashes those bytes).
struct KeyTemplate {
  std::string schema;        // the "schema" member, compact JSON, member order kept
  std::string field;         // the one key field's name
  std::string field_schema;  // that field's schema, compact JSON
  std::string type;          // its Connect type: string, int8..int64, bytes
  std::optional<int> decimal_scale;  // bytes as org.apache.kafka.connect.data.Decimal
};
// Refuses keys of several fields, and types other than those above.
Result<KeyTemplate> key_template(std::string_view key_record);

// The key's payload value as JSON for a key given as text: "\"0f6c…\"" for a string,
// 1042 for an integer, "BBI=" (base64 of the two's complement) for a Decimal of scale 0.
Result<std::string> key_value_json(const KeyTemplate& key, const std::string& key_text);

// {"schema":<schema>,"payload":{"<field>":<value>}}: byte for byte the JsonConverter's.
std::string key_record(const KeyTemplate& key, const std::string& value_json);

// The value of a Debezium delete record for one key: op "d", before = the key only (the
// pipeline maps it as a key-only delete), after null, the source block of `connector`
// (topic prefix, database and table from `table`, the position `at`, snapshot "false").
struct DeleteRecordSpec {
  std::string connector;           // sources.<name>.connector
  std::string topic;               // "postgres.public.meter"
  std::vector<std::string> table;  // {"public", "meter"}, {"meterdb", "meters"}
  SourcePoint at;
  int64_t ts_ms = 0;
};
Result<std::string> delete_record_value(const DeleteRecordSpec& spec, const KeyTemplate& key,
                                        const std::string& value_json);

// The source key text of a Meter Master key when the SourceMeterId rule is a column taken
// as it is (`from`, optionally `text`), so that the key names the source row; the reason
// otherwise.
Result<std::string> source_key_of(const config::SourceConfig& source, const std::string& source_meter_id);

}  // namespace metersync::verify
