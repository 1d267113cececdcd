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
                            const std::optional<std::string>& after_cast,
                            const std::optional<std::string>& through_cast) {
  std::string name;
  for (const auto& part : table) name += (name.empty() ? "" : ".") + quote(connector, part);
  const std::string key = quote(connector, key_column);
  const std::string rows = std::to_string(page_rows);
  std::string where;
  if (after_cast) where += " WHERE " + key + " > " + *after_cast;
  if (through_cast) where += (where.empty() ? " WHERE " : " AND ") + key + " <= " + *through_cast;
  if (connector == "sqlserver")
    return "SELECT TOP (" + rows + ") * FROM " + name + where + " ORDER BY " + key;
  if (connector == "oracle")
    return "SELECT * FROM " + name + where + " ORDER BY " + key + " FETCH FIRST " + rows +
           " ROWS ONLY";
  return "SELECT * FROM " + name + where + " ORDER BY " + key + " LIMIT " + rows;
}

std::string source_boundaries_sql(const std::string& connector, const std::vector<std::string>& table,
                                  const std::string& key_column, size_t page_rows) {
  std::string name;
  for (const auto& part : table) name += (name.empty() ? "" : ".") + quote(connector, part);
  const std::string key = quote(connector, key_column);
  const std::string every = std::to_string(page_rows);
  // ROW_NUMBER() runs over the key's index alone: no row is read whole.
  const std::string numbered = "(SELECT " + key + ", ROW_NUMBER() OVER (ORDER BY " + key + ") AS n FROM " + name + ")";
  if (connector == "oracle")  // no AS before a table alias, no % operator
    return "SELECT " + key + " FROM " + numbered + " b WHERE MOD(n, " + every + ") = 0 ORDER BY " + key;
  return "SELECT " + key + " FROM " + numbered + " AS b WHERE n % " + every + " = 0 ORDER BY " + key;
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
                                 std::vector<const config::TargetColumn*> columns, size_t page_rows,
                                 size_t readers)
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
  for (size_t i = 0; i < std::max<size_t>(readers, 1); ++i) readers_.push_back(connect(environment));
}

std::unique_ptr<sink::OdbcConnection> OdbcSourceTable::connect(const sink::OdbcEnvironment& environment) const {
  auto connection = std::make_unique<sink::OdbcConnection>(environment, source_.connection,
                                                           sql_family(source_.connector));
  // Zone-less timestamps read as UTC, as Debezium reads them.
  if (source_.connector == "postgres")
    connection->execute("SET TIME ZONE 'UTC'", {}, "setting the session's time zone");
  else if (source_.connector == "mysql" || source_.connector == "mariadb")
    connection->execute("SET time_zone = '+00:00'", {}, "setting the session's time zone");
  return connection;
}

void OdbcSourceTable::restart() {
  drop_pending();
  ranges_.clear();
  planned_ = false;
  next_range_ = 0;
}

void OdbcSourceTable::drop_pending() {
  for (auto& range : pending_) range.wait();
  next_range_ -= pending_.size();  // read again if the pass goes on
  pending_.clear();
}

Result<sink::DescribedRows> OdbcSourceTable::read(sink::OdbcConnection& connection, const std::string& sql,
                                                  const std::vector<sink::SqlParam>& params) {
  try {
    return connection.query_described(sql, params, "reading the source table");
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

std::optional<size_t> OdbcSourceTable::key_index_of(const sink::DescribedRows& page) const {
  for (size_t i = 0; i < page.columns.size(); ++i)
    if (page.columns[i].name == key_column_) return i;
  return std::nullopt;
}

Result<void> OdbcSourceTable::plan() {
  auto ends = read(*readers_[0], source_boundaries_sql(source_.connector, table_, key_column_, page_rows_), {});
  if (!ends) return std::unexpected(ends.error());
  if (!ends->rows.empty() && !cast_) {
    if (ends->columns.empty()) return std::unexpected(Error::data(Stage::Map, "the key boundaries came without a column"));
    cast_ = key_cast(source_.connector, ends->columns[0]);
  }
  std::vector<KeyRange> ranges;
  std::optional<std::string> after;
  for (const sink::SqlRow& end : ends->rows) {
    if (end.empty() || !end[0]) continue;  // a NULL key has no place in key order
    ranges.push_back({after, end[0]});
    after = end[0];
  }
  ranges.push_back({after, std::nullopt});
  ranges_ = std::move(ranges);
  planned_ = true;
  return {};
}

Result<sink::DescribedRows> OdbcSourceTable::read_range(sink::OdbcConnection& connection, const KeyRange& range) {
  sink::DescribedRows whole;
  std::optional<std::string> after = range.after;
  // Unset only when plan() found fewer than page_rows keys: this is then the pass's one range.
  std::optional<std::string> cast = cast_;
  // One row more than a range holds when nothing changed since plan(): a full answer then
  // means rows were inserted, and the range is read on from its last key.
  const size_t limit = page_rows_ + 1;
  while (true) {
    std::vector<sink::SqlParam> params;
    if (after) params.push_back(sink::SqlParam::national(*after));
    if (range.through) params.push_back(sink::SqlParam::national(*range.through));
    auto page = read(connection,
                     source_page_sql(source_.connector, table_, key_column_, limit,
                                     after ? cast : std::nullopt, range.through ? cast : std::nullopt),
                     params);
    if (!page) return page;
    const auto key_index = key_index_of(*page);
    const bool more = page->rows.size() >= limit && key_index;
    if (more) {
      after = page->rows.back()[*key_index];
      if (!cast) cast = key_cast(source_.connector, page->columns[*key_index]);
    }
    if (whole.columns.empty()) whole.columns = page->columns;
    whole.rows.insert(whole.rows.end(), std::make_move_iterator(page->rows.begin()),
                      std::make_move_iterator(page->rows.end()));
    if (!more) return whole;
  }
}

void OdbcSourceTable::start_next_range() {
  if (next_range_ >= ranges_.size()) return;
  sink::OdbcConnection& reader = *readers_[next_range_ % readers_.size()];
  const KeyRange& range = ranges_[next_range_++];
  pending_.push_back(std::async(std::launch::async, [this, &reader, &range] { return read_and_map(reader, range); }));
}

Result<OdbcSourceTable::MappedRange> OdbcSourceTable::read_and_map(sink::OdbcConnection& connection,
                                                                   const KeyRange& range) {
  auto page = read_range(connection, range);
  if (!page) return std::unexpected(page.error());
  MappedRange out;
  if (page->rows.empty()) return out;  // a range emptied since plan()
  const auto key_index = key_index_of(*page);
  if (!key_index) return std::unexpected(Error::data(Stage::Map, "the source table has no column " + key_column_));
  out.key_cast = key_cast(source_.connector, page->columns[*key_index]);
  out.rows = map_rows(*page, *key_index);
  return out;
}

std::vector<SourceRow> OdbcSourceTable::map_rows(const sink::DescribedRows& page, size_t key_index) const {
  std::vector<SourceRow> out(page.rows.size());
  for (size_t i = 0; i < page.rows.size(); ++i) {
    const sink::SqlRow& raw = page.rows[i];
    SourceRow& row = out[i];
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
  if (!planned_)
    if (auto planned = plan(); !planned) return std::unexpected(planned.error());
  while (true) {
    while (pending_.size() < readers_.size() && next_range_ < ranges_.size()) start_next_range();
    if (pending_.empty()) return std::vector<SourceRow>{};
    auto page = pending_.front().get();
    pending_.pop_front();
    if (!page) {
      drop_pending();
      next_range_ = ranges_.size();  // the pass ends with this error
      return std::unexpected(page.error());
    }
    if (page->rows.empty()) continue;  // a range emptied since plan()
    if (!cast_) cast_ = std::move(page->key_cast);
    return std::move(page->rows);
  }
}

Result<std::vector<SourceRow>> OdbcSourceTable::rows_with_keys(const std::vector<std::string>& source_keys) {
  if (source_keys.empty()) return std::vector<SourceRow>{};
  drop_pending();  // a connection serves one statement at a time
  if (!cast_)  // no page read yet: nothing tells the key's type
    return std::unexpected(Error::data(Stage::Map, "source rows looked up by key before the table was read"));
  std::vector<sink::SqlParam> params;
  params.reserve(source_keys.size());
  for (const auto& key : source_keys) params.push_back(sink::SqlParam::national(key));
  auto page = read(*readers_[0], source_lookup_sql(source_.connector, table_, key_column_, source_keys.size(), *cast_), params);
  if (!page) return std::unexpected(page.error());
  size_t key_index = page->columns.size();
  for (size_t i = 0; i < page->columns.size(); ++i)
    if (page->columns[i].name == key_column_) key_index = i;
  if (key_index == page->columns.size()) return std::vector<SourceRow>{};
  return map_rows(*page, key_index);
}

Result<std::vector<sink::SqlRow>> OdbcSourceTable::query(const std::string& sql,
                                                         const std::vector<sink::SqlParam>& params) {
  drop_pending();
  try {
    return readers_[0]->query(sql, params, "repair: reading the source");
  } catch (const sink::SinkError& error) {
    return std::unexpected(sink_failure(error));
  }
}

Result<void> OdbcSourceTable::execute(const std::string& sql, const std::vector<sink::SqlParam>& params) {
  drop_pending();
  try {
    readers_[0]->execute(sql, params, "repair: writing the signal row");
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
