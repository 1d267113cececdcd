#include "mapping/source_mapper.hpp"

#include "mapping/column_program.hpp"
#include "mapping/decimal_math.hpp"
#include "mapping/value_forms.hpp"

namespace metersync::mapping {
namespace {

constexpr size_t kMaxPositionBytes = 100;     // SourcePosition VARCHAR(100)
constexpr size_t kMaxSourceSystemBytes = 16;  // SourceSystem VARCHAR(16)

Timestamp from_epoch_millis(int64_t ms) {
  const int64_t seconds = floor_div(ms, 1000);
  return Timestamp{seconds, static_cast<int32_t>((ms - seconds * 1000) * 1'000'000)};
}

template <class T>
std::optional<T> optional_of(const Value& value) {
  if (const auto* v = std::get_if<T>(&value)) return *v;
  return std::nullopt;
}

// Places one column's checked value into the row (the value already has the column's
// type, see ColumnProgram::run).
void assign(MeterRow& row, std::string_view column, const Value& value) {
  if (column == "SourceMeterId")
    row.source_meter_id = std::get<std::string>(value);
  else if (column == "SerialNumber")
    row.serial_number = std::get<std::string>(value);
  else if (column == "MeterType")
    row.meter_type = std::get<std::string>(value);
  else if (column == "Manufacturer")
    row.manufacturer = optional_of<std::string>(value);
  else if (column == "Status")
    row.status = std::get<std::string>(value);
  else if (column == "InstallDate")
    row.install_date = optional_of<Date>(value);
  else if (column == "Multiplier")
    row.multiplier = std::get<Decimal>(value);
  else if (column == "LastReadingValue")
    row.last_reading_value = optional_of<Decimal>(value);
  else if (column == "LastReadingAt")
    row.last_reading_at = optional_of<Timestamp>(value);
  else if (column == "Latitude")
    row.latitude = optional_of<Decimal>(value);
  else if (column == "Longitude")
    row.longitude = optional_of<Decimal>(value);
}

}  // namespace

SourceMapper::SourceMapper(const config::SourceConfig& source) : source_system_(source.name) {
  const std::string base = "sources." + source.name + ".mapping";
  if (source.name.empty() || source.name.size() > kMaxSourceSystemBytes)
    throw ConfigError("sources." + source.name +
                      ": the source name is the SourceSystem value, 1 to 16 bytes");
  auto programs = std::make_shared<std::vector<ColumnProgram>>();
  // Programs run in Meter Master column order, so SourceMeterId (the key) comes first.
  for (const auto& target : config::target_columns()) {
    const config::ColumnRule* rule = source.mapping.find(target.name);
    if (rule == nullptr) {
      if (!target.nullable)
        throw ConfigError(base + ": no rule for " + std::string(target.name) + " (" +
                          std::string(target.sql_type) + " NOT NULL)");
      continue;
    }
    config::ColumnRule named = *rule;
    if (named.key_path.empty()) named.key_path = base + "." + named.column;
    programs->emplace_back(named, target);
  }
  for (const auto& rule : source.mapping.columns)
    if (config::find_target_column(rule.column) == nullptr)
      throw ConfigError(base + "." + rule.column + ": not a Meter Master column a mapping fills");
  programs_ = std::move(programs);
}

Result<MeterChange> SourceMapper::map(const ChangeEvent& event) const {
  MeterChange change{MeterChange::Kind::Upsert, {}};
  change.row.source_system = source_system_;
  change.row.source_committed_at = from_epoch_millis(event.committed_at_ms);
  change.row.source_position = event.position;
  if (event.position.text.size() > kMaxPositionBytes)
    return std::unexpected(
        Error::data(Stage::Map, "SourcePosition: " + std::to_string(event.position.text.size()) +
                 " bytes, the column holds " + std::to_string(kMaxPositionBytes)));
  if (event.op == Op::Truncate) {
    change.kind = MeterChange::Kind::Truncate;
    return change;
  }

  const bool is_delete = event.op == Op::Delete;
  const std::optional<Row>& image = is_delete ? event.before : event.after;
  if (!image)
    return std::unexpected(Error::data(Stage::Map, std::string(op_name(event.op)) + " event without " +
                                    (is_delete ? "a before" : "an after") + " image"));

  const ColumnProgram* key_program = nullptr;
  std::optional<ColumnFailure> image_gap;  // first failure caused by a thin delete image
  for (const auto& program : *programs_) {
    const bool is_key = program.target().name == "SourceMeterId";
    if (is_key) key_program = &program;
    auto value = program.run(*image);
    if (!value) {
      if (is_delete && !is_key && value.error().incomplete) {
        if (!image_gap) image_gap = value.error();
        continue;
      }
      return std::unexpected(Error::data(Stage::Map, value.error().reason));
    }
    assign(change.row, program.target().name, *value);
  }
  if (key_program == nullptr) return std::unexpected(Error::data(Stage::Map, "SourceMeterId: no rule"));

  if (!is_delete) {
    change.inserted = event.op == Op::Create || event.op == Op::Read;
    return change;
  }
  if (image_gap) {
    // Only the key (or less than every rule needs) was logged: flag the stored row and
    // keep its last known values.
    MeterRow key_only;
    key_only.source_system = change.row.source_system;
    key_only.source_meter_id = change.row.source_meter_id;
    key_only.source_committed_at = change.row.source_committed_at;
    key_only.source_position = change.row.source_position;
    key_only.is_deleted = true;
    return MeterChange{MeterChange::Kind::DeleteKeyOnly, std::move(key_only)};
  }
  change.kind = MeterChange::Kind::Delete;
  change.row.is_deleted = true;
  return change;
}

}  // namespace metersync::mapping
