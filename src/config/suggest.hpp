// "Did you mean ...?" for misspelt configuration keys.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace metersync::config {

// The candidate closest to `word` (case-insensitive edit distance, or a prefix of it,
// as `Serial` is of `SerialNumber`), when it is close enough to be a likely typo.
std::optional<std::string> nearest(std::string_view word, std::span<const std::string> candidates);

// "; did you mean X?" or "" — appended to unknown-key messages.
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

}  // namespace metersync::config
