// The seam between a source table read over ODBC and the mapping: a source row becomes the
// same `Row` of decoded values that debezium::EnvelopeDecoder makes of the row's change
// event, so SourceMapper::map runs on it unchanged.
//
// The driver returns every column as text; its SQL type (and, where the SQL type is too
// coarse, the server's own type name) says which Value Debezium's decoder produces:
//
//   SQL type / server type          Debezium (as the shipped connectors are configured)   Value
//   BIT, bool                       boolean                                               bool
//   TINYINT..BIGINT                 int8..int64; BIGINT UNSIGNED in precise mode: Decimal int64_t / Decimal
//   DECIMAL, NUMERIC                Decimal / VariableScaleDecimal (precise)              Decimal
//   REAL, FLOAT, DOUBLE             float32 / float64                                     double
//   DATE                            Date (epoch days)                                     Date
//   TIMESTAMP, timestamptz          Timestamp / MicroTimestamp / ZonedTimestamp (UTC)     Timestamp
//   TIME                            Time / MicroTime                                      TimeOfDay
//   json, jsonb                     io.debezium.data.Json                                 Json
//   BINARY, VARBINARY               bytes                                                 Bytes
//   uuid (PostgreSQL)               io.debezium.data.Uuid: PostgreSQL's lower-case text   std::string
//   anything else (text, enum)      string                                                std::string
//
// Zone-less timestamps are read in a UTC session (source_session_sql), as Debezium reads them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/change_event.hpp"
#include "core/error.hpp"
#include "core/value.hpp"
#include "sink/odbc_connection.hpp"

namespace metersync::verify {

Result<Value> source_value(const sink::ResultColumn& column, const std::optional<std::string>& text);
Result<Row> source_row(const std::vector<sink::ResultColumn>& columns, const sink::SqlRow& row);

}  // namespace metersync::verify
