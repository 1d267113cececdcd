// A staged change as bound parameters, in stage_columns() order: the text forms every
// dialect accepts ("-12.340", "2026-11-24", "2026-11-24 13:45:00.123456").
#pragma once

#include <string>
#include <vector>

#include "core/value.hpp"
#include "sink/batch_fold.hpp"
#include "sink/dialect.hpp"
#include "sink/sql_param.hpp"

namespace metersync::sink {

// "YYYY-MM-DD HH:MM:SS[.f...]" with `digits` fractional digits, truncated (never
// rounded): the column keeps exactly what the source sent, cut to its precision.
std::string timestamp_sql_text(const Timestamp& timestamp, int digits);
Timestamp timestamp_from_ms(int64_t epoch_ms);

void append_stage_params(const Dialect& dialect, const StagedChange& change,
                         std::vector<SqlParam>& params);

}  // namespace metersync::sink
