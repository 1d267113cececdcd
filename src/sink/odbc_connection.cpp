#include "sink/odbc_connection.hpp"

#include <sqlext.h>

#include "sink/odbc_diagnostics.hpp"
#include "sink/odbc_environment.hpp"
#include "sink/odbc_statement.hpp"

namespace metersync::sink {

OdbcConnection::OdbcConnection(const OdbcEnvironment& environment,
                               const std::string& connection_string, config::Dialect dialect)
    : dialect_(dialect) {
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, environment.handle(), &handle_))) {
    throw make_odbc_error(dialect_, SQL_HANDLE_ENV, environment.handle(),
                          "allocating an ODBC connection");
  }
  // A login that hangs must not hold a pipeline forever; the pipeline retries.
  SQLSetConnectAttr(handle_, SQL_ATTR_LOGIN_TIMEOUT, reinterpret_cast<SQLPOINTER>(15), 0);
  std::string text = connection_string;
  SQLCHAR out[1024];
  SQLSMALLINT out_length = 0;
  const SQLRETURN rc = SQLDriverConnect(handle_, nullptr, reinterpret_cast<SQLCHAR*>(text.data()),
                                        static_cast<SQLSMALLINT>(text.size()), out, sizeof out,
                                        &out_length, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(rc)) {
    SinkError error = make_odbc_error(
        dialect_, SQL_HANDLE_DBC, handle_,
        "connecting with sink.connection (check the driver name, host, port and credentials)");
    SQLFreeHandle(SQL_HANDLE_DBC, handle_);
    throw error;
  }
  connected_ = true;
}

OdbcConnection::~OdbcConnection() {
  if (connected_) {
    // An open transaction is rolled back by the server when the session ends.
    SQLDisconnect(handle_);
  }
  SQLFreeHandle(SQL_HANDLE_DBC, handle_);
}

void OdbcConnection::set_autocommit(bool on) {
  const SQLRETURN rc = SQLSetConnectAttr(handle_, SQL_ATTR_AUTOCOMMIT,
                                         reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(
                                             on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF)),
                                         SQL_IS_UINTEGER);
  if (!SQL_SUCCEEDED(rc)) {
    throw make_odbc_error(dialect_, SQL_HANDLE_DBC, handle_, "switching autocommit");
  }
}

void OdbcConnection::end_transaction(bool commit) {
  const SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, handle_, commit ? SQL_COMMIT : SQL_ROLLBACK);
  if (!SQL_SUCCEEDED(rc)) {
    throw make_odbc_error(dialect_, SQL_HANDLE_DBC, handle_,
                          commit ? "committing the transaction" : "rolling back the transaction");
  }
}

bool OdbcConnection::dead() const {
  SQLUINTEGER value = SQL_CD_FALSE;
  const SQLRETURN rc = SQLGetConnectAttr(handle_, SQL_ATTR_CONNECTION_DEAD, &value, 0, nullptr);
  return SQL_SUCCEEDED(rc) && value == SQL_CD_TRUE;
}

void OdbcConnection::execute(std::string_view sql, const std::vector<SqlParam>& params,
                             std::string_view context) {
  OdbcStatement statement(*this);
  statement.bind(params, context);
  statement.execute(sql, context);
  statement.drain(context);
}

std::vector<SqlRow> OdbcConnection::query(std::string_view sql, const std::vector<SqlParam>& params,
                                          std::string_view context) {
  OdbcStatement statement(*this);
  statement.bind(params, context);
  statement.execute(sql, context);
  std::vector<SqlRow> rows;
  if (statement.seek_rowset(context)) rows = statement.fetch_all(context);
  statement.drain(context);
  return rows;
}

bool OdbcConnection::narrow_text_is_utf8() {
  if (narrow_utf8_) return *narrow_utf8_;
  narrow_utf8_ = false;
  // Non-ASCII text made by the server from code points (U+00E9 U+20AC), read narrow: equal to
  // its UTF-8 bytes only where the driver passes the server's UTF-8 through (MariaDB's Unicode
  // driver; psqlODBC in a UTF-8 locale) and does not convert it to something else.
  const char* probe = nullptr;
  if (dialect_ == config::Dialect::Postgres) probe = "SELECT U&'\\00E9\\20AC'";
  if (dialect_ == config::Dialect::MariaDb) probe = "SELECT CONVERT(X'C3A9E282AC' USING utf8mb4)";
  if (probe == nullptr) return false;
  try {
    OdbcStatement statement(*this);
    statement.execute(probe, "reading how the driver returns text");
    bool consumed = false;
    if (statement.seek_rowset("reading how the driver returns text")) {
      const auto rows = statement.fetch_block("reading how the driver returns text", true, consumed);
      narrow_utf8_ = rows && rows->size() == 1 && rows->front().size() == 1 &&
                     rows->front().front() == std::string("\xC3\xA9\xE2\x82\xAC");
    }
  } catch (const SinkError&) {
    // A driver that cannot convert the probe narrow (psqlODBC in the C locale) is read wide.
    narrow_utf8_ = false;
  }
  return *narrow_utf8_;
}

DescribedRows OdbcConnection::query_described(std::string_view sql,
                                              const std::vector<SqlParam>& params,
                                              std::string_view context) {
  OdbcStatement statement(*this);
  statement.bind(params, context);
  statement.execute(sql, context);
  DescribedRows result;
  if (statement.seek_rowset(context)) {
    result.columns = statement.describe(context);
    // A block cursor first (verify reads whole source tables this way); per-cell SQLGetData
    // when the driver refuses it or a value did not fit its buffer, then from a fresh execution.
    bool consumed = false;
    if (auto rows = statement.fetch_block(context, narrow_text_is_utf8(), consumed)) {
      result.rows = std::move(*rows);
    } else if (!consumed) {
      result.rows = statement.fetch_all(context);
    } else {
      statement.execute(sql, context);
      if (statement.seek_rowset(context)) result.rows = statement.fetch_all(context);
    }
  }
  statement.drain(context);
  return result;
}

}  // namespace metersync::sink
