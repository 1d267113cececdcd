// One error value for whatever can fail once metersync has started: a record that does not
// decode or map, a row the sink refuses, a lost connection, an endpoint's answer, a Kafka
// error. It says what to do about it (kind), where it happened (stage), why (reason), and
// the server's own code where there is one (SQLSTATE, HTTP status).
//
// Functions where a record or a call can fail return Result<T> (std::expected); the caller
// decides by kind: Data → dead-letter the record and go on, Transient → back off and try
// the same again, Fatal / Configuration → end the run with the message. Start-up is
// different: a broken configuration or an unreachable dependency at start throws
// (ConfigError, sink::SinkError) with a message naming the fix.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace metersync {

enum class ErrorKind {
  Configuration,  // the configuration cannot work (a key, a grant, a table's columns)
  Transient,      // the other side will likely recover: back off and try the same again
  Data,           // this record or row is refused: dead-letter it, the others go on
  Fatal,          // no retry in place can clear it: end this run with the message
};

// Where an error happened. Decode, Map, Sink and Endpoint also name a dead letter's stage
// (the metersync.error.stage header), so their names are part of the dead-letter format.
enum class Stage {
  Decode,      // the Debezium envelope
  Map,         // the source's mapping rules, the table check
  Sink,        // Meter Master (ODBC)
  Endpoint,    // an HTTP endpoint
  Kafka,       // the consumer
  DeadLetter,  // the dead-letter producer
  Connect,     // Kafka Connect's REST API (the connectors' status)
};

std::string_view kind_name(ErrorKind kind);  // "configuration", "transient", "data", "fatal"
std::string_view stage_name(Stage stage);    // "decode", "map", "sink", "endpoint", "kafka", "dead-letter", "connect"

struct Error {
  ErrorKind kind = ErrorKind::Fatal;
  Stage stage = Stage::Sink;
  std::string reason;
  std::string sqlstate;  // the ODBC SQLSTATE, "" when none
  long native = 0;       // the server's own error number, 0 when none
  int http_status = 0;   // the endpoint's HTTP status, 0 when none

  static Error data(Stage stage, std::string reason) {
    return Error{ErrorKind::Data, stage, std::move(reason), {}, 0, 0};
  }

  // The reason with the server's code: "duplicate key ... [SQLSTATE 23505]".
  std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;

}  // namespace metersync
