#include "sink/statement_batch.hpp"

namespace metersync::sink {

void StatementBatch::add(std::string_view sql, std::vector<SqlParam> params) {
  if (sql.empty()) return;
  if (!sql_.empty() && params_.size() + params.size() > max_params_) flush();
  if (!sql_.empty()) sql_ += '\n';
  sql_ += sql;
  if (params_.empty()) {
    params_ = std::move(params);
  } else {
    params_.reserve(params_.size() + params.size());
    for (SqlParam& param : params) params_.push_back(std::move(param));
  }
}

void StatementBatch::flush() {
  if (sql_.empty()) return;
  // Cleared before sending: after a failure nothing of this request is sent again.
  std::string sql = std::move(sql_);
  std::vector<SqlParam> params = std::move(params_);
  sql_.clear();
  params_.clear();
  ++requests_;
  send_(sql, params);
}

}  // namespace metersync::sink
