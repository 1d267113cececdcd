#include "endpoint/received_batch.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "wire/contract.hpp"

namespace metersync::endpoint {
namespace {

using Json = nlohmann::ordered_json;

std::expected<std::string, std::string> required_string(const Json& object, std::string_view name,
                                                        const std::string& where) {
  const std::string key(name);
  auto it = object.find(key);
  if (it == object.end()) return std::unexpected(where + key + ": missing");
  if (!it->is_string()) return std::unexpected(where + key + ": must be a string");
  auto text = it->get<std::string>();
  if (text.empty()) return std::unexpected(where + key + ": must not be empty");
  return text;
}

std::expected<ReceivedEvent, std::string> parse_event(const Json& item, const std::string& where) {
  if (!item.is_object()) return std::unexpected(where + ": must be an object");
  ReceivedEvent event;
  namespace field_name = wire::event_field;
  for (auto [key, field] : {std::pair{field_name::kId, &event.id}, std::pair{field_name::kOp, &event.op},
                            std::pair{field_name::kPosition, &event.position},
                            std::pair{field_name::kCommittedAt, &event.committed_at}}) {
    auto text = required_string(item, key, where + ".");
    if (!text) return std::unexpected(text.error());
    *field = std::move(*text);
  }
  bool known = false;
  for (auto op : wire::kOps) known = known || op == event.op;
  if (!known) {
    return std::unexpected(where + ".op: \"" + event.op +
                           "\" is not one of create, update, delete, snapshot, truncate");
  }
  for (std::string_view name : {field_name::kMeter, field_name::kBefore, field_name::kAfter}) {
    const std::string image(name);
    auto it = item.find(image);
    if (it == item.end()) return std::unexpected(where + "." + image + ": missing (send null)");
    if (!it->is_null() && !it->is_object()) {
      return std::unexpected(where + "." + image + ": must be an object or null");
    }
  }
  const Json& meter = item[std::string(field_name::kMeter)];
  if (meter.is_object()) {
    auto id = required_string(meter, field_name::kSourceMeterId, where + ".meter.");
    if (!id) return std::unexpected(id.error());
    event.meter_id = std::move(*id);
  }
  event.json = item.dump();
  return event;
}

}  // namespace

std::expected<ReceivedBatch, std::string> parse_batch(std::string_view body,
                                                      std::string_view route_source) {
  Json root = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return std::unexpected("body is not valid JSON");
  if (!root.is_object()) return std::unexpected("body must be a JSON object");
  ReceivedBatch batch;
  auto source = required_string(root, wire::batch_field::kSource, "");
  if (!source) return std::unexpected(source.error());
  if (*source != route_source) {
    return std::unexpected("source: \"" + *source + "\" posted to the route of \"" +
                           std::string(route_source) + "\"");
  }
  batch.source = std::move(*source);
  auto batch_id = required_string(root, wire::batch_field::kBatchId, "");
  if (!batch_id) return std::unexpected(batch_id.error());
  batch.batch_id = std::move(*batch_id);
  auto events = root.find(std::string(wire::batch_field::kEvents));
  if (events == root.end() || !events->is_array()) {
    return std::unexpected("events: missing or not an array");
  }
  if (events->empty()) return std::unexpected("events: empty batch");
  batch.events.reserve(events->size());
  for (std::size_t i = 0; i < events->size(); ++i) {
    auto event = parse_event((*events)[i], "events[" + std::to_string(i) + "]");
    if (!event) return std::unexpected(event.error());
    batch.events.push_back(std::move(*event));
  }
  return batch;
}

}  // namespace metersync::endpoint
