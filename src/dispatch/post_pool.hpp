// The threads that post batches for one dispatcher, so that the heads of different
// partitions are in flight together: one worker per allowed post in flight
// (endpoint.max_in_flight), each with its own post function (in production its own
// HttpSender: a libcurl handle is used by one thread, and each keeps its connection).
//
// The pool only carries attempts: what is posted, and when, is the dispatcher's decision
// (one post per partition at a time, the circuit breaker), and so is every outcome, which
// it collects with take_done() / wait_done() on its own thread.
//
// Threads: submit/take_done/wait_done/in_flight from the dispatcher's thread; the workers
// take jobs and hand back results under one mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/retry_policy.hpp"

namespace metersync::dispatch {

struct PostJob {
  int32_t partition = 0;
  std::string body;
  std::string batch_id;
  bool probe = false;  // the circuit breaker's probe
};

struct PostDone {
  PostJob job;
  AttemptResult result;
};

class PostPool {
 public:
  using Post = std::function<AttemptResult(const std::string& body, const std::string& batch_id)>;

  // One worker per post function.
  explicit PostPool(std::vector<Post> posts);
  // Lets the posts in flight finish (their results are dropped) and joins the workers.
  ~PostPool();
  PostPool(const PostPool&) = delete;
  PostPool& operator=(const PostPool&) = delete;

  // Never more jobs at once than workers: the dispatcher keeps in_flight() below size().
  void submit(PostJob job);
  std::vector<PostDone> take_done();
  // Waits up to `timeout` for at least one result (none when nothing is in flight).
  std::vector<PostDone> wait_done(std::chrono::milliseconds timeout);
  // Submitted and not yet taken back.
  int in_flight() const { return in_flight_; }
  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void work(const Post& post);

  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::condition_variable result_ready_;
  std::deque<PostJob> jobs_;
  std::vector<PostDone> done_;
  bool stopping_ = false;
  int in_flight_ = 0;  // the dispatcher's thread only
  std::vector<Post> posts_;
  std::vector<std::thread> workers_;  // last: they use the members above
};

}  // namespace metersync::dispatch
