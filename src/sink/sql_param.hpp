// One bound statement parameter. Every value the sink sends travels as one of these,
// never spliced into SQL text.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace metersync::sink {

struct SqlParam {
  enum class Kind {
    Null,   // SQL NULL (bound as a VARCHAR NULL; the statement's column or CAST types it)
    Text,   // ASCII-safe text: codes, decimals, dates, timestamps (SQL_C_CHAR / SQL_VARCHAR)
    NText,  // any Unicode text (SQL_C_WCHAR / SQL_WVARCHAR, UTF-16 on the wire)
    Int,    // a 64-bit integer (SQL_C_SBIGINT / SQL_BIGINT)
  };
  Kind kind = Kind::Null;
  std::string text;    // UTF-8 for NText
  int64_t number = 0;  // Int
  // Declared column size for text (characters). The binding uses the larger of this and
  // the value's length, so a value too long for its column reaches the server whole and
  // is rejected there (22001) instead of being cut short by the driver.
  int size = 0;

  static SqlParam null(int size = 1) { return SqlParam{Kind::Null, {}, 0, size}; }
  static SqlParam ascii(std::string value, int size = 0) {
    return SqlParam{Kind::Text, std::move(value), 0, size};
  }
  static SqlParam national(std::string value, int size = 0) {
    return SqlParam{Kind::NText, std::move(value), 0, size};
  }
  static SqlParam integer(int64_t value) { return SqlParam{Kind::Int, {}, value, 0}; }
};

}  // namespace metersync::sink
