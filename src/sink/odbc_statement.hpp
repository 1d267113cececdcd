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
  // The same rows as fetch_all, read with a block cursor: SQL_ATTR_ROW_ARRAY_SIZE rows per
  // SQLFetch into column-wise bound buffers, instead of one SQLGetData call per cell.
  // nullopt when the rows could not all be read so: the driver refused the block cursor
  // (nothing fetched yet: fetch_all can still read the rowset), or a value was longer than
  // its buffer (rows were consumed: execute the statement again and read it with fetch_all).
  // `narrow_is_utf8`: the driver's SQL_C_CHAR text is known to be UTF-8, so text columns are
  // read narrow too (else as UTF-16).
  std::optional<std::vector<std::vector<std::optional<std::string>>>> fetch_block(
      std::string_view context, bool narrow_is_utf8, bool& consumed);
  // The current rowset's columns (after seek_rowset).
  std::vector<ResultColumn> describe(std::string_view context);
  // Consumes every remaining result, raising the first error among them.
  void drain(std::string_view context);

 private:
  struct Buffer;
  struct BoundColumn;
  void unbind_columns();
  [[noreturn]] void fail(std::string_view context);
  bool more_results(std::string_view context);

  OdbcConnection& connection_;
  SQLHSTMT handle_ = SQL_NULL_HSTMT;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  std::vector<BoundColumn> bound_;  // fetch_block's buffers, bound while it reads
};

}  // namespace metersync::sink
