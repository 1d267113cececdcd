// A statement handle with its bound parameter buffers. The buffers live as long as the
// statement, because the driver reads them only during SQLExecDirect.
#pragma once

#include <sql.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/odbc_connection.hpp"
#include "sink/sql_param.hpp"

namespace metersync::sink {

class OdbcConnection;

class OdbcStatement {
 public:
  explicit OdbcStatement(OdbcConnection& connection);
  ~OdbcStatement();
  OdbcStatement(const OdbcStatement&) = delete;
  OdbcStatement& operator=(const OdbcStatement&) = delete;

  // Binds `params` to the statement's markers in order; throws SinkError (Data for
  // text that is not valid UTF-8).
  void bind(const std::vector<SqlParam>& params, std::string_view context);
  void execute(std::string_view sql, std::string_view context);
  // Moves to the first result that has columns; false when there is none.
  bool seek_rowset(std::string_view context);
  std::vector<std::vector<std::optional<std::string>>> fetch_all(std::string_view context);
  // The current rowset's columns (after seek_rowset).
  std::vector<ResultColumn> describe(std::string_view context);
  // Consumes every remaining result, raising the first error among them.
  void drain(std::string_view context);

 private:
  struct Buffer;
  [[noreturn]] void fail(std::string_view context);
  bool more_results(std::string_view context);

  OdbcConnection& connection_;
  SQLHSTMT handle_ = SQL_NULL_HSTMT;
  std::vector<std::unique_ptr<Buffer>> buffers_;
};

}  // namespace metersync::sink
