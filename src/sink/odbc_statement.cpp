#include "sink/odbc_statement.hpp"

#include <sqlext.h>

#include <algorithm>

#include "sink/odbc_connection.hpp"
#include "sink/odbc_diagnostics.hpp"
#include "sink/utf16.hpp"

namespace metersync::sink {

struct OdbcStatement::Buffer {
  std::string narrow;
  std::u16string wide;
  SQLBIGINT number = 0;
  SQLLEN indicator = 0;
};

OdbcStatement::OdbcStatement(OdbcConnection& connection) : connection_(connection) {
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, connection_.handle(), &handle_))) {
    throw make_odbc_error(connection_.dialect(), SQL_HANDLE_DBC, connection_.handle(),
                          "allocating an ODBC statement");
  }
}

OdbcStatement::~OdbcStatement() { SQLFreeHandle(SQL_HANDLE_STMT, handle_); }

void OdbcStatement::fail(std::string_view context) {
  throw make_odbc_error(connection_.dialect(), SQL_HANDLE_STMT, handle_, context);
}

void OdbcStatement::bind(const std::vector<SqlParam>& params, std::string_view context) {
  buffers_.clear();
  buffers_.reserve(params.size());
  SQLUSMALLINT number = 0;
  for (const SqlParam& param : params) {
    ++number;
    auto buffer = std::make_unique<Buffer>();
    SQLRETURN rc = SQL_SUCCESS;
    switch (param.kind) {
      case SqlParam::Kind::Null:
        buffer->indicator = SQL_NULL_DATA;
        rc = SQLBindParameter(handle_, number, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                              static_cast<SQLULEN>(std::max(param.size, 1)), 0,
                              buffer->narrow.data(), 0, &buffer->indicator);
        break;
      case SqlParam::Kind::Text: {
        buffer->narrow = param.text;
        buffer->indicator = static_cast<SQLLEN>(buffer->narrow.size());
        const auto size =
            std::max<size_t>({buffer->narrow.size(), static_cast<size_t>(param.size), 1});
        rc = SQLBindParameter(handle_, number, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, size, 0,
                              buffer->narrow.data(), static_cast<SQLLEN>(buffer->narrow.size() + 1),
                              &buffer->indicator);
        break;
      }
      case SqlParam::Kind::NText: {
        std::optional<std::u16string> wide = utf8_to_utf16(param.text);
        if (!wide) {
          throw SinkError(SinkError::Kind::Data, "22021",
                          "sink: " + std::string(context) + ": parameter " +
                              std::to_string(number) + " is not valid UTF-8");
        }
        buffer->wide = std::move(*wide);
        buffer->indicator = static_cast<SQLLEN>(buffer->wide.size() * sizeof(char16_t));
        const auto size =
            std::max<size_t>({buffer->wide.size(), static_cast<size_t>(param.size), 1});
        // Past 4,000 characters SQL Server's NVARCHAR(n) ends. Bound as SQL_WVARCHAR, a
        // longer staged JSON document reached Babelfish through FreeTDS 1.3.17 as invalid
        // JSON; as SQL_WLONGVARCHAR (NVARCHAR(MAX)) it arrives whole.
        const SQLSMALLINT type = connection_.dialect() == config::Dialect::SqlServer && size > 4000
                                     ? SQL_WLONGVARCHAR
                                     : SQL_WVARCHAR;
        rc = SQLBindParameter(handle_, number, SQL_PARAM_INPUT, SQL_C_WCHAR, type, size, 0,
                              buffer->wide.data(),
                              static_cast<SQLLEN>((buffer->wide.size() + 1) * sizeof(char16_t)),
                              &buffer->indicator);
        break;
      }
      case SqlParam::Kind::Int:
        buffer->number = param.number;
        buffer->indicator = 0;
        rc = SQLBindParameter(handle_, number, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                              &buffer->number, 0, &buffer->indicator);
        break;
    }
    if (!SQL_SUCCEEDED(rc)) fail(context);
    buffers_.push_back(std::move(buffer));
  }
}

void OdbcStatement::execute(std::string_view sql, std::string_view context) {
  std::string text(sql);
  const SQLRETURN rc = SQLExecDirect(handle_, reinterpret_cast<SQLCHAR*>(text.data()),
                                     static_cast<SQLINTEGER>(text.size()));
  // SQL_NO_DATA: a searched UPDATE/DELETE that touched no row.
  if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) fail(context);
}

bool OdbcStatement::more_results(std::string_view context) {
  const SQLRETURN rc = SQLMoreResults(handle_);
  if (rc == SQL_NO_DATA) return false;
  if (!SQL_SUCCEEDED(rc)) fail(context);
  return true;
}

bool OdbcStatement::seek_rowset(std::string_view context) {
  while (true) {
    SQLSMALLINT columns = 0;
    if (!SQL_SUCCEEDED(SQLNumResultCols(handle_, &columns))) fail(context);
    if (columns > 0) return true;
    if (!more_results(context)) return false;
  }
}

std::vector<std::vector<std::optional<std::string>>> OdbcStatement::fetch_all(
    std::string_view context) {
  SQLSMALLINT columns = 0;
  if (!SQL_SUCCEEDED(SQLNumResultCols(handle_, &columns))) fail(context);
  std::vector<std::vector<std::optional<std::string>>> rows;
  while (true) {
    const SQLRETURN rc = SQLFetch(handle_);
    if (rc == SQL_NO_DATA) break;
    if (!SQL_SUCCEEDED(rc)) fail(context);
    std::vector<std::optional<std::string>>& row = rows.emplace_back();
    for (SQLUSMALLINT column = 1; column <= static_cast<SQLUSMALLINT>(columns); ++column) {
      // Read as UTF-16 in pieces: the driver converts every type to text, and wide
      // text keeps NVARCHAR exact whatever the client locale.
      std::u16string value;
      bool is_null = false;
      char16_t piece[512];
      while (true) {
        SQLLEN indicator = 0;
        const SQLRETURN get =
            SQLGetData(handle_, column, SQL_C_WCHAR, piece, sizeof piece, &indicator);
        if (get == SQL_NO_DATA) break;
        if (!SQL_SUCCEEDED(get)) fail(context);
        if (indicator == SQL_NULL_DATA) {
          is_null = true;
          break;
        }
        const size_t capacity = sizeof piece / sizeof(char16_t) - 1;
        size_t units = capacity;
        if (indicator != SQL_NO_TOTAL &&
            static_cast<size_t>(indicator) / sizeof(char16_t) < capacity) {
          units = static_cast<size_t>(indicator) / sizeof(char16_t);
        }
        value.append(piece, units);
        if (get == SQL_SUCCESS) break;  // SQL_SUCCESS_WITH_INFO (01004): more to come
      }
      if (is_null) {
        row.emplace_back(std::nullopt);
      } else {
        std::optional<std::string> utf8 = utf16_to_utf8(value);
        if (!utf8) {
          throw SinkError(SinkError::Kind::Fatal, "",
                          "sink: " + std::string(context) + ": the driver returned invalid UTF-16");
        }
        row.emplace_back(std::move(*utf8));
      }
    }
  }
  return rows;
}

std::vector<ResultColumn> OdbcStatement::describe(std::string_view context) {
  SQLSMALLINT count = 0;
  if (!SQL_SUCCEEDED(SQLNumResultCols(handle_, &count))) fail(context);
  std::vector<ResultColumn> columns;
  for (SQLUSMALLINT column = 1; column <= static_cast<SQLUSMALLINT>(count); ++column) {
    ResultColumn& out = columns.emplace_back();
    SQLCHAR text[256];
    SQLSMALLINT length = 0;
    SQLLEN number = 0;
    if (!SQL_SUCCEEDED(SQLColAttribute(handle_, column, SQL_DESC_NAME, text, sizeof text, &length,
                                       nullptr)))
      fail(context);
    out.name.assign(reinterpret_cast<const char*>(text),
                    std::min<size_t>(static_cast<size_t>(std::max<SQLSMALLINT>(length, 0)), sizeof text - 1));
    if (!SQL_SUCCEEDED(SQLColAttribute(handle_, column, SQL_DESC_TYPE_NAME, text, sizeof text,
                                       &length, nullptr)))
      fail(context);
    out.type_name.assign(reinterpret_cast<const char*>(text),
                         std::min<size_t>(static_cast<size_t>(std::max<SQLSMALLINT>(length, 0)), sizeof text - 1));
    if (!SQL_SUCCEEDED(SQLColAttribute(handle_, column, SQL_DESC_CONCISE_TYPE, nullptr, 0, nullptr,
                                       &number)))
      fail(context);
    out.sql_type = static_cast<int>(number);
    number = SQL_FALSE;
    if (!SQL_SUCCEEDED(SQLColAttribute(handle_, column, SQL_DESC_UNSIGNED, nullptr, 0, nullptr,
                                       &number)))
      fail(context);
    out.is_unsigned = number == SQL_TRUE;
  }
  return columns;
}

void OdbcStatement::drain(std::string_view context) {
  while (more_results(context)) {
  }
}

}  // namespace metersync::sink
