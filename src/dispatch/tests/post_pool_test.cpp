#include "dispatch/post_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

namespace metersync::dispatch {
namespace {

using namespace std::chrono_literals;

// A post that takes a while and records how many were in flight at once.
struct SlowPosts {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
  PostPool::Post post() {
    return [this](const std::string&, const std::string&) {
      const int in_flight = ++now;
      for (int seen = most.load(); in_flight > seen && !most.compare_exchange_weak(seen, in_flight);) {
      }
      std::this_thread::sleep_for(50ms);
      --now;
      AttemptResult result;
      result.status = 200;
      return result;
    };
  }
};

std::vector<PostDone> collect(PostPool& pool, std::size_t count) {
  std::vector<PostDone> all;
  for (int i = 0; i < 100 && all.size() < count; ++i) {
    for (auto& done : pool.wait_done(100ms)) all.push_back(std::move(done));
  }
  return all;
}

TEST(PostPoolTest, PostsOfDifferentPartitionsOverlap) {
  SlowPosts slow;
  PostPool pool({slow.post(), slow.post(), slow.post(), slow.post()});
  const auto started = std::chrono::steady_clock::now();
  for (int32_t p = 0; p < 4; ++p) pool.submit(PostJob{p, "{}", "b" + std::to_string(p), false});
  EXPECT_EQ(pool.in_flight(), 4);
  auto all = collect(pool, 4);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(pool.in_flight(), 0);
  EXPECT_GE(slow.most.load(), 2);  // not one after another
  EXPECT_LT(std::chrono::steady_clock::now() - started, 200ms * 4 / 2);
  std::set<int32_t> partitions;
  for (const auto& done : all) {
    partitions.insert(done.job.partition);
    EXPECT_EQ(done.result.status, 200);
  }
  EXPECT_EQ(partitions.size(), 4u);
}

TEST(PostPoolTest, NeverMoreAtOnceThanWorkers) {
  SlowPosts slow;
  PostPool pool({slow.post(), slow.post()});
  for (int32_t p = 0; p < 6; ++p) pool.submit(PostJob{p, "{}", "b", false});
  EXPECT_EQ(collect(pool, 6).size(), 6u);
  EXPECT_LE(slow.most.load(), 2);
}

TEST(PostPoolTest, StopsWithPostsQueuedAndNothingTaken) {
  SlowPosts slow;
  {
    PostPool pool({slow.post()});
    for (int32_t p = 0; p < 3; ++p) pool.submit(PostJob{p, "{}", "b", false});
  }  // joins: the post in flight finishes, the queued ones are dropped
  EXPECT_EQ(slow.now.load(), 0);
}

}  // namespace
}  // namespace metersync::dispatch
