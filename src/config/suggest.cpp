#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace metersync::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<std::string> nearest(std::string_view word, std::span<const std::string> candidates) {
  const std::string w = lower(word);
  std::optional<std::string> best;
  size_t best_distance = SIZE_MAX;
  for (const auto& candidate : candidates) {
    const std::string c = lower(candidate);
    size_t distance = edit_distance(w, c);
    // A leading part of a longer name ("Serial" for "SerialNumber") is a likely
    // abbreviation even though many letters are missing.
    if (w.size() >= 3 && (c.starts_with(w) || w.starts_with(c)))
      distance = std::min<size_t>(distance, 1);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  const size_t allowed = std::max<size_t>(2, w.size() / 3);
  if (best && best_distance <= allowed) return best;
  return std::nullopt;
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
  const auto best = nearest(word, candidates);
  return best ? "; did you mean " + *best + "?" : "";
}

}  // namespace metersync::config
