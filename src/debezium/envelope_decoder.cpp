#include "debezium/envelope_decoder.hpp"

#include <simdjson.h>

#include <cstring>
#include <optional>
#include <utility>

#include "debezium/json_fields.hpp"
#include "debezium/position.hpp"
#include "debezium/row_layout.hpp"
#include "debezium/source_block.hpp"
#include "debezium/value_reader.hpp"

namespace metersync::debezium {
namespace {

using simdjson::ondemand::json_type;

std::unexpected<Error> fail(std::string reason) {
  return std::unexpected(Error::data(Stage::Decode, std::move(reason)));
}

std::unexpected<Error> json_fail(std::string_view where, simdjson::error_code error) {
  return fail(json_fields::invalid(where, error));
}

// What one message's envelope said, gathered in a single pass over its fields (the
// order of before/after/source/op varies between writers; nothing depends on it).
struct EnvelopeParts {
  std::optional<Op> op;
  std::optional<Row> before;
  std::optional<Row> after;
  std::optional<SourceBlock> source;
  std::optional<int64_t> payload_ts_ms;
};

std::optional<Op> op_from_code(std::string_view code) {
  if (code.size() != 1) return std::nullopt;
  switch (code[0]) {
    case 'c':
      return Op::Create;
    case 'u':
      return Op::Update;
    case 'd':
      return Op::Delete;
    case 'r':
      return Op::Read;
    case 't':
      return Op::Truncate;
    default:
      return std::nullopt;
  }
}

}  // namespace

class EnvelopeDecoder::Impl {
 public:
  Impl(Connector connector, const DeclaredColumns& declared)
      : connector_(connector), declared_layout_(RowLayout::from_declared(declared)) {}

  Result<ChangeEvent> decode(std::string_view message);
  std::shared_ptr<const std::string> schema_prefix() const { return schema_prefix_; }

 private:
  // Message: a whole Kafka message value. EnvelopeOnly: just the payload of a message
  // whose schema matched the cached one (every key is an envelope field).
  enum class Mode { Message, EnvelopeOnly };

  std::string_view cached_schema_payload(std::string_view message) const;
  Result<ChangeEvent> decode_text(std::string_view text, Mode mode);
  Result<void> envelope_field(std::string_view key,
                                                  simdjson::ondemand::value& value,
                                                  const RowLayout* layout, EnvelopeParts& parts);
  Result<void> schema(simdjson::ondemand::value& value,
                                          const RowLayout*& layout);
  Result<std::optional<Row>> row(simdjson::ondemand::value& value,
                                                     const RowLayout* layout,
                                                     std::string_view which);
  Result<ChangeEvent> assemble(EnvelopeParts& parts) const;

  Connector connector_;
  RowLayout declared_layout_;

  simdjson::ondemand::parser parser_;  // messages; buffers kept between decodes
  std::string buffer_;                 // the message copied with simdjson's padding
  ValueReader reader_;

  // The last schema seen and its compiled layout: every message of a topic repeats
  // its schema, so it is compiled once per schema change, not once per message.
  std::string schema_text_;
  RowLayout schema_layout_;
  simdjson::dom::parser schema_parser_;  // only runs when the schema text changes
  std::shared_ptr<const std::string> schema_prefix_;  // kHead + schema_text_ + kJoin
};

namespace {
constexpr std::string_view kHead = R"({"schema":)";
constexpr std::string_view kJoin = R"(,"payload":)";
}  // namespace

Result<ChangeEvent> EnvelopeDecoder::Impl::decode(std::string_view message) {
  // Fast path: a JsonConverter message whose schema is byte-for-byte the cached one.
  // Only the payload is then indexed and walked; the schema (often most of the bytes)
  // is compared with memcmp instead of being tokenised. Any failure here reruns the full
  // path, so results and error reasons are the full path's.
  if (const std::string_view payload = cached_schema_payload(message); !payload.empty()) {
    if (auto event = decode_text(payload, Mode::EnvelopeOnly); event) return event;
  }
  return decode_text(message, Mode::Message);
}

std::string_view EnvelopeDecoder::Impl::cached_schema_payload(std::string_view message) const {
  if (schema_text_.empty() || !message.starts_with(kHead)) return {};
  message.remove_prefix(kHead.size());
  if (!message.starts_with(schema_text_)) return {};
  message.remove_prefix(schema_text_.size());
  if (!message.starts_with(kJoin)) return {};
  message.remove_prefix(kJoin.size());
  while (!message.empty() && (message.back() == ' ' || message.back() == '\n' ||
                              message.back() == '\r' || message.back() == '\t')) {
    message.remove_suffix(1);
  }
  if (message.empty() || message.back() != '}') return {};
  message.remove_suffix(1);  // the message object's closing brace
  return message;
}

Result<ChangeEvent> EnvelopeDecoder::Impl::decode_text(std::string_view text,
                                                                           Mode mode) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy into a buffer that
  // has them (it only grows, so steady state allocates nothing here).
  const size_t needed = text.size() + simdjson::SIMDJSON_PADDING;
  if (buffer_.size() < needed) buffer_.resize(needed);
  std::memcpy(buffer_.data(), text.data(), text.size());
  std::memset(buffer_.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);

  simdjson::ondemand::document document;
  if (auto error = parser_.iterate(buffer_.data(), text.size(), buffer_.size()).get(document)) {
    return json_fail("message", error);
  }
  simdjson::ondemand::object top;
  if (auto error = document.get_object().get(top)) {
    return fail(error == simdjson::INCORRECT_TYPE
                    ? "message: not a JSON object"
                    : std::string("message: invalid JSON: ") + simdjson::error_message(error));
  }

  // Either {"schema":..., "payload":{envelope}} (JsonConverter with schemas) or the
  // envelope itself (schemas.enable=false, or the fast path's payload).
  EnvelopeParts parts;
  const RowLayout* layout = mode == Mode::EnvelopeOnly ? &schema_layout_ : &declared_layout_;
  bool saw_payload = false;
  for (auto field : top) {
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return json_fail("message", error);
    simdjson::ondemand::value value;
    if (auto error = field.value().get(value)) return json_fail(key, error);
    if (mode == Mode::Message && key == "schema") {
      if (saw_payload)
        return fail("message: \"schema\" follows \"payload\"; the JsonConverter writes it first");
      if (auto done = schema(value, layout); !done) return std::unexpected(done.error());
    } else if (mode == Mode::Message && key == "payload") {
      saw_payload = true;
      json_type type;
      if (auto error = value.type().get(type)) return json_fail("payload", error);
      if (type != json_type::object) return fail("payload: expected the envelope object");
      simdjson::ondemand::object payload;
      if (auto error = value.get_object().get(payload)) return json_fail("payload", error);
      for (auto inner : payload) {
        std::string_view inner_key;
        if (auto error = inner.unescaped_key().get(inner_key)) return json_fail("payload", error);
        simdjson::ondemand::value inner_value;
        if (auto error = inner.value().get(inner_value)) return json_fail(inner_key, error);
        if (auto done = envelope_field(inner_key, inner_value, layout, parts); !done) {
          return std::unexpected(done.error());
        }
      }
    } else if (auto done = envelope_field(key, value, layout, parts); !done) {
      return std::unexpected(done.error());
    }
  }
  // A location still in bounds after the object means more tokens follow it.
  if (document.current_location().error() == simdjson::SUCCESS) {
    return fail("message: trailing content after the JSON object");
  }
  return assemble(parts);
}

Result<void> EnvelopeDecoder::Impl::schema(simdjson::ondemand::value& value,
                                                               const RowLayout*& layout) {
  json_type type;
  if (auto error = value.type().get(type)) return json_fail("schema", error);
  if (type == json_type::null) return {};  // no schema: the declared columns apply
  if (type != json_type::object) return fail("schema: expected an object");
  simdjson::ondemand::object object;
  std::string_view text;
  if (auto error = value.get_object().get(object)) return json_fail("schema", error);
  if (auto error = object.raw_json().get(text)) return json_fail("schema", error);
  if (text != schema_text_ || schema_layout_.empty()) {
    auto compiled = RowLayout::from_envelope_schema(text, schema_parser_);
    if (!compiled) return fail(std::move(compiled.error()));
    schema_layout_ = std::move(*compiled);
    schema_text_.assign(text);
    schema_prefix_ =
        std::make_shared<const std::string>(std::string(kHead) + schema_text_ + std::string(kJoin));
  }
  layout = &schema_layout_;
  return {};
}

Result<void> EnvelopeDecoder::Impl::envelope_field(
    std::string_view key, simdjson::ondemand::value& value, const RowLayout* layout,
    EnvelopeParts& parts) {
  if (key == "before" || key == "after") {
    auto decoded = row(value, layout, key);
    if (!decoded) return std::unexpected(decoded.error());
    (key == "before" ? parts.before : parts.after) = std::move(*decoded);
  } else if (key == "source") {
    json_type type;
    if (auto error = value.type().get(type)) return json_fail("source", error);
    if (type == json_type::null) return {};  // reported as missing below
    if (type != json_type::object) return fail("source: expected an object");
    auto block = read_source_block(value, connector_);
    if (!block) return fail(std::move(block.error()));
    parts.source = *block;
  } else if (key == "op") {
    auto code = json_fields::optional_string(value, json_fields::FieldPath{"", "op"});
    if (!code) return fail(std::move(code.error()));
    const auto& text = *code;
    if (!text) return fail("op is null");
    parts.op = op_from_code(*text);
    if (!parts.op) return fail("op '" + std::string(*text) + "' is not one of c, u, d, r, t");
  } else if (key == "ts_ms") {
    auto ts = json_fields::optional_int(value, json_fields::FieldPath{"", "ts_ms"});
    if (!ts) return fail(std::move(ts.error()));
    parts.payload_ts_ms = *ts;
  }
  // transaction, ts_us, ts_ns and any future envelope field: not needed, skipped.
  return {};
}

Result<std::optional<Row>> EnvelopeDecoder::Impl::row(
    simdjson::ondemand::value& value, const RowLayout* layout, std::string_view which) {
  json_type type;
  if (auto error = value.type().get(type)) return json_fail(which, error);
  if (type == json_type::null) return std::optional<Row>{};
  if (type != json_type::object) return fail(std::string(which) + ": expected an object or null");
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object)) return json_fail(which, error);

  // Only a message's own schema is complete; declared columns may cover a subset.
  const bool from_schema = layout == &schema_layout_;
  Row row;
  row.columns.reserve(layout->empty() ? 16 : layout->size());
  size_t hint = 0;
  for (auto field : object) {
    std::string_view name;
    if (auto error = field.unescaped_key().get(name)) return json_fail(which, error);
    simdjson::ondemand::value column;
    if (auto error = field.value().get(column)) return json_fail(which, error);
    const ColumnSpec* spec = layout->find(name, hint);
    if (spec == nullptr && from_schema) {
      return fail("field " + std::string(which) + "." + std::string(name) +
                  " is not in the message's schema");
    }
    auto decoded =
        spec != nullptr ? reader_.read(column, spec->type) : reader_.read_untyped(column);
    if (!decoded) {
      return fail("field " + std::string(which) + "." + std::string(name) + ": " + decoded.error());
    }
    row.columns.emplace_back(std::string(name), std::move(*decoded));
  }
  return std::optional<Row>{std::move(row)};
}

Result<ChangeEvent> EnvelopeDecoder::Impl::assemble(
    EnvelopeParts& parts) const {
  if (!parts.op) return fail("op is missing");
  if (!parts.source) return fail("source is missing");
  const SourceBlock& source = *parts.source;
  const Op op = *parts.op;
  switch (op) {
    case Op::Create:
    case Op::Read:
    case Op::Update:
      if (!parts.after) {
        return fail("after is missing or null for op '" + std::string(op_name(op)) + "'");
      }
      break;
    case Op::Delete:
      if (!parts.before) {
        return fail("before is missing or null for a delete (the table logs no before image)");
      }
      break;
    case Op::Truncate:
      break;
  }
  if (!source.table) return fail("source.table is missing");

  auto position = encode_position(connector_, source.coordinates);
  if (!position) return fail(std::move(position.error()));

  ChangeEvent event{.connector = connector_,
                    .op = op,
                    .before = std::move(parts.before),
                    .after = std::move(parts.after),
                    .position = std::move(*position),
                    .committed_at_ms = 0,
                    .table = std::string(*source.table),
                    .snapshot = source.snapshot};
  // source.ts_ms is the commit time at the source; the envelope's ts_ms (when Debezium
  // processed the event) stands in only when a source block lacks it.
  if (source.ts_ms)
    event.committed_at_ms = *source.ts_ms;
  else if (parts.payload_ts_ms)
    event.committed_at_ms = *parts.payload_ts_ms;
  else
    return fail("neither source.ts_ms nor ts_ms is present");
  // A truncate has no rows; keep the images empty even if a writer sent some.
  if (op == Op::Truncate) {
    event.before.reset();
    event.after.reset();
  }
  return event;
}

EnvelopeDecoder::EnvelopeDecoder(Connector connector, const DeclaredColumns& declared)
    : impl_(std::make_unique<Impl>(connector, declared)) {}
EnvelopeDecoder::~EnvelopeDecoder() = default;
EnvelopeDecoder::EnvelopeDecoder(EnvelopeDecoder&&) noexcept = default;
EnvelopeDecoder& EnvelopeDecoder::operator=(EnvelopeDecoder&&) noexcept = default;

Result<ChangeEvent> EnvelopeDecoder::decode(std::string_view value) {
  return impl_->decode(value);
}

std::shared_ptr<const std::string> EnvelopeDecoder::schema_prefix() const {
  return impl_->schema_prefix();
}

}  // namespace metersync::debezium
