#include "debezium/source_block.hpp"

#include "debezium/json_fields.hpp"

namespace metersync::debezium {

using json_fields::FieldPath;
using simdjson::ondemand::json_type;

std::expected<SourceBlock, std::string> read_source_block(simdjson::ondemand::value& value,
                                                          Connector connector) {
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object))
    return std::unexpected(json_fields::invalid("source", error));

  SourceBlock block;
  SourceCoordinates& at = block.coordinates;
  const bool binlog = connector == Connector::MySql || connector == Connector::MariaDb;
  for (auto field : object) {
    std::string_view key;
    if (auto error = field.unescaped_key().get(key))
      return std::unexpected(json_fields::invalid("source", error));
    simdjson::ondemand::value inner;
    if (auto error = field.value().get(inner))
      return std::unexpected(json_fields::invalid("source", error));

    // Reads a nullable int / string into `target`; the error names the field.
    auto int_into = [&](std::optional<int64_t>& target) -> std::expected<void, std::string> {
      auto read = json_fields::optional_int(inner, FieldPath{"source", key});
      if (!read) return std::unexpected(std::move(read.error()));
      target = *read;
      return {};
    };
    auto string_into =
        [&](std::optional<std::string_view>& target) -> std::expected<void, std::string> {
      auto read = json_fields::optional_string(inner, FieldPath{"source", key});
      if (!read) return std::unexpected(std::move(read.error()));
      target = *read;
      return {};
    };

    std::expected<void, std::string> done;
    if (key == "ts_ms") {
      done = int_into(block.ts_ms);
    } else if (key == "table") {
      done = string_into(block.table);
    } else if (key == "snapshot") {
      // An io.debezium.data.Enum: true, first, first_in_data_collection,
      // last_in_data_collection, last, incremental, false (SnapshotRecord). Older
      // connectors wrote a boolean.
      json_type type;
      if (auto error = inner.type().get(type))
        return std::unexpected(json_fields::invalid("source.snapshot", error));
      if (type == json_type::boolean) {
        bool flag = false;
        if (auto error = inner.get_bool().get(flag)) {
          return std::unexpected(json_fields::invalid("source.snapshot", error));
        }
        block.snapshot = flag;
        at.snapshot = flag;
      } else {
        std::optional<std::string_view> text;
        done = string_into(text);
        if (done && text) {
          block.snapshot = *text != "false";
          at.snapshot = block.snapshot;
          at.incremental_snapshot = *text == "incremental";
        }
      }
    } else if (connector == Connector::Postgres && key == "lsn") {
      done = int_into(at.lsn);
    } else if (connector == Connector::Postgres && key == "sequence") {
      done = string_into(at.sequence);
    } else if (binlog && key == "file") {
      done = string_into(at.file);
    } else if (binlog && key == "pos") {
      done = int_into(at.pos);
    } else if (binlog && key == "row") {
      done = int_into(at.row);
    } else if (connector == Connector::SqlServer && key == "commit_lsn") {
      done = string_into(at.commit_lsn);
    } else if (connector == Connector::SqlServer && key == "change_lsn") {
      done = string_into(at.change_lsn);
    } else if (connector == Connector::SqlServer && key == "event_serial_no") {
      done = int_into(at.event_serial_no);
    } else if (connector == Connector::Oracle && key == "commit_scn") {
      done = string_into(at.commit_scn);
    } else if (connector == Connector::Oracle && key == "scn") {
      done = string_into(at.scn);
    } else if (connector == Connector::Oracle && key == "ssn") {
      done = int_into(at.ssn);
    }
    if (!done) return std::unexpected(std::move(done.error()));
  }
  return block;
}

}  // namespace metersync::debezium
