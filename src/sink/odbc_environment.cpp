#include "sink/odbc_environment.hpp"

#include <sqlext.h>

#include "sink/sink.hpp"

namespace metersync::sink {

OdbcEnvironment::OdbcEnvironment() {
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &handle_))) {
    throw SinkError(SinkError::Kind::Fatal, "",
                    "sink: cannot allocate an ODBC environment: is unixODBC installed?");
  }
  if (!SQL_SUCCEEDED(SQLSetEnvAttr(handle_, SQL_ATTR_ODBC_VERSION,
                                   reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0))) {
    SQLFreeHandle(SQL_HANDLE_ENV, handle_);
    throw SinkError(SinkError::Kind::Fatal, "", "sink: the ODBC driver manager refused ODBC 3");
  }
}

OdbcEnvironment::~OdbcEnvironment() { SQLFreeHandle(SQL_HANDLE_ENV, handle_); }

}  // namespace metersync::sink
