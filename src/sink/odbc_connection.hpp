// One ODBC connection (SQLDriverConnect) and the two ways the sink talks over it:
// `execute` for statements without a result and `query` for one rowset. Both bind
// parameters, drain every extra result the server sends (row counts, informational
// messages, the empty results Babelfish emits before a rowset) and turn any error on
// the way into a classified SinkError.
#pragma once

#include <sql.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "sink/sql_param.hpp"

namespace metersync::sink {

class OdbcEnvironment;

using SqlRow = std::vector<std::optional<std::string>>;  // UTF-8 text, nullopt for NULL

// What the driver says about one result column: enough to read its text back as the
// value it is (`metersync verify` turns source rows into the values Debezium decodes).
struct ResultColumn {
  std::string name;
  int sql_type = 0;       // SQL_DESC_CONCISE_TYPE: SQL_INTEGER, SQL_TYPE_TIMESTAMP, ...
  std::string type_name;  // SQL_DESC_TYPE_NAME, the server's own name: "uuid", "jsonb", "bool"
  bool is_unsigned = false;
};

struct DescribedRows {
  std::vector<ResultColumn> columns;
  std::vector<SqlRow> rows;
};

class OdbcConnection {
 public:
  // Connects; throws SinkError (classified: an unreachable server is Transient).
  OdbcConnection(const OdbcEnvironment& environment, const std::string& connection_string,
                 config::Dialect dialect);
  ~OdbcConnection();
  OdbcConnection(const OdbcConnection&) = delete;
  OdbcConnection& operator=(const OdbcConnection&) = delete;

  void set_autocommit(bool on);
  // SQLEndTran: the ODBC way to finish a transaction begun with autocommit off.
  void end_transaction(bool commit);

  void execute(std::string_view sql, const std::vector<SqlParam>& params = {},
               std::string_view context = {});
  std::vector<SqlRow> query(std::string_view sql, const std::vector<SqlParam>& params = {},
                            std::string_view context = {});

  // `query` with the result's column descriptions (empty when there is no rowset), read with a
  // block cursor (OdbcStatement::fetch_block) where the driver and the values allow: the way
  // verify reads whole tables. A result with a value longer than fetch_block's buffers is
  // read by executing the statement a second time.
  DescribedRows query_described(std::string_view sql, const std::vector<SqlParam>& params = {},
                                std::string_view context = {});

  // Whether the driver's SQL_C_CHAR text is the server's UTF-8 unchanged: probed once with a
  // non-ASCII value (query_described then reads text narrow, which costs the drivers less).
  bool narrow_text_is_utf8();

  // The driver's SQL_ATTR_CONNECTION_DEAD: true once it has seen the link go.
  bool dead() const;

  config::Dialect dialect() const { return dialect_; }
  SQLHDBC handle() const { return handle_; }

 private:
  SQLHDBC handle_ = SQL_NULL_HDBC;
  bool connected_ = false;
  std::optional<bool> narrow_utf8_;
  config::Dialect dialect_;
};

}  // namespace metersync::sink
