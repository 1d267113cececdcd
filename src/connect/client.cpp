#include "connect/client.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace metersync::connect {
namespace {

Error connect_error(std::string reason, int http_status = 0) {
  return Error{ErrorKind::Transient, Stage::Connect, std::move(reason), {}, 0, http_status};
}

}  // namespace

Client::Client(std::string url, std::chrono::milliseconds timeout) : url_(std::move(url)), timeout_(timeout) {}

Result<Client::Answer> Client::get(const std::string& path) const {
  httplib::Client client(url_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(timeout_);
  client.set_write_timeout(timeout_);
  const auto result = client.Get(path);
  if (!result) return std::unexpected(connect_error("no answer from " + url_ + ": " + httplib::to_string(result.error())));
  return Answer{result->status, result->body};
}

Result<std::vector<std::string>> Client::connectors() const {
  auto answer = get("/connectors");
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 200) {
    return std::unexpected(connect_error(url_ + "/connectors answered " + std::to_string(answer->status), answer->status));
  }
  const nlohmann::json json = nlohmann::json::parse(answer->body, nullptr, false);
  if (!json.is_array()) return std::unexpected(connect_error(url_ + "/connectors: not a JSON array"));
  std::vector<std::string> names;
  names.reserve(json.size());
  for (const nlohmann::json& name : json) {
    if (name.is_string()) names.push_back(name.get<std::string>());
  }
  return names;
}

Result<std::optional<ConnectorStatus>> Client::status(const std::string& name) const {
  const std::string path = "/connectors/" + name + "/status";
  auto answer = get(path);
  if (!answer) return std::unexpected(answer.error());
  if (answer->status == 404) return std::optional<ConnectorStatus>();
  if (answer->status != 200) {
    return std::unexpected(connect_error(url_ + path + " answered " + std::to_string(answer->status), answer->status));
  }
  auto status = parse_status(answer->body);
  if (!status) return std::unexpected(status.error());
  return std::optional<ConnectorStatus>(std::move(*status));
}

Result<std::optional<std::map<std::string, std::string>>> Client::config(const std::string& name) const {
  using Config = std::map<std::string, std::string>;
  const std::string path = "/connectors/" + name + "/config";
  auto answer = get(path);
  if (!answer) return std::unexpected(answer.error());
  if (answer->status == 404) return std::optional<Config>();
  if (answer->status != 200) {
    return std::unexpected(connect_error(url_ + path + " answered " + std::to_string(answer->status), answer->status));
  }
  const nlohmann::json json = nlohmann::json::parse(answer->body, nullptr, false);
  if (!json.is_object()) return std::unexpected(connect_error(url_ + path + ": not a JSON object"));
  Config config;
  for (const auto& [key, value] : json.items()) {
    // Connect keeps every setting as a string.
    if (value.is_string()) config[key] = value.get<std::string>();
  }
  return std::optional<Config>(std::move(config));
}

}  // namespace metersync::connect
