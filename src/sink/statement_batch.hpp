// Statements of one transaction sent to the server together: one SQLExecDirect for as
// many statements as the server's parameter limit allows, instead of one round trip
// each. SQL Server reads a request as one batch (T-SQL's unit of compilation), so the
// statements of a batch share one scope for variables: pieces that DECLARE must use
// names of their own (the dialect's statements do).
//
// A piece is never split: when the next piece's parameters would pass the limit, what
// is pending is sent first.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/sql_param.hpp"

namespace metersync::sink {

class StatementBatch {
 public:
  // Sends one request: its SQL text (the pieces joined by newlines) and its parameters
  // in marker order.
  using Send = std::function<void(const std::string& sql, const std::vector<SqlParam>& params)>;

  // `max_params`: SQL Server takes at most 2,100 parameters per request.
  StatementBatch(Send send, std::size_t max_params) : send_(std::move(send)), max_params_(max_params) {}

  void add(std::string_view sql, std::vector<SqlParam> params = {});
  // Sends what is pending (nothing when empty).
  void flush();

  std::size_t requests() const { return requests_; }  // sent so far
  bool empty() const { return sql_.empty(); }

 private:
  Send send_;
  std::size_t max_params_;
  std::string sql_;
  std::vector<SqlParam> params_;
  std::size_t requests_ = 0;
};

}  // namespace metersync::sink
