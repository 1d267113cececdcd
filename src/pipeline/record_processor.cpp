#include "pipeline/record_processor.hpp"

#include <map>

#include "debezium/column_types.hpp"

namespace metersync::pipeline {
namespace {

debezium::DeclaredColumns declared_columns(const config::SourceConfig& source) {
  debezium::DeclaredColumns declared;
  for (const auto& [column, text] : source.columns) {
    auto type = debezium::parse_column_type(text);
    if (!type) throw ConfigError("sources." + source.name + ".columns." + column + ": " + type.error());
    declared.emplace(column, *type);
  }
  return declared;
}

}  // namespace

Connector connector_of(const config::SourceConfig& source) {
  static const std::map<std::string, Connector, std::less<>> kNames{
      {"postgres", Connector::Postgres}, {"mysql", Connector::MySql},
      {"mariadb", Connector::MariaDb},   {"sqlserver", Connector::SqlServer},
      {"oracle", Connector::Oracle}};
  auto found = kNames.find(source.connector);
  if (found == kNames.end()) {
    throw ConfigError("sources." + source.name + ".connector: '" + source.connector +
                      "' is not one of postgres, mysql, mariadb, sqlserver, oracle");
  }
  return found->second;
}

std::optional<std::string> expected_table(const config::SourceConfig& source) {
  const std::string prefix = source.name + ".";
  if (!source.topic.starts_with(prefix)) return std::nullopt;
  return source.topic.substr(source.topic.rfind('.') + 1);
}

RecordProcessor::RecordProcessor(const config::SourceConfig& source)
    : decoder_(connector_of(source), declared_columns(source)),
      mapper_(source),
      expected_table_(expected_table(source)) {}

Outcome RecordProcessor::process(std::optional<std::string_view> value) {
  if (!value) return Tombstone{};
  auto event = decoder_.decode(*value);
  if (!event) return Rejected{event.error().stage, std::move(event.error().reason)};
  if (expected_table_ && !event->table.empty() && event->table != *expected_table_) {
    return Rejected{Stage::Map, "event of table '" + event->table + "' on the topic of table '" +
                                    *expected_table_ + "'"};
  }
  auto change = mapper_.map(*event);
  if (!change) return Rejected{change.error().stage, std::move(change.error().reason)};
  return Processed{std::move(*event), std::move(*change)};
}

}  // namespace metersync::pipeline
