// Test support: the specification's PostgreSQL source as configuration YAML, for the tests of
// every component that processes its records (the record processor, the endpoint
// dispatcher), so that they test one mapping and not copies that drift apart.
// The fixtures it maps are tests/fixtures/debezium/captured/postgres/.
#pragma once

#include <string>

namespace metersync::pipeline::testing {

// The `postgres` source under `sources:` (connector, topic, the specification's mapping).
// Append the source's other keys (its endpoint) indented by four spaces.
inline std::string postgres_source_yaml(const std::string& topic) {
  return R"(
  postgres:
    connector: postgres
    topic: )" + topic + R"(
    mapping:
      SourceMeterId:    { from: meter_id, text: uuid }
      SerialNumber:     serial_number
      MeterType:        kind
      Manufacturer:     manufacturer
      Status:
        cases:
          - { column: removed_at, is: not_null, value: removed }
          - { column: active, is: true, value: active }
          - { value: inactive }
      InstallDate:      installed_on
      Multiplier:       multiplier
      LastReadingValue: { from: last_reading, round: 3 }
      LastReadingAt:    { from: last_reading_at, time_zone: UTC }
      Latitude:         { from: location, json_path: lat, round: 6 }
      Longitude:        { from: location, json_path: lon, round: 6 }
)";
}

}  // namespace metersync::pipeline::testing
