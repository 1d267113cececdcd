#include "endpoint/pages.hpp"

#include <algorithm>
#include <array>

namespace metersync::endpoint {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fill_template(std::string_view shell,
                          const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  std::size_t at = 0;
  while (at < shell.size()) {
    const auto open = shell.find('@', at);
    if (open == std::string_view::npos) break;
    const auto close = shell.find('@', open + 1);
    if (close == std::string_view::npos) break;
    const auto name = shell.substr(open + 1, close - open - 1);
    auto value = std::find_if(values.begin(), values.end(),
                              [name](const auto& entry) { return entry.first == name; });
    if (value == values.end()) {
      // Not a placeholder: keep the '@' and look again from the next character.
      out.append(shell.substr(at, open + 1 - at));
      at = open + 1;
      continue;
    }
    out.append(shell.substr(at, open - at));
    out += value->second;
    at = close + 1;
  }
  out.append(shell.substr(std::min(at, shell.size())));
  return out;
}

std::string render_page(std::string_view kind, std::string_view title, std::string_view main_html) {
  return fill_template(page_asset("shell.html").value_or(""),
                       {{"KIND", html_escape(kind)},
                        {"TITLE", html_escape(title)},
                        {"MAIN", std::string(main_html)}});
}

std::vector<std::string> changed_columns(const nlohmann::ordered_json& previous,
                                         const nlohmann::ordered_json& meter) {
  std::vector<std::string> changed;
  if (!previous.is_object() || !meter.is_object()) return changed;
  for (const auto& [column, value] : meter.items()) {
    if (column == "sourcePosition" || column == "sourceCommittedAt") continue;
    auto before = previous.find(column);
    if (before == previous.end() || *before != value) changed.push_back(column);
  }
  return changed;
}

std::optional<std::string> utc_millis_of(std::string_view text) {
  // Digits where the pattern has 'd', the character itself elsewhere.
  auto matches = [](std::string_view part, std::string_view pattern) {
    if (part.size() != pattern.size()) return false;
    for (std::size_t i = 0; i < part.size(); ++i) {
      const bool digit = part[i] >= '0' && part[i] <= '9';
      if (pattern[i] == 'd' ? !digit : part[i] != pattern[i]) return false;
    }
    return true;
  };
  if (text.empty() || text.back() != 'Z') return std::nullopt;
  text.remove_suffix(1);
  std::string out;
  if (matches(text, "dddd-dd-ddTdd:dd")) {
    out = std::string(text) + ":00.000";
  } else if (matches(text, "dddd-dd-ddTdd:dd:dd")) {
    out = std::string(text) + ".000";
  } else if (text.size() > 20 && text.size() <= 29 && matches(text.substr(0, 20), "dddd-dd-ddTdd:dd:dd.") &&
             matches(text.substr(20), std::string(text.size() - 20, 'd'))) {
    // Fractions beyond milliseconds are cut, fewer digits padded: .5 is .500.
    out = std::string(text.substr(0, 20)) + (std::string(text.substr(20)) + "00").substr(0, 3);
  } else {
    return std::nullopt;
  }
  return out + "Z";
}

std::string cookie_value(std::string_view header, std::string_view name) {
  std::size_t at = 0;
  while (at < header.size()) {
    auto end = header.find(';', at);
    if (end == std::string_view::npos) end = header.size();
    auto pair = header.substr(at, end - at);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return std::string(pair.substr(equals + 1));
    }
    at = end + 1;
  }
  return "";
}

std::string hex_of(std::string_view bytes) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0x0f]);
  }
  return hex;
}

}  // namespace metersync::endpoint
