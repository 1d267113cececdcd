#include "sink/stage_params.hpp"

#include <optional>

namespace metersync::sink {
namespace {

SqlParam text_param(const Dialect& dialect, const Column& column,
                    const std::optional<std::string>& value) {
  if (!value) return SqlParam::null(column.length);
  return dialect.bind_wide(column) ? SqlParam::national(*value, column.length)
                                   : SqlParam::ascii(*value, column.length);
}

SqlParam decimal_param(const Column& column, const std::optional<Decimal>& value) {
  const int size = column.precision + 2;  // sign and point
  if (!value) return SqlParam::null(size);
  return SqlParam::ascii(value->to_string(), size);
}

SqlParam timestamp_param(const Column& column, const std::optional<Timestamp>& value) {
  if (!value) return SqlParam::null(27);
  return SqlParam::ascii(timestamp_sql_text(*value, column.scale), 27);
}

}  // namespace

std::string timestamp_sql_text(const Timestamp& timestamp, int digits) {
  std::string text = timestamp.to_iso(digits);  // "...T...Z"
  if (!text.empty() && text.back() == 'Z') text.pop_back();
  if (const auto t = text.find('T'); t != std::string::npos) text[t] = ' ';
  return text;
}

Timestamp timestamp_from_ms(int64_t epoch_ms) {
  int64_t seconds = epoch_ms / 1000;
  int64_t millis = epoch_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  return Timestamp{seconds, static_cast<int32_t>(millis * 1'000'000)};
}

void append_stage_params(const Dialect& dialect, const StagedChange& change,
                         std::vector<SqlParam>& params) {
  const MeterRow& row = change.row;
  const bool full = !change.key_only;
  for (const Column& column : stage_columns()) {
    const std::string_view name = column.name;
    if (name == "SourceSystem") {
      params.push_back(text_param(dialect, column, row.source_system));
    } else if (name == "SourceMeterId") {
      params.push_back(text_param(dialect, column, row.source_meter_id));
    } else if (name == "SerialNumber") {
      params.push_back(
          text_param(dialect, column, full ? std::optional(row.serial_number) : std::nullopt));
    } else if (name == "MeterType") {
      params.push_back(
          text_param(dialect, column, full ? std::optional(row.meter_type) : std::nullopt));
    } else if (name == "Manufacturer") {
      params.push_back(text_param(dialect, column, full ? row.manufacturer : std::nullopt));
    } else if (name == "Status") {
      params.push_back(
          text_param(dialect, column, full ? std::optional(row.status) : std::nullopt));
    } else if (name == "InstallDate") {
      params.push_back(full && row.install_date ? SqlParam::ascii(row.install_date->to_iso(), 10)
                                                : SqlParam::null(10));
    } else if (name == "Multiplier") {
      params.push_back(decimal_param(column, full ? std::optional(row.multiplier) : std::nullopt));
    } else if (name == "LastReadingValue") {
      params.push_back(decimal_param(column, full ? row.last_reading_value : std::nullopt));
    } else if (name == "LastReadingAt") {
      params.push_back(timestamp_param(column, full ? row.last_reading_at : std::nullopt));
    } else if (name == "Latitude") {
      params.push_back(decimal_param(column, full ? row.latitude : std::nullopt));
    } else if (name == "Longitude") {
      params.push_back(decimal_param(column, full ? row.longitude : std::nullopt));
    } else if (name == "IsDeleted") {
      params.push_back(SqlParam::ascii(row.is_deleted || !full ? "1" : "0", 1));
    } else if (name == "SourceCommittedAt") {
      params.push_back(timestamp_param(column, row.source_committed_at));
    } else if (name == "SourcePosition") {
      params.push_back(SqlParam::ascii(row.source_position.text, column.length));
    } else if (name == "ChangeKind") {
      params.push_back(SqlParam::ascii(full ? "U" : "K", 1));
    }
  }
}

}  // namespace metersync::sink
