#include "kafka/client_config.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace metersync::kafka {
namespace {

void set_or_throw(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string error;
  if (conf.set(name, value, error) != RdKafka::Conf::CONF_OK) {
    // The value is not repeated: it may be a password.
    throw ClientConfigError("kafka.properties." + name + ": " + error +
                            " (fix the property or remove it; see librdkafka's CONFIGURATION.md)");
  }
}

}  // namespace

bool is_secret_property(const std::string& name) {
  static constexpr std::array<std::string_view, 5> kMarkers{"password", "secret", ".key.pem",
                                                            "private.key", "token"};
  return std::any_of(kMarkers.begin(), kMarkers.end(), [&](std::string_view marker) {
    return name.find(marker) != std::string::npos;
  });
}

std::unique_ptr<RdKafka::Conf> make_conf(const ClientSettings& settings,
                                         const std::map<std::string, std::string>& required,
                                         const std::map<std::string, std::string>& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (settings.bootstrap_servers.empty()) {
    throw ClientConfigError("kafka.bootstrap_servers: empty (set it to host:port of a broker)");
  }
  for (const auto& [name, value] : defaults) {
    if (!settings.properties.contains(name)) set_or_throw(*conf, name, value);
  }
  for (const auto& [name, value] : settings.properties) {
    auto fixed = required.find(name);
    if (fixed != required.end() && fixed->second != value) {
      throw ClientConfigError("kafka.properties." + name + ": metersync requires " + fixed->second +
                              " here (remove the property)");
    }
    set_or_throw(*conf, name, value);
  }
  set_or_throw(*conf, "bootstrap.servers", settings.bootstrap_servers);
  if (!settings.properties.contains("client.id")) set_or_throw(*conf, "client.id", settings.client_id);
  for (const auto& [name, value] : required) set_or_throw(*conf, name, value);
  return conf;
}

}  // namespace metersync::kafka
