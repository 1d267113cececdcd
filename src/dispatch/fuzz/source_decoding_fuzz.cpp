// libFuzzer target: one Kafka record value through what every pipeline and dispatcher run
// on it: the source's record processor (pipeline::RecordProcessor: the Debezium decoder, the
// topic's table check, the mapper), then the event encoder and the batch body the
// dispatcher posts.
//
// Each input goes through every shipped source, plus a MySQL-connector copy of the MariaDB
// source, so one corpus reaches each connector's positions and every mapping rule. A
// rejected record (dead-lettered by both destinations) is an expected answer to bad input. Besides crashes, leaks and undefined
// behaviour the target checks one contract: a batch the dispatcher builds is one the
// endpoint service accepts (endpoint::parse_batch), or the change would be refused with a
// 400 and dead-lettered. Seeds: tests/fixtures/debezium (written and captured messages) and
// src/dispatch/fuzz/corpus (fixtures with a negative or malformed position, one per connector).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "dispatch/event_encoder.hpp"
#include "dispatch/pending_batch.hpp"
#include "endpoint/received_batch.hpp"
#include "pipeline/record_processor.hpp"

namespace {

struct FuzzedSource {
  std::string name;
  metersync::pipeline::RecordProcessor processor;
};

std::vector<FuzzedSource> make_sources() {
  // The file requires the sink connection; nothing here connects.
  ::setenv("SINK_ODBC", "DSN=fuzz", 0);
  const auto config =
      metersync::config::load_file(std::string(METERSYNC_SOURCE_DIR) + "/config/metersync.yaml");
  std::vector<FuzzedSource> sources;
  for (const auto& source : config.sources) {
    sources.push_back({source.name, metersync::pipeline::RecordProcessor(source)});
    if (source.connector == "mariadb") {
      auto mysql = source;
      mysql.connector = "mysql";
      sources.push_back({source.name, metersync::pipeline::RecordProcessor(mysql)});
    }
  }
  return sources;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<FuzzedSource> sources = make_sources();
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  for (auto& source : sources) {
    const metersync::pipeline::Outcome outcome = source.processor.process(value);
    const auto* processed = std::get_if<metersync::pipeline::Processed>(&outcome);
    if (processed == nullptr) continue;
    metersync::dispatch::PendingBatch batch(source.name, 0);
    batch.add(metersync::dispatch::encode_event(source.name, processed->event, processed->change,
                                                {.partition = 0, .offset = 7}));
    auto received = metersync::endpoint::parse_batch(batch.body(), source.name);
    if (!received) {
      std::fprintf(stderr, "the endpoint refuses the dispatcher's batch: %s\n%s\n",
                   received.error().c_str(), batch.body().c_str());
      std::abort();
    }
  }
  return 0;
}
