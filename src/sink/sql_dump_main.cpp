// metersync_sink_sql_dump: prints every statement a sink dialect sends, as a JSON array
// of {"name", "sql", "params"}, so tests/sql/ can run them through a T-SQL parser.
//   metersync_sink_sql_dump [sqlserver|postgres|mariadb] [schema]
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "sink/dialect.hpp"
#include "sink/sqlserver_dialect.hpp"
#include "sink/statement_batch.hpp"

namespace {

using metersync::sink::Dialect;

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "sqlserver";
  metersync::config::Dialect id = metersync::config::Dialect::SqlServer;
  if (which == "postgres") {
    id = metersync::config::Dialect::Postgres;
  } else if (which == "mariadb") {
    id = metersync::config::Dialect::MariaDb;
  } else if (which != "sqlserver") {
    std::cerr << "usage: metersync_sink_sql_dump [sqlserver|postgres|mariadb] [schema]\n";
    return 2;
  }
  const std::string schema =
      argc > 2 ? argv[2] : (id == metersync::config::Dialect::SqlServer ? "dbo" : "public");
  const auto dialect =
      Dialect::create(id, {schema, "MeterMaster", "MeterSyncOffsets", "MeterSyncTruncates"});

  // (name, sql, bound parameter count)
  std::vector<std::tuple<std::string, std::string, std::size_t>> statements;
  const auto add = [&](std::string name, const std::string& sql, std::size_t params) {
    if (!sql.empty()) statements.emplace_back(std::move(name), sql, params);
  };
  const std::size_t row = metersync::sink::stage_columns().size();
  int index = 0;
  for (const auto& sql : dialect->session_setup())
    add("session_setup_" + std::to_string(index++), sql, 0);
  add("begin", dialect->begin_sql(), 0);
  add("commit", dialect->commit_sql(), 0);
  add("rollback", dialect->rollback_sql(), 0);
  index = 0;
  for (const auto& sql : dialect->create_tables())
    add("create_table_" + std::to_string(index++), sql, 0);
  add("default_schema", dialect->default_schema_sql(), 0);
  add("columns_query", dialect->columns_query(), 2);
  add("lock", dialect->lock_sql(), 1);
  add("unlock", dialect->unlock_sql(), 0);
  if (const auto* staged = dialect->stage()) {
    index = 0;
    for (const auto& sql : staged->prepare_stage())
      add("prepare_stage_" + std::to_string(index++), sql, 0);
    add("stage_insert_1", staged->stage_insert(1), row);
    add("stage_insert_max", staged->stage_insert(staged->max_stage_rows()),
        row * staged->max_stage_rows());
    add("stage_truncated", staged->stage_truncated_sql(), 0);
    index = 0;
    for (const auto& sql : staged->apply_stage({.full = 2, .inserted = 1, .key_only = 1}))
      add("apply_stage_" + std::to_string(index++), sql, 0);
    add("apply_stage_new_keys_first", staged->apply_stage({.full = 2, .inserted = 2})[0], 0);
  }
  if (const auto* documents = dialect->documents()) {
    add("upsert_document", documents->upsert_document_sql(), 1);
    add("flag_document", documents->flag_document_sql(), 1);
  }
  add("truncate_watermark", dialect->truncate_watermark_sql(), 3);
  add("truncate", dialect->truncate_sql(), 4);
  add("offsets_upsert_all_1", dialect->offsets_upsert_all_sql(1), 5);
  add("offsets_upsert_all_3", dialect->offsets_upsert_all_sql(3), 15);
  add("offsets_select", dialect->offsets_select_sql(), 2);
  add("records_applied", dialect->records_applied_sql(), 1);

  if (const auto* staged = dialect->stage()) {
    using metersync::sink::SqlServerDialect;
    add("server_facts", std::string(SqlServerDialect::server_facts_sql()), 0);
    add("json_probe", std::string(SqlServerDialect::json_probe_sql()), 0);
    add("lock_or_raise_0", staged->lock_or_raise_sql(0), 1);
    add("stage_json_full", staged->stage_json_sql(1, 0), 1);
    add("stage_json_key_only", staged->stage_json_sql(0, 1), 1);
    add("stage_json_both", staged->stage_json_sql(20, 2), 22);
    // One transaction as the JSON stage sends it in one request (Sink::Impl::apply_batched):
    // a T-SQL batch is compiled whole, so its statements must parse together.
    std::string request;
    std::size_t params = 0;
    metersync::sink::StatementBatch batch(
        [&](const std::string& sql, const std::vector<metersync::sink::SqlParam>& bound) {
          request = sql;
          params = bound.size();
        },
        2000);
    using metersync::sink::SqlParam;
    batch.add(dialect->begin_sql());
    batch.add(staged->lock_or_raise_sql(0), {SqlParam::national("a")});
    batch.add(staged->lock_or_raise_sql(1), {SqlParam::national("b")});
    for (const auto& sql : staged->prepare_stage()) batch.add(sql);
    batch.add(staged->stage_json_sql(2, 1), std::vector<SqlParam>(3, SqlParam::national("[]")));
    batch.add(staged->stage_truncated_sql());
    for (const auto& sql : staged->apply_stage({.full = 2, .inserted = 1, .key_only = 1}))
      batch.add(sql);
    batch.add(dialect->offsets_upsert_all_sql(3), std::vector<SqlParam>(15, SqlParam::integer(0)));
    batch.add(dialect->commit_sql());
    batch.flush();
    add("transaction_json", request, params);
  }

  std::cout << "[\n";
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const auto& [name, sql, params] = statements[i];
    std::cout << "  {\"name\": " << json_string(name) << ", \"params\": " << params
              << ", \"sql\": " << json_string(sql) << "}"
              << (i + 1 < statements.size() ? ",\n" : "\n");
  }
  std::cout << "]\n";
  return 0;
}
