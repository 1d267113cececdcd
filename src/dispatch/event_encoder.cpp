#include "dispatch/event_encoder.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "wire/contract.hpp"

namespace metersync::dispatch {
namespace {

using JsonDoc = nlohmann::ordered_json;

std::string base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(data.data()),
                                      static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string timestamp_iso(const Timestamp& t) { return t.to_iso(t.nanos % 1000 != 0 ? 9 : 6); }

Timestamp from_ms(int64_t ms) {
  int64_t seconds = ms / 1000;
  int64_t rest = ms % 1000;
  if (rest < 0) {
    rest += 1000;
    --seconds;
  }
  return Timestamp{seconds, static_cast<int32_t>(rest * 1'000'000)};
}

// Appends `"name":value` with a separating comma when needed.
class ObjectWriter {
 public:
  ObjectWriter() { text_ = "{"; }
  ObjectWriter& raw(std::string_view name, std::string_view json) {
    if (text_.size() > 1) text_ += ',';
    text_ += json_string(name);
    text_ += ':';
    text_ += json;
    return *this;
  }
  ObjectWriter& string(std::string_view name, std::string_view value) {
    return raw(name, json_string(value));
  }
  template <typename T, typename F>
  ObjectWriter& optional(std::string_view name, const std::optional<T>& value, F encode) {
    return raw(name, value ? encode(*value) : std::string("null"));
  }
  std::string done() { return text_ + "}"; }

 private:
  std::string text_;
};

}  // namespace

std::string json_string(std::string_view text) { return JsonDoc(std::string(text)).dump(); }

std::string value_json(const Value& value) {
  struct Visitor {
    std::string operator()(const Null&) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      if (std::isnan(d)) return "\"NaN\"";
      if (std::isinf(d)) return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
      return JsonDoc(d).dump();  // shortest text that reads back as the same double
    }
    std::string operator()(const std::string& s) const { return json_string(s); }
    std::string operator()(const Decimal& d) const { return json_string(d.to_string()); }
    std::string operator()(const Date& d) const { return json_string(d.to_iso()); }
    std::string operator()(const Timestamp& t) const { return json_string(timestamp_iso(t)); }
    std::string operator()(const TimeOfDay& t) const { return json_string(t.to_iso()); }
    std::string operator()(const Bytes& b) const { return json_string(base64(b.data)); }
    std::string operator()(const metersync::Json& j) const {
      auto parsed = nlohmann::ordered_json::parse(j.text, nullptr, /*allow_exceptions=*/false);
      return parsed.is_discarded() ? json_string(j.text) : parsed.dump();
    }
    std::string operator()(const Unavailable&) const { return R"({"unavailable":true})"; }
  };
  return std::visit(Visitor{}, value);
}

std::string row_json(const Row& row) {
  ObjectWriter writer;
  for (const auto& [name, value] : row.columns) writer.raw(name, value_json(value));
  return writer.done();
}

std::string meter_json(const MeterChange& change) {
  const MeterRow& m = change.row;
  auto decimal = [](const Decimal& d) { return json_string(d.to_string()); };
  ObjectWriter w;
  w.string("sourceSystem", m.source_system).string(wire::event_field::kSourceMeterId, m.source_meter_id);
  if (change.kind == MeterChange::Kind::DeleteKeyOnly) {
    // Only the key is known: the other columns keep their stored values at the sink.
    return w.raw("isDeleted", "true")
        .string("sourceCommittedAt", m.source_committed_at.to_iso(3))
        .string("sourcePosition", m.source_position.text)
        .done();
  }
  w.string("serialNumber", m.serial_number)
      .string("meterType", m.meter_type)
      .optional("manufacturer", m.manufacturer, [](const std::string& s) { return json_string(s); })
      .string("status", m.status)
      .optional("installDate", m.install_date, [](const Date& d) { return json_string(d.to_iso()); })
      .raw("multiplier", decimal(m.multiplier))
      .optional("lastReadingValue", m.last_reading_value, decimal)
      .optional("lastReadingAt", m.last_reading_at,
                [](const Timestamp& t) { return json_string(t.to_iso(6)); })
      .optional("latitude", m.latitude, decimal)
      .optional("longitude", m.longitude, decimal)
      .raw("isDeleted", m.is_deleted ? "true" : "false")
      .string("sourceCommittedAt", m.source_committed_at.to_iso(3))
      .string("sourcePosition", m.source_position.text);
  return w.done();
}

std::string event_id(const std::string& source, const Position& position,
                     const std::optional<std::string>& meter_id, RecordRef ref) {
  std::string id = source + ":" + position.text + ":";
  if (meter_id) return id + *meter_id;
  return id + "@" + std::to_string(ref.partition) + "." + std::to_string(ref.offset);
}

EncodedEvent encode_event(const std::string& source, const ChangeEvent& event,
                          const MeterChange& change, RecordRef ref) {
  std::optional<std::string> meter_id;
  std::string meter = "null";
  if (change.kind != MeterChange::Kind::Truncate) {
    meter_id = change.row.source_meter_id;
    meter = meter_json(change);
  }
  EncodedEvent out;
  out.id = event_id(source, event.position, meter_id, ref);
  out.partition = ref.partition;
  out.offset = ref.offset;
  namespace field = wire::event_field;
  ObjectWriter w;
  w.string(field::kId, out.id)
      .string(field::kOp, op_name(event.op))
      .string(field::kCommittedAt, from_ms(event.committed_at_ms).to_iso(3))
      .string(field::kPosition, event.position.text)
      .raw(field::kMeter, meter);
  w.optional(field::kBefore, event.before, row_json).optional(field::kAfter, event.after, row_json);
  out.json = w.done();
  return out;
}

}  // namespace metersync::dispatch
