// A consumed Kafka record made into an in-flight record: the source's
// pipeline::RecordProcessor decides its outcome (the same decisions as the endpoint
// dispatcher's), only what the sink needs of it is kept, and the key and value are copied
// out so that the librdkafka message, and the fetch buffer it pins, go at once.
//
// Dead letters are logged as they are decided, through pipeline::LogRateLimit (at most ten
// lines per 10 s, then a count, as the endpoint dispatcher): a flood of bad records must not
// flood the log (the status file counts every one).
//
// Thread: the pipeline thread.
#pragma once

#include <string>

#include "config/config.hpp"
#include "engine/in_flight_batch.hpp"
#include "kafka/message.hpp"
#include "pipeline/log_rate_limit.hpp"
#include "pipeline/record_processor.hpp"

namespace metersync::engine {

class RecordIntake {
 public:
  // Throws ConfigError (the source's mapping does not compile).
  explicit RecordIntake(const config::SourceConfig& source);

  InFlightRecord take(kafka::Message message);  // by value: the message ends with this call

 private:
  Outcome process(const kafka::Message& message);
  void log_rejection(const InFlightRecord& record, const Rejected& rejected);

  std::string source_;
  pipeline::RecordProcessor processor_;
  pipeline::LogRateLimit rejection_log_;
};

}  // namespace metersync::engine
