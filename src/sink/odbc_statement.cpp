#include "sink/odbc_statement.hpp"

#include <sqlext.h>

#include <algorithm>
#include <cstring>

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

struct OdbcStatement::BoundColumn {
  std::unique_ptr<char[]> data;   // one cell of `width` bytes per row of the block
  std::vector<SQLLEN> indicator;  // per row: the value's length in bytes, or SQL_NULL_DATA
  SQLLEN width = 0;               // bytes per cell, the terminator included
  SQLSMALLINT c_type = SQL_C_CHAR;
  SQLLEN terminator = 1;
};

namespace {

// fetch_block's sizes. A cell's buffer is the column's declared display size as text, at most
// kCellCap bytes. The declared size of an unbounded type (PostgreSQL text and jsonb, LONGTEXT,
// NVARCHAR(MAX)) is a guess or huge, so it gets the cap; a value longer than its buffer makes
// fetch_block give the statement up, and the caller reads it again with per-cell SQLGetData,
// which has no length limit. The block holds as many rows as fit in kBlockBytes of buffers.
constexpr SQLLEN kCellCap = 2048;
constexpr SQLLEN kBlockBytes = SQLLEN{2} << 20;
constexpr SQLULEN kMaxBlockRows = 1000;

// Types whose text form is ASCII (digits, signs, dates, a GUID's hex): bound as SQL_C_CHAR, the
// cheapest conversion in both drivers. Text and every other type is bound as SQL_C_CHAR only
// where the caller has seen the driver's narrow text be UTF-8, as SQL_C_WCHAR otherwise
// (psqlODBC converts narrow text to the process's locale). Binary stays wide, as fetch_all
// reads it: the drivers' hex forms of it are not known to agree between the two.
bool ascii_text(SQLSMALLINT sql_type) {
  switch (sql_type) {
    case SQL_BIT:
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT:
    case SQL_DECIMAL:
    case SQL_NUMERIC:
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE:
    case SQL_TYPE_DATE:
    case SQL_TYPE_TIME:
    case SQL_TYPE_TIMESTAMP:
    case SQL_DATE:
    case SQL_TIME:
    case SQL_TIMESTAMP:
    case SQL_GUID:
      return true;
    default:
      return false;
  }
}

}  // namespace

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

void OdbcStatement::unbind_columns() {
  SQLFreeStmt(handle_, SQL_UNBIND);
  SQLSetStmtAttr(handle_, SQL_ATTR_ROW_ARRAY_SIZE, reinterpret_cast<SQLPOINTER>(1), 0);
  SQLSetStmtAttr(handle_, SQL_ATTR_ROWS_FETCHED_PTR, nullptr, 0);
  SQLSetStmtAttr(handle_, SQL_ATTR_ROW_STATUS_PTR, nullptr, 0);
  bound_.clear();
}

std::optional<std::vector<std::vector<std::optional<std::string>>>> OdbcStatement::fetch_block(
    std::string_view context, bool narrow_is_utf8, bool& consumed) {
  consumed = false;
  SQLSMALLINT columns = 0;
  if (!SQL_SUCCEEDED(SQLNumResultCols(handle_, &columns))) fail(context);
  if (columns <= 0) return std::vector<std::vector<std::optional<std::string>>>{};
  bound_.clear();
  bound_.resize(static_cast<size_t>(columns));
  SQLLEN row_bytes = 0;
  for (SQLUSMALLINT column = 1; column <= static_cast<SQLUSMALLINT>(columns); ++column) {
    SQLLEN display = 0;
    if (!SQL_SUCCEEDED(SQLColAttribute(handle_, column, SQL_DESC_DISPLAY_SIZE, nullptr, 0, nullptr,
                                       &display)))
      display = 0;
    SQLLEN type = SQL_UNKNOWN_TYPE;
    if (!SQL_SUCCEEDED(SQLColAttribute(handle_, column, SQL_DESC_CONCISE_TYPE, nullptr, 0, nullptr,
                                       &type)))
      type = SQL_UNKNOWN_TYPE;
    BoundColumn& bound = bound_[column - 1];
    const bool binary = type == SQL_BINARY || type == SQL_VARBINARY || type == SQL_LONGVARBINARY;
    const bool narrow = ascii_text(static_cast<SQLSMALLINT>(type)) || (narrow_is_utf8 && !binary);
    bound.c_type = narrow ? SQL_C_CHAR : SQL_C_WCHAR;
    bound.terminator = narrow ? 1 : 2;
    // Up to 4 bytes a character in UTF-8, and 2 UTF-16 units (4 bytes) for one beyond U+FFFF.
    const SQLLEN text = display > 0 && display < kCellCap / 4 ? display * 4 : kCellCap;
    bound.width = text + bound.terminator;
    row_bytes += bound.width + static_cast<SQLLEN>(sizeof(SQLLEN));
  }
  const SQLULEN rows =
      std::clamp<SQLULEN>(static_cast<SQLULEN>(kBlockBytes / row_bytes), 1, kMaxBlockRows);
  SQLULEN fetched = 0;
  std::vector<SQLUSMALLINT> status(rows, SQL_ROW_SUCCESS);
  // A driver without block cursors refuses (or lowers) the array size: nothing read yet.
  SQLRETURN rc = SQLSetStmtAttr(handle_, SQL_ATTR_ROW_BIND_TYPE,
                                reinterpret_cast<SQLPOINTER>(SQL_BIND_BY_COLUMN), 0);
  if (rc == SQL_SUCCESS)
    rc = SQLSetStmtAttr(handle_, SQL_ATTR_ROW_ARRAY_SIZE, reinterpret_cast<SQLPOINTER>(rows), 0);
  if (rc == SQL_SUCCESS) rc = SQLSetStmtAttr(handle_, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0);
  if (rc == SQL_SUCCESS) rc = SQLSetStmtAttr(handle_, SQL_ATTR_ROW_STATUS_PTR, status.data(), 0);
  for (SQLUSMALLINT column = 1; rc == SQL_SUCCESS && column <= static_cast<SQLUSMALLINT>(columns);
       ++column) {
    BoundColumn& bound = bound_[column - 1];
    // Not value-initialised: the driver writes a cell before it is read.
    bound.data.reset(new char[static_cast<size_t>(bound.width) * rows]);
    bound.indicator.resize(rows);
    rc = SQLBindCol(handle_, column, bound.c_type, bound.data.get(), bound.width,
                    bound.indicator.data());
  }
  if (rc != SQL_SUCCESS) {
    unbind_columns();
    return std::nullopt;
  }

  std::vector<std::vector<std::optional<std::string>>> out;
  std::u16string wide;
  bool cut = false;
  try {
    while (!cut) {
      fetched = 0;
      rc = SQLFetch(handle_);
      if (rc == SQL_NO_DATA) break;
      if (!SQL_SUCCEEDED(rc)) fail(context);
      consumed = true;
      for (SQLULEN r = 0; r < std::min(fetched, rows) && !cut; ++r) {
        if (status[r] == SQL_ROW_ERROR) fail(context);
        std::vector<std::optional<std::string>>& row = out.emplace_back();
        row.reserve(bound_.size());
        for (const BoundColumn& bound : bound_) {
          const SQLLEN length = bound.indicator[r];
          if (length == SQL_NULL_DATA) {
            row.emplace_back(std::nullopt);
            continue;
          }
          // Longer than the buffer (SQL_NO_TOTAL: the driver does not know): cut short.
          if (length == SQL_NO_TOTAL || length < 0 || length > bound.width - bound.terminator) {
            cut = true;
            break;
          }
          const char* cell = bound.data.get() + static_cast<size_t>(bound.width) * r;
          if (bound.c_type == SQL_C_WCHAR) {
            wide.resize(static_cast<size_t>(length) / sizeof(char16_t));
            std::memcpy(wide.data(), cell, wide.size() * sizeof(char16_t));
            std::optional<std::string> utf8 = utf16_to_utf8(wide);
            if (!utf8) {
              throw SinkError(SinkError::Kind::Fatal, "",
                              "sink: " + std::string(context) +
                                  ": the driver returned invalid UTF-16");
            }
            row.emplace_back(std::move(*utf8));
          } else {
            row.emplace_back(std::string(cell, static_cast<size_t>(length)));
          }
        }
      }
    }
  } catch (...) {
    unbind_columns();
    throw;
  }
  if (cut) SQLFreeStmt(handle_, SQL_CLOSE);
  unbind_columns();
  if (cut) return std::nullopt;
  return out;
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
