#include "sink/stage_document.hpp"

#include <algorithm>
#include <cstdint>

#include "sink/sink.hpp"
#include "sink/stage_params.hpp"
#include "sink/utf16.hpp"

namespace metersync::sink {

void StageDocument::clear() {
  text_.clear();
  rows_ = 0;
  first_in_row_ = true;
  finished_ = false;
}

const std::string& StageDocument::finish() {
  if (!finished_) {
    if (rows_ == 0) text_ = "[";
    text_ += ']';
    finished_ = true;
  }
  return text_;
}

void StageDocument::separator() {
  if (!first_in_row_) text_ += ',';
  first_in_row_ = false;
}

void StageDocument::null() {
  separator();
  text_ += "null";
}

void StageDocument::ascii(std::string_view value) {
  separator();
  text_ += '"';
  text_ += value;
  text_ += '"';
}

void StageDocument::text(std::string_view column, std::string_view value) {
  separator();
  static constexpr char kHex[] = "0123456789abcdef";
  text_ += '"';
  std::size_t run = 0;  // start of the pending stretch copied as is
  std::size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      uint32_t code = 0;
      const std::size_t length = utf8_sequence(value, i, code);
      if (length == 0) {
        throw SinkError(
            SinkError::Kind::Data, "22021",
            "sink: staging rows: column " + std::string(column) + " is not valid UTF-8");
      }
      i += length;
      continue;
    }
    text_.append(value.data() + run, i - run);
    if (c == '"' || c == '\\') {
      text_ += '\\';
      text_ += static_cast<char>(c);
    } else if (c == '\n') {
      text_ += "\\n";
    } else if (c == '\t') {
      text_ += "\\t";
    } else if (c == '\r') {
      text_ += "\\r";
    } else {
      text_ += "\\u00";
      text_ += kHex[c >> 4];
      text_ += kHex[c & 0xF];
    }
    run = ++i;
  }
  text_.append(value.data() + run, value.size() - run);
  text_ += '"';
}

namespace {

bool escaped(std::string_view text) {
  for (const char c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

}  // namespace

bool StageDocument::needs_escapes(const StagedChange& change) {
  const MeterRow& row = change.row;
  if (escaped(row.source_system) || escaped(row.source_meter_id) ||
      escaped(row.source_position.text)) {
    return true;
  }
  if (change.key_only) return false;
  return escaped(row.serial_number) || escaped(row.meter_type) || escaped(row.status) ||
         (row.manufacturer && escaped(*row.manufacturer));
}

void StageDocument::add(const StagedChange& change) {
  if (finished_) clear();
  const MeterRow& row = change.row;
  const bool full = !change.key_only;
  if (rows_ == 0) {
    text_.reserve(512);
    text_ = "[[";
  } else {
    text_ += ",[";
  }
  first_in_row_ = true;
  // document_columns() order.
  text("SourceSystem", row.source_system);
  text("SourceMeterId", row.source_meter_id);
  if (full) {
    text("SerialNumber", row.serial_number);
    text("MeterType", row.meter_type);
    row.manufacturer ? text("Manufacturer", *row.manufacturer) : null();
    text("Status", row.status);
    row.install_date ? ascii(row.install_date->to_iso()) : null();
    ascii(row.multiplier.to_string());
    row.last_reading_value ? ascii(row.last_reading_value->to_string()) : null();
    row.last_reading_at ? ascii(timestamp_sql_text(*row.last_reading_at, 6)) : null();
    row.latitude ? ascii(row.latitude->to_string()) : null();
    row.longitude ? ascii(row.longitude->to_string()) : null();
  } else {
    for (int k = 0; k < 10; ++k) null();
  }
  separator();
  text_ += row.is_deleted || !full ? '1' : '0';
  ascii(timestamp_sql_text(row.source_committed_at, 3));
  text("SourcePosition", row.source_position.text);
  text_ += ']';
  ++rows_;
}

std::vector<StageStatementDocuments> split_stage_documents(std::size_t full, std::size_t key_only,
                                                           std::size_t per_statement) {
  std::vector<StageStatementDocuments> statements;
  for (std::size_t first = 0; first < full + key_only; first += per_statement) {
    const std::size_t last = std::min(full + key_only, first + per_statement);
    const std::size_t full_here = first < full ? std::min(last, full) - first : 0;
    statements.push_back({full_here, last - first - full_here});
  }
  return statements;
}

}  // namespace metersync::sink
