// Builds a source's decoder and mapper from its configuration: the connector name and
// the declared column types become what EnvelopeDecoder expects.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/meter_row.hpp"
#include "debezium/envelope_decoder.hpp"
#include "mapping/source_mapper.hpp"

namespace metersync::dispatch {

// Decode and map one record value. A decode error is a value (the record cannot become
// an event); a mapping error is carried with the event, which is still delivered.
class SourceDecoding {
 public:
  explicit SourceDecoding(const config::SourceConfig& source);  // throws ConfigError

  struct Decoded {
    ChangeEvent event;
    std::expected<MeterChange, std::string> mapped;
  };
  std::expected<Decoded, std::string> decode(std::string_view value);

 private:
  debezium::EnvelopeDecoder decoder_;
  mapping::SourceMapper mapper_;
};

}  // namespace metersync::dispatch
