#include "engine/pipeline_status.hpp"

#include <gtest/gtest.h>

namespace metersync::engine {
namespace {

TEST(PipelineStatus, CountsCommitsAndKeepsAFailureFinal) {
  PipelineStatus status("mysql", "t", "g");
  status.add_commit(5, 4, 1, 0, {{1, 6}});
  status.add_commit(3, 3, 0, 0, {{1, 9}});
  status.set_state(PipelineState::Failed);
  status.set_state(PipelineState::Stopped);  // a later stop must not hide the failure
  PipelineSnapshot s = status.snapshot();
  EXPECT_EQ(s.records_applied, 8);
  EXPECT_EQ(s.changes_written, 7);
  EXPECT_EQ(s.records_dead_lettered, 1);
  EXPECT_EQ(s.batches_committed, 2);
  EXPECT_EQ(s.positions, (std::map<int32_t, int64_t>{{1, 9}}));
  EXPECT_EQ(s.state, PipelineState::Failed);
}

}  // namespace
}  // namespace metersync::engine
