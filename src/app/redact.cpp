#include "app/redact.hpp"

#include <algorithm>
#include <cctype>

namespace metersync::app {
namespace {

std::string lower_trimmed(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool is_secret_key(std::string_view key) {
  const std::string k = lower_trimmed(key);
  return k == "pwd" || k == "password" || k.find("secret") != std::string::npos ||
         k.find("token") != std::string::npos;
}

}  // namespace

std::string redact_connection_string(std::string_view connection) {
  std::string out;
  std::size_t i = 0;
  while (i < connection.size()) {
    const std::size_t eq = connection.find('=', i);
    if (eq == std::string_view::npos) {
      out.append(connection.substr(i));
      break;
    }
    const std::string_view key = connection.substr(i, eq - i);
    std::size_t end = eq + 1;
    if (end < connection.size() && connection[end] == '{') {
      const std::size_t close = connection.find('}', end);
      end = close == std::string_view::npos ? connection.size() : close + 1;
    }
    end = std::min(connection.find(';', end), connection.size());
    out.append(key);
    out += '=';
    if (is_secret_key(key)) {
      out += "***";
    } else {
      out.append(connection.substr(eq + 1, end - eq - 1));
    }
    if (end < connection.size()) out += ';';
    i = end + 1;
  }
  return out;
}

}  // namespace metersync::app
