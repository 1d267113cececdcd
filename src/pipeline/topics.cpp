#include "pipeline/topics.hpp"

namespace metersync::pipeline {

SourceTopics topics_of(const config::SourceConfig& source) {
  SourceTopics topics;
  topics.changes = source.topic;
  topics.dead_letters = source.dead_letter_topic.empty() ? source.topic + ".dlq" : source.dead_letter_topic;
  topics.endpoint_dead_letters = source.endpoint && !source.endpoint->dead_letter_topic.empty()
                                     ? source.endpoint->dead_letter_topic
                                     : source.topic + ".endpoint.dlq";
  return topics;
}

}  // namespace metersync::pipeline
