// The ODBC environment handle (ODBC 3 behaviour). One per Sink; it must outlive every
// connection made from it, which Sink guarantees by member order.
#pragma once

#include <sql.h>

namespace metersync::sink {

class OdbcEnvironment {
 public:
  OdbcEnvironment();  // throws SinkError (Fatal) when the driver manager refuses
  ~OdbcEnvironment();
  OdbcEnvironment(const OdbcEnvironment&) = delete;
  OdbcEnvironment& operator=(const OdbcEnvironment&) = delete;

  SQLHENV handle() const { return handle_; }

 private:
  SQLHENV handle_ = SQL_NULL_HENV;
};

}  // namespace metersync::sink
