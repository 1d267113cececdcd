// The statements verify runs on Meter Master, per sink dialect: the database computes each
// row's compared form, digest and bucket itself (row_digest.hpp says what they are), so an
// unchanged table is verified by one aggregate query instead of by pulling its rows.
// Every statement takes one parameter, the SourceSystem, and reads live rows only
// (IsDeleted = 0): a row flagged deleted is what a source row's absence should leave.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sink/dialect.hpp"

namespace metersync::verify {

// One column: COUNT(*) of the source's live rows.
std::string live_rows_sql(const sink::Dialect& dialect);

// Per non-empty bucket: bucket, number of rows, sum of row hashes (an exact integer).
std::string bucket_digests_sql(const sink::Dialect& dialect,
                               const std::vector<const config::TargetColumn*>& columns,
                               uint32_t buckets);

// The live rows of the given buckets, in compared form: one column per compared column
// (canonical text or NULL), in `columns` order.
std::string bucket_rows_sql(const sink::Dialect& dialect,
                            const std::vector<const config::TargetColumn*>& columns,
                            uint32_t buckets, const std::vector<uint32_t>& which);

}  // namespace metersync::verify
