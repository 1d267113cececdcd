// Every metric metersync exports: name, type, labels and meaning, in one list.
//
// The registry (metrics.hpp) registers its families from this list and the metrics
// reference in docs/operating.md is generated from it (`metersync metrics-docs`), so a
// metric cannot exist without its documentation, nor the other way round. Names follow
// Prometheus's conventions: the `metersync_` prefix, `_total` counters, base units
// (`_seconds`, `_bytes`), and the labels `source`, `destination` (`meter_master` |
// `endpoint`), `partition`, `stage`, `class` and `status`.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace metersync::metrics {

enum class Type { Counter, Gauge, Histogram };

struct Family {
  std::string_view name;
  Type type;
  std::string_view labels;  // comma-separated, in the order they are set
  std::string_view help;
};

std::span<const Family> catalogue();
const Family& family(std::string_view name);  // throws std::logic_error for an unknown name

// The reference table of docs/operating.md.
std::string reference_markdown();

}  // namespace metersync::metrics
