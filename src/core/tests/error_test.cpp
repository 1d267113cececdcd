#include "core/error.hpp"

#include <gtest/gtest.h>

namespace metersync {
namespace {

TEST(Error, DescribesTheReasonWithTheServersCode) {
  Error sink{ErrorKind::Data, Stage::Sink, "duplicate key", "23505", 0, 0};
  EXPECT_EQ(sink.describe(), "duplicate key [SQLSTATE 23505]");
  Error endpoint{ErrorKind::Transient, Stage::Endpoint, "busy", {}, 0, 503};
  EXPECT_EQ(endpoint.describe(), "busy [HTTP 503]");
  EXPECT_EQ(Error::data(Stage::Map, "no such code").describe(), "no such code");
}

TEST(Error, StageNamesOnDeadLettersKeepTheirSpelling) {
  // The metersync.error.stage header of every dead letter: consumers of the topics match on it.
  EXPECT_EQ(stage_name(Stage::Decode), "decode");
  EXPECT_EQ(stage_name(Stage::Map), "map");
  EXPECT_EQ(stage_name(Stage::Sink), "sink");
  EXPECT_EQ(stage_name(Stage::Endpoint), "endpoint");
  EXPECT_EQ(kind_name(ErrorKind::Data), "data");
}

}  // namespace
}  // namespace metersync
