// A segment's rows as one JSON document, bound as ONE parameter and read server-side
// (PostgreSQL jsonb_array_elements, MariaDB JSON_TABLE) instead of thousands of bound
// parameters through multi-row INSERTs: the statement is parsed once per segment, not
// once per 131 rows, and the driver converts one value instead of 2,096.
//
// The document is an array of rows, each an array in document_columns() order
// (stage_columns() without ChangeKind):
//   [["postgres","m-1","SN1","electric",null,"active","2024-01-02","1.0000",...,0,
//     "2026-11-24 13:45:00.123","0000000001:000000000042"], ...]
// Text is raw UTF-8 (only '"', '\' and control characters escaped), decimals, dates and
// timestamps are JSON strings in the same text forms as the bound parameters
// (stage_params.hpp), so nothing passes through a floating-point number; IsDeleted is
// 0 or 1. A key-only delete carries its key, IsDeleted = 1, SourceCommittedAt and
// SourcePosition, and nulls elsewhere.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sink/batch_fold.hpp"

namespace metersync::sink {

class StageDocument {
 public:
  // Appends one row. Throws SinkError (Data, 22021) naming the column when its text is
  // not valid UTF-8, as binding it would have.
  void add(const StagedChange& change);

  // True when one of the row's text values needs a JSON escape ('"', '\\' or a control
  // character): a server whose OPENJSON does not decode escapes must get it another way.
  static bool needs_escapes(const StagedChange& change);

  bool empty() const { return rows_ == 0; }
  std::size_t rows() const { return rows_; }
  std::size_t bytes() const { return text_.size() + 1; }

  // The finished document; the builder is empty afterwards (its buffer is reused).
  const std::string& finish();
  void clear();

 private:
  void text(std::string_view column, std::string_view value);
  void ascii(std::string_view value);  // a value known to need no escaping
  void null();
  void separator();

  std::string text_;
  std::size_t rows_ = 0;
  bool first_in_row_ = true;
  bool finished_ = false;
};

// How SQL Server's stage reads a segment's documents: `full` documents of full rows, then
// `key_only` of key-only deletes, at most `per_statement` to one statement. One entry per
// statement, in order: how many of each kind it reads.
struct StageStatementDocuments {
  std::size_t full = 0;
  std::size_t key_only = 0;
  bool operator==(const StageStatementDocuments&) const = default;
};
std::vector<StageStatementDocuments> split_stage_documents(std::size_t full, std::size_t key_only,
                                                           std::size_t per_statement);

}  // namespace metersync::sink
