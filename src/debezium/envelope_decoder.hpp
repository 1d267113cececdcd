// Decodes one Debezium change-event value (JSON converter) into a ChangeEvent.
//
// One decoder per pipeline thread: it keeps a simdjson parser and reuses its buffers.
// The returned event owns all its data (nothing points into the message).
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "core/change_event.hpp"
#include "core/error.hpp"
#include "debezium/column_types.hpp"

namespace metersync::debezium {

class EnvelopeDecoder {
 public:
  // `declared`: column types for topics written without schemas
  // (value.converter.schemas.enable=false); empty when every message carries its schema.
  EnvelopeDecoder(Connector connector, const DeclaredColumns& declared = {});
  ~EnvelopeDecoder();
  EnvelopeDecoder(EnvelopeDecoder&&) noexcept;
  EnvelopeDecoder& operator=(EnvelopeDecoder&&) noexcept;
  EnvelopeDecoder(const EnvelopeDecoder&) = delete;
  EnvelopeDecoder& operator=(const EnvelopeDecoder&) = delete;

  // `value` is a non-null Kafka message value (tombstones never reach the decoder).
  Result<ChangeEvent> decode(std::string_view value);

  // The bytes every value with the current schema begins with: {"schema":<the schema
  // block>,"payload": as the JSON converter writes it. Null until a value with a schema
  // was decoded; replaced (never changed in place) when the schema changes, so a holder
  // of the old one keeps it.
  std::shared_ptr<const std::string> schema_prefix() const;

 private:
  class Impl;  // keeps simdjson out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace metersync::debezium
