// `${VAR}` and `${VAR:-default}` in configuration values, resolved from the environment.
#pragma once

#include <string>
#include <string_view>

namespace metersync::config {

// Replaces every `${NAME}` with the variable's value and every `${NAME:-text}` with the
// value, or `text` when the variable is unset or empty (as a POSIX shell does). `$${`
// writes a literal `${`. Substituted text is not scanned again, so a secret holding
// `${` stays as it is. Throws ConfigError naming `key_path` and the variable when a
// variable without default is unset, or when a `${` is not closed or names nothing.
std::string interpolate(std::string_view text, std::string_view key_path);

}  // namespace metersync::config
