#include "dispatch/post_pool.hpp"

namespace metersync::dispatch {

PostPool::PostPool(std::vector<Post> posts) : posts_(std::move(posts)) {
  workers_.reserve(posts_.size());
  for (const Post& post : posts_) workers_.emplace_back([this, &post] { work(post); });
}

PostPool::~PostPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  job_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void PostPool::submit(PostJob job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  ++in_flight_;
  job_ready_.notify_one();
}

std::vector<PostDone> PostPool::take_done() {
  std::vector<PostDone> out;
  {
    std::lock_guard lock(mutex_);
    out.swap(done_);
  }
  in_flight_ -= static_cast<int>(out.size());
  return out;
}

std::vector<PostDone> PostPool::wait_done(std::chrono::milliseconds timeout) {
  std::vector<PostDone> out;
  if (in_flight_ == 0) return out;
  {
    std::unique_lock lock(mutex_);
    result_ready_.wait_for(lock, timeout, [this] { return !done_.empty(); });
    out.swap(done_);
  }
  in_flight_ -= static_cast<int>(out.size());
  return out;
}

void PostPool::work(const Post& post) {
  std::unique_lock lock(mutex_);
  while (true) {
    job_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    PostJob job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    AttemptResult result = post(job.body, job.batch_id);
    lock.lock();
    done_.push_back(PostDone{std::move(job), std::move(result)});
    result_ready_.notify_all();
  }
}

}  // namespace metersync::dispatch
