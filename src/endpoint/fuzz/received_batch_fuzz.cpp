// libFuzzer target: the endpoint service's batch parser (endpoint::parse_batch), which sees
// every request body posted to a source's route before anything is stored. A refusal is the
// expected answer to bad input (a 400); the fuzzer looks for crashes, leaks, undefined
// behaviour, and for an accepted batch whose stored event text would not read back as the
// event it was accepted as (the store serves that text to history and stream clients).
// Seeds: corpus/ (batches as the dispatcher posts them, docs/endpoints.md "What is posted").
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "endpoint/received_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto batch = metersync::endpoint::parse_batch(body, "postgres");
  if (!batch) return 0;
  if (batch->source != "postgres" || batch->batch_id.empty() || batch->events.empty()) std::abort();
  for (const auto& event : batch->events) {
    auto stored = nlohmann::ordered_json::parse(event.json, nullptr, /*allow_exceptions=*/false);
    if (!stored.is_object() || stored.value("id", "") != event.id) std::abort();
  }
  return 0;
}
