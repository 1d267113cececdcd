#include "dispatch/source_decoding.hpp"

namespace metersync::dispatch {
namespace {

Connector connector_of(const config::SourceConfig& source) {
  const std::string& name = source.connector;
  if (name == "postgres") return Connector::Postgres;
  if (name == "mysql") return Connector::MySql;
  if (name == "mariadb") return Connector::MariaDb;
  if (name == "sqlserver") return Connector::SqlServer;
  if (name == "oracle") return Connector::Oracle;
  throw ConfigError("sources." + source.name + ".connector: \"" + name +
                    "\" is not one of postgres, mysql, mariadb, sqlserver, oracle");
}

debezium::DeclaredColumns declared_of(const config::SourceConfig& source) {
  debezium::DeclaredColumns declared;
  for (const auto& [column, text] : source.columns) {
    auto type = debezium::parse_column_type(text);
    if (!type) {
      throw ConfigError("sources." + source.name + ".columns." + column + ": " + type.error());
    }
    declared.emplace(column, *type);
  }
  return declared;
}

}  // namespace

SourceDecoding::SourceDecoding(const config::SourceConfig& source)
    : decoder_(connector_of(source), declared_of(source)), mapper_(source) {}

std::expected<SourceDecoding::Decoded, std::string> SourceDecoding::decode(std::string_view value) {
  auto event = decoder_.decode(value);
  if (!event) return std::unexpected(event.error().reason);
  auto mapped = mapper_.map(*event);
  Decoded out{std::move(*event), std::unexpected(std::string())};
  if (mapped) {
    out.mapped = std::move(*mapped);
  } else {
    out.mapped = std::unexpected(mapped.error().reason);
  }
  return out;
}

}  // namespace metersync::dispatch
