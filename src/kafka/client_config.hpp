// Builds librdkafka configuration objects from metersync's kafka settings.
//
// metersync's defaults go first, then the user's `kafka.properties`, then the settings
// our guarantees rest on (manual commits, read_committed, idempotence, ...) are applied
// on top; a user property that contradicts one of them is refused rather than silently
// overridden.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <librdkafka/rdkafkacpp.h>

namespace metersync::kafka {

// A broken start: the message names the property (as kafka.properties.<name>) and the fix.
class ClientConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientSettings {
  std::string bootstrap_servers;                  // kafka.bootstrap_servers
  std::map<std::string, std::string> properties;  // kafka.properties (any librdkafka key)
  std::string client_id = "metersync";
};

// `required`: properties the caller's correctness depends on. `defaults`: metersync's
// choices where librdkafka's own defaults do not suit it (memory, latency); a property
// of the same name in `kafka.properties` wins.
std::unique_ptr<RdKafka::Conf> make_conf(const ClientSettings& settings,
                                         const std::map<std::string, std::string>& required,
                                         const std::map<std::string, std::string>& defaults = {});

// True for librdkafka keys whose values are secrets (passwords, keys, tokens).
bool is_secret_property(const std::string& name);

}  // namespace metersync::kafka
