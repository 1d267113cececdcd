// The `metersync` command line: run (default), init, check-config, config-docs, status.
//
// Exit codes: 0 success; 1 runtime failure (sink, Kafka, every pipeline failed);
// 2 configuration or usage error.
#pragma once

namespace metersync::app {

int main_cli(int argc, char** argv);

}  // namespace metersync::app
