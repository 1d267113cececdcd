// `metersync verify`: every chosen source with a connection, one after the other; a source
// that cannot be verified (unreachable, table missing) is reported and the others still run.
#pragma once

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sink/odbc_environment.hpp"
#include "verify/verifier.hpp"

namespace metersync::verify {

struct CommandOptions {
  bool json = false;
  std::chrono::milliseconds catch_up_timeout{60'000};  // --catch-up-timeout
  bool repair = false;                                 // --repair
  std::chrono::milliseconds repair_timeout{120'000};   // --repair-timeout
  const std::atomic<bool>* stop = nullptr;  // set: waits for the pipeline end early (run's shutdown)
};

// Verifies each source; prints the reports (text or one JSON document). Returns 0 only
// when every source was verified and nothing differs.
int verify_command(const config::Config& config, const std::vector<const config::SourceConfig*>& sources,
                   const CommandOptions& options, std::ostream& out);

// One source verified (and repaired, with options.repair); the report says why when it could
// not be. `environment` outlives the call.
SourceReport verify_one(const config::Config& config, const config::SourceConfig& source,
                        const sink::OdbcEnvironment& environment, const CommandOptions& options);

// The reports as a person reads them: differences, then one summary line per source.
std::string render_text(const std::vector<SourceReport>& reports);
// {"sources": [...], "equal": bool}
std::string render_json(const std::vector<SourceReport>& reports);

}  // namespace metersync::verify
