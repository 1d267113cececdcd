#include "verify/odbc_sides.hpp"

#include <sql.h>
#include <sqlext.h>

#include "pipeline/record_processor.hpp"
#include "sink/sink.hpp"
#include "verify/meter_master_sql.hpp"
#include "verify/source_values.hpp"

namespace metersync::verify {
namespace {

config::Dialect sql_family(const std::string& connector) {
  if (connector == "mysql" || connector == "mariadb") return config::Dialect::MariaDb;
  if (connector == "sqlserver") return config::Dialect::SqlServer;
  return config::Dialect::Postgres;  // PostgreSQL; Oracle quotes and casts the same way
}

std::string quote(const std::string& connector, const std::string& name) {
  std::string out;
  switch (sql_family(connector)) {
    case config::Dialect::MariaDb:
      for (char c : name) out += c == '`' ? std::string("``") : std::string(1, c);
      return "`" + out + "`";
    case config::Dialect::SqlServer:
      for (char c : name) out += c == ']' ? std::string("]]") : std::string(1, c);
      return "[" + out + "]";
    case config::Dialect::Postgres:
      for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      return "\"" + out + "\"";
  }
  return name;
}

Error sink_failure(const sink::SinkError& error) { return sink::to_error(error); }

bool plain_type_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ')) return false;
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> source_table_of(const std::string& topic) {
  const size_t dot = topic.find('.');
  if (dot == std::string::npos) return std::nullopt;
  std::vector<std::string> parts;
  size_t at = dot + 1;
  while (true) {
    const size_t next = topic.find('.', at);
    parts.push_back(topic.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return parts;
}

std::string key_column_of(const config::SourceConfig& source) {
  const config::ColumnRule* rule = source.mapping.find("SourceMeterId");
  std::vector<std::string> read;
  if (rule != nullptr)
    for (const auto& step : rule->steps) {
      if (const auto* from = std::get_if<config::FromColumn>(&step)) read.push_back(from->column);
      if (const auto* cases = std::get_if<config::Cases>(&step))
        for (const auto& c : cases->cases)
          if (!c.column.empty()) read.push_back(c.column);
    }
  if (read.size() != 1)
    throw ConfigError("sources." + source.name +
                      ".mapping.SourceMeterId: verify reads the source in the order of the one "
                      "column this rule takes `from`; this rule reads " +
                      std::to_string(read.size()));
  return read.front();
}

std::string source_page_sql(const std::string& connector, const std::vector<std::string>& table,
                            const std::string& key_column, size_t page_rows,
                            const std::optional<std::string>& after_cast) {
  std::string name;
  for (const auto& part : table) name += (name.empty() ? "" : ".") + quote(connector, part);
  const std::string key = quote(connector, key_column);
  const std::string rows = std::to_string(page_rows);
  const std::string where = after_cast ? " WHERE " + key + " > " + *after_cast : "";
  if (connector == "sqlserver")
    return "SELECT TOP (" + rows + ") * FROM " + name + where + " ORDER BY " + key;
  if (connector == "oracle")
    return "SELECT * FROM " + name + where + " ORDER BY " + key + " FETCH FIRST " + rows +
           " ROWS ONLY";
  return "SELECT * FROM " + name + where + " ORDER BY " + key + " LIMIT " + rows;
}

std::string source_lookup_sql(const std::string& connector, const std::vector<std::string>& table,
                              const std::string& key_column, size_t count, const std::string& key_cast) {
  std::string name;
  for (const auto& part : table) name += (name.empty() ? "" : ".") + quote(connector, part);
  std::string list;
  for (size_t i = 0; i < count; ++i) list += (i == 0 ? "" : ", ") + key_cast;
  return "SELECT * FROM " + name + " WHERE " + quote(connector, key_column) + " IN (" + list + ")";
}

std::string key_cast(const std::string& connector, const sink::ResultColumn& key) {
  // The last key goes back as text, cast to the key column's own type: a comparison of the
  // column with another type (a BIGINT with a DECIMAL, a uuid with text) could not use the
  // key's index, and each page would scan the table from its start.
  const bool integer = key.sql_type == SQL_TINYINT || key.sql_type == SQL_SMALLINT ||
                       key.sql_type == SQL_INTEGER || key.sql_type == SQL_BIGINT;
  const bool decimal = key.sql_type == SQL_DECIMAL || key.sql_type == SQL_NUMERIC;
  if (connector == "oracle") return integer || decimal ? "CAST(? AS NUMBER)" : "?";
  switch (sql_family(connector)) {
    case config::Dialect::Postgres:
      return plain_type_name(key.type_name) ? "CAST(? AS " + key.type_name + ")" : "?";
    case config::Dialect::MariaDb:
      if (integer) return key.is_unsigned ? "CAST(? AS UNSIGNED)" : "CAST(? AS SIGNED)";
      return decimal ? "CAST(? AS DECIMAL(65, 30))" : "?";
    case config::Dialect::SqlServer:
      if (integer) return "CAST(? AS BIGINT)";
      return decimal ? "CAST(? AS DECIMAL(38, 0))" : "?";
  }
  return "?";
}

OdbcSourceTable::OdbcSourceTable(const sink::OdbcEnvironment& environment,
                                 const config::SourceConfig& source,
                                 std::vector<const config::TargetColumn*> columns, size_t page_rows)
    : source_(source),
      columns_(std::move(columns)),
      mapper_(source),
      connector_(pipeline::connector_of(source)),
      key_column_(key_column_of(source)),
      page_rows_(page_rows) {
  const auto table = source_table_of(source.topic);
  if (!table)
    throw ConfigError("sources." + source.name + ".topic: " + source.topic +
                      " does not name the source table (<prefix>.<schema>.<table>)");
  table_ = *table;
  connection_ = std::make_unique<sink::OdbcConnection>(environment, source.connection,
                                                       sql_family(source.connector));
  // Zone-less timestamps read as UTC, as Debezium reads them.
  if (source.connector == "postgres")
    connection_->execute("SET TIME ZONE 'UTC'", {}, "setting the session's time zone");
  else if (source.connector == "mysql" || source.connector == "mariadb")
    connection_->execute("SET time_zone = '+00:00'", {}, "setting the session's time zone");
}

void OdbcSourceTable::restart() {
  last_key_.reset();
  done_ = false;
}

Result<sink::DescribedRows> OdbcSourceTable::read(const std::string& sql,
                                                  const std::vector<sink::SqlParam>& params) {
  try {
    return connection_->query_described(sql, params, "reading the source table");
  } catch (const sink::SinkError& error) {
    Error failure = sink_failure(error);
    std::string table;
    for (const auto& part : table_) table += (table.empty() ? "" : ".") + part;
    std::string_view reason = failure.reason;
    if (reason.starts_with("sink: ")) reason.remove_prefix(6);  // the ODBC layer's prefix
    failure.reason = "table " + table + ": " + std::string(reason) + "; fix: sources." + source_.name +
                     ".topic names the table (<prefix>.<schema>.<table>), and the user of sources." +
                     source_.name + ".connection may SELECT it";
    return std::unexpected(std::move(failure));
  }
}

std::vector<SourceRow> OdbcSourceTable::map_rows(const sink::DescribedRows& page, size_t key_index) const {
  std::vector<SourceRow> out;
  out.reserve(page.rows.size());
  for (const sink::SqlRow& raw : page.rows) {
    SourceRow& row = out.emplace_back();
    row.source_key = raw[key_index].value_or("NULL");
    auto decoded = source_row(page.columns, raw);
    if (!decoded) {
      row.failure = decoded.error().reason;
      continue;
    }
    ChangeEvent event{connector_, Op::Read, std::nullopt, std::move(*decoded), Position{"verify"},
                      0, table_.back(), true};
    auto change = mapper_.map(event);
    if (!change) {
      row.failure = change.error().reason;
      continue;
    }
    row.mapped = compared_row(change->row, columns_);
  }
  return out;
}

Result<std::vector<SourceRow>> OdbcSourceTable::next_page() {
  if (done_) return std::vector<SourceRow>{};
  std::vector<sink::SqlParam> params;
  if (last_key_) params.push_back(sink::SqlParam::national(*last_key_));
  auto page = read(source_page_sql(source_.connector, table_, key_column_, page_rows_,
                                   last_key_ ? cast_ : std::nullopt),
                   params);
  if (!page) return std::unexpected(page.error());
  if (page->rows.size() < page_rows_) done_ = true;
  if (page->rows.empty()) return std::vector<SourceRow>{};
  size_t key_index = page->columns.size();
  for (size_t i = 0; i < page->columns.size(); ++i)
    if (page->columns[i].name == key_column_) key_index = i;
  if (key_index == page->columns.size())
    return std::unexpected(Error::data(Stage::Map, "the source table has no column " + key_column_));
  if (!cast_) cast_ = key_cast(source_.connector, page->columns[key_index]);
  last_key_ = page->rows.back()[key_index];
  return map_rows(*page, key_index);
}

Result<std::vector<SourceRow>> OdbcSourceTable::rows_with_keys(const std::vector<std::string>& source_keys) {
  if (source_keys.empty()) return std::vector<SourceRow>{};
  if (!cast_)  // no page read yet: nothing tells the key's type
    return std::unexpected(Error::data(Stage::Map, "source rows looked up by key before the table was read"));
  std::vector<sink::SqlParam> params;
  params.reserve(source_keys.size());
  for (const auto& key : source_keys) params.push_back(sink::SqlParam::national(key));
  auto page = read(source_lookup_sql(source_.connector, table_, key_column_, source_keys.size(), *cast_), params);
  if (!page) return std::unexpected(page.error());
  size_t key_index = page->columns.size();
  for (size_t i = 0; i < page->columns.size(); ++i)
    if (page->columns[i].name == key_column_) key_index = i;
  if (key_index == page->columns.size()) return std::vector<SourceRow>{};
  return map_rows(*page, key_index);
}

Result<std::vector<sink::SqlRow>> OdbcSourceTable::query(const std::string& sql,
                                                         const std::vector<sink::SqlParam>& params) {
  try {
    return connection_->query(sql, params, "repair: reading the source");
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink_failure(error));
  }
}

Result<void> OdbcSourceTable::execute(const std::string& sql, const std::vector<sink::SqlParam>& params) {
  try {
    connection_->execute(sql, params, "repair: writing the signal row");
    return {};
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink_failure(error));
  }
}

OdbcMeterMaster::OdbcMeterMaster(const sink::OdbcEnvironment& environment,
                                 const config::SinkConfig& sink, std::string source_system,
                                 std::vector<const config::TargetColumn*> columns)
    : dialect_(sink::Dialect::create(sink.dialect, {sink.schema, sink.table, sink.offsets_table,
                                                    sink.truncates_table})),
      source_system_(std::move(source_system)),
      columns_(std::move(columns)) {
  connection_ = std::make_unique<sink::OdbcConnection>(
      environment, sink::with_driver_defaults(sink.connection, *dialect_), dialect_->id());
  for (const std::string& statement : dialect_->session_setup())
    connection_->execute(statement, {}, "setting up the session");
}

Result<int64_t> OdbcMeterMaster::live_rows() {
  try {
    const auto rows = connection_->query(live_rows_sql(*dialect_),
                                         {sink::SqlParam::ascii(source_system_)}, "counting live rows");
    if (rows.size() != 1 || rows[0].empty())
      return std::unexpected(Error::data(Stage::Sink, "COUNT(*) returned no row"));
    const auto& count = rows[0][0];
    if (!count) return std::unexpected(Error::data(Stage::Sink, "COUNT(*) returned NULL"));
    return std::stoll(*count);
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink_failure(error));
  }
}

Result<std::map<uint32_t, BucketDigest>> OdbcMeterMaster::digests(uint32_t buckets) {
  try {
    const auto rows = connection_->query(bucket_digests_sql(*dialect_, columns_, buckets),
                                         {sink::SqlParam::ascii(source_system_)},
                                         "computing bucket digests");
    std::map<uint32_t, BucketDigest> out;
    for (const auto& row : rows) {
      if (row.size() != 3)
        return std::unexpected(Error::data(Stage::Sink, "a bucket digest row has " + std::to_string(row.size()) + " columns"));
      const auto& bucket = row[0];
      const auto& count = row[1];
      const auto& hash_sum = row[2];
      if (!bucket || !count || !hash_sum)
        return std::unexpected(Error::data(Stage::Sink, "a bucket digest row is incomplete"));
      const auto sum = parse_sum(*hash_sum);
      if (!sum) return std::unexpected(Error::data(Stage::Sink, "bucket digest sum '" + *hash_sum + "'"));
      out[static_cast<uint32_t>(std::stoul(*bucket))] = BucketDigest{std::stoll(*count), *sum};
    }
    return out;
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink_failure(error));
  }
}

Result<std::vector<ComparedRow>> OdbcMeterMaster::rows(uint32_t buckets,
                                                      const std::vector<uint32_t>& which) {
  try {
    const auto rows = connection_->query(bucket_rows_sql(*dialect_, columns_, buckets, which),
                                         {sink::SqlParam::ascii(source_system_)},
                                         "reading the rows of differing buckets");
    std::vector<ComparedRow> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(ComparedRow{row});
    return out;
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink_failure(error));
  }
}

}  // namespace metersync::verify
