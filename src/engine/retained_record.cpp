#include "engine/retained_record.hpp"

namespace metersync::engine {

RetainedRecord::RetainedRecord(std::optional<std::string_view> key,
                               std::optional<std::string_view> value,
                               std::shared_ptr<const std::string> prefix) {
  if (key) key_.emplace(*key);
  if (!value) return;
  if (prefix && !prefix->empty() && value->starts_with(*prefix)) {
    rest_.emplace(value->substr(prefix->size()));
    prefix_ = std::move(prefix);
  } else {
    rest_.emplace(*value);
  }
}

std::optional<std::string> RetainedRecord::value() const {
  if (!rest_) return std::nullopt;
  if (!prefix_) return rest_;
  std::string whole;
  whole.reserve(prefix_->size() + rest_->size());
  whole += *prefix_;
  whole += *rest_;
  return whole;
}

std::size_t RetainedRecord::held_bytes() const {
  return (key_ ? key_->capacity() : 0) + (rest_ ? rest_->capacity() : 0);
}

}  // namespace metersync::engine
