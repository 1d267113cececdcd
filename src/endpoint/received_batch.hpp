// A batch as the endpoint service receives it (docs/endpoints.md, "What is sent"),
// validated before anything is stored.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace metersync::endpoint {

struct ReceivedEvent {
  std::string id;
  std::string op;                       // create | update | delete | snapshot | truncate
  std::string position;
  std::string committed_at;
  std::optional<std::string> meter_id;  // meter.sourceMeterId; absent when `meter` is null
  std::string json;                     // the event object as sent (keys in their order)
};

struct ReceivedBatch {
  std::string source;
  std::string batch_id;
  std::vector<ReceivedEvent> events;
};

// Parses and checks `body` for the route of `route_source`. The error is a reason fit
// for a 400 answer ("events[3].op: \"upsert\" is not one of create, update, ...").
std::expected<ReceivedBatch, std::string> parse_batch(std::string_view body,
                                                      std::string_view route_source);

}  // namespace metersync::endpoint
