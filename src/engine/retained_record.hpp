// A consumed record's key and value, kept until its batch commits so that a record the
// sink refuses can still go to the dead-letter topic unchanged.
//
// Why not keep the librdkafka message: a held message pins the whole fetch buffer it came
// in, and Debezium's JSON converter repeats the topic's schema block in every value (84%
// of the bytes of the bench's PostgreSQL events). A value that begins with the shared
// prefix (EnvelopeDecoder::schema_prefix(), the bytes before the payload) keeps only what
// follows it; value() puts the two together again, byte for byte.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace metersync::engine {

class RetainedRecord {
 public:
  RetainedRecord() = default;  // a null key and a null value
  // `prefix` may be null, or one the value does not begin with: the value is then kept whole.
  RetainedRecord(std::optional<std::string_view> key, std::optional<std::string_view> value,
                 std::shared_ptr<const std::string> prefix);

  const std::optional<std::string>& key() const { return key_; }
  // The value as consumed; nullopt for a null value.
  std::optional<std::string> value() const;
  // Heap bytes this record holds on its own (a shared prefix is counted by no record).
  std::size_t held_bytes() const;
  bool shares_prefix() const { return prefix_ != nullptr; }

 private:
  std::optional<std::string> key_;
  std::shared_ptr<const std::string> prefix_;  // null: rest_ is the whole value
  std::optional<std::string> rest_;
};

}  // namespace metersync::engine
