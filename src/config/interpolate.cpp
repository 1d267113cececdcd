#include "config/interpolate.hpp"

#include <cstdlib>

#include "config/config.hpp"

namespace metersync::config {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

std::string interpolate(std::string_view text, std::string_view key_path) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.push_back(text[i++]);
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      throw ConfigError(std::string(key_path) +
                        ": `${` is not closed by `}`; write `$${` for a literal `${`");
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const size_t dash = inner.find(":-");
    const std::string_view name = inner.substr(0, dash);
    bool valid = !name.empty() && is_name_start(name.front());
    for (char c : name) valid = valid && is_name_char(c);
    if (!valid)
      throw ConfigError(
          std::string(key_path) + ": `${" + std::string(inner) +
          "}` does not name an environment variable; use ${NAME} or ${NAME:-default}");
    const char* value = std::getenv(std::string(name).c_str());
    if (dash != std::string_view::npos) {
      if (value != nullptr && *value != '\0')
        out += value;
      else
        out += inner.substr(dash + 2);
    } else if (value != nullptr) {
      out += value;
    } else {
      throw ConfigError(std::string(key_path) + ": environment variable " + std::string(name) +
                        " is not set; export it, or give a default as ${" + std::string(name) +
                        ":-value}");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace metersync::config
