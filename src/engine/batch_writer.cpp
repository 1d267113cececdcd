#include "engine/batch_writer.hpp"

#include <algorithm>

namespace metersync::engine {

BatchWriter::Settings BatchWriter::Settings::from(const config::SinkConfig& sink) {
  Settings settings;
  settings.max_batch_events = static_cast<std::size_t>(std::max(1, sink.max_batch_events));
  settings.max_batch_bytes = sink.max_batch_bytes;
  settings.max_batch_wait = sink.max_batch_wait;
  settings.retry_initial = sink.retry_initial;
  settings.retry_max = sink.retry_max;
  return settings;
}

BatchWriter::BatchWriter(BatchCommitter& committer, Settings settings, Hooks hooks)
    : committer_(committer),
      settings_(settings),
      hooks_(std::move(hooks)),
      backoff_(settings.retry_initial, settings.retry_max) {}

BatchWriter::~BatchWriter() { stop(); }

void BatchWriter::start() {
  thread_ = std::thread([this] { run(); });
}

void BatchWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  writer_wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The records hold librdkafka messages: they go now, before the consumer is closed.
  std::lock_guard lock(mutex_);
  queued_.clear();
  queued_bytes_ = 0;
  current_.clear();
}

std::size_t BatchWriter::bytes_of(const InFlightRecord& record) { return record.held_bytes; }

bool BatchWriter::full() const {
  return queued_.size() >= settings_.max_batch_events || queued_bytes_ >= settings_.max_batch_bytes;
}

bool BatchWriter::has_room() const {
  std::lock_guard lock(mutex_);
  return !full();
}

void BatchWriter::add(InFlightRecord record) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queued_.empty()) {
      queued_since_ = Clock::now();
      wake = true;  // the writer computes the batch's deadline from its first record
    }
    queued_bytes_ += bytes_of(record);
    queued_.add(std::move(record));
    if (full()) wake = true;
  }
  if (wake) writer_wake_.notify_one();
}

bool BatchWriter::wait_for_room(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return !full() || failure_ || stop_; }) && !full();
}

bool BatchWriter::wait_until_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  // writing_ first: while it is set, current_ belongs to the writer thread.
  return changed_.wait_for(lock, timeout, [this] {
    return (!writing_ && queued_.empty() && current_.empty()) || failure_ || stop_;
  }) && !writing_ && queued_.empty() && current_.empty();
}

std::size_t BatchWriter::revoke(const std::vector<int32_t>& partitions) {
  std::unique_lock lock(mutex_);
  ++revokers_;  // the writer starts no write until this is done
  std::size_t dropped = queued_.size();
  queued_.drop_partitions(partitions);
  dropped -= queued_.size();
  queued_bytes_ = 0;
  for (std::size_t i = 0; i < queued_.size(); ++i) queued_bytes_ += bytes_of(queued_[i]);
  // A transaction in progress may cover these partitions: it commits (before this
  // returns) or fails and its records are dropped below.
  changed_.wait(lock, [this] { return !writing_; });
  const std::size_t before = current_.size();
  current_.drop_partitions(partitions);
  dropped += before - current_.size();
  --revokers_;
  lock.unlock();
  writer_wake_.notify_all();
  changed_.notify_all();
  return dropped;
}

bool BatchWriter::retrying() const {
  std::lock_guard lock(mutex_);
  // A revoke may take every record the failed write held back. Then nothing waits for the
  // destination, and a pipeline paused on this would never read again: the next batch
  // finds out whether the destination is back. (current_ is the writer's while writing_.)
  return retrying_ && (writing_ || !current_.empty());
}

std::optional<std::string> BatchWriter::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

std::size_t BatchWriter::unwritten() const {
  std::lock_guard lock(mutex_);
  // While a write is in progress current_ belongs to the writer thread.
  return queued_.size() + (writing_ ? writing_records_ : current_.size());
}

bool BatchWriter::ready(Clock::time_point now) const {
  return !queued_.empty() && (full() || now >= queued_since_ + settings_.max_batch_wait);
}

void BatchWriter::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (current_.empty()) {
      if (queued_.empty()) {
        writer_wake_.wait(lock, [this] { return stop_ || !queued_.empty(); });
        continue;
      }
      const auto now = Clock::now();
      if (!ready(now)) {
        writer_wake_.wait_until(lock, queued_since_ + settings_.max_batch_wait, [this] {
          return stop_ || queued_.empty() || full();
        });
        continue;
      }
      std::swap(current_, queued_);
      queued_.clear();
      queued_bytes_ = 0;
      current_since_ = queued_since_;
      changed_.notify_all();  // room for the next batch
    }
    if (revokers_ > 0) {
      // revoke() goes first: it drops records from current_ once no write is running.
      writer_wake_.wait(lock, [this] { return stop_ || revokers_ == 0; });
      continue;
    }
    writing_ = true;
    writing_records_ = current_.size();
    lock.unlock();
    std::string message;
    const auto started = Clock::now();
    const std::size_t records = current_.size();
    const Written result = write_current(message);
    const auto ended = Clock::now();
    lock.lock();
    writing_ = false;
    changed_.notify_all();
    if (result == Written::Fatal) {
      failure_ = message;
      return;
    }
    if (result == Written::Yes) {
      const bool recovered = retrying_;
      retrying_ = false;
      if (recovered) backoff_.reset();
      // Hooks run unlocked: they log and update the status.
      lock.unlock();
      if (hooks_.written) hooks_.written(records, started - current_since_, ended - started);
      if (recovered && hooks_.recovered) hooks_.recovered();
      lock.lock();
      continue;
    }
    retrying_ = true;
    lock.unlock();
    if (hooks_.transient_failure) hooks_.transient_failure(message);
    lock.lock();
    // The unwritten records are retried after the backoff; revoke() may empty them meanwhile.
    writer_wake_.wait_for(lock, backoff_.next(), [this] { return stop_ || current_.empty(); });
  }
}

BatchWriter::Written BatchWriter::write_current(std::string& message) {
  metersync::Result<void> committed;
  try {
    committed = committer_.commit(current_);
  } catch (const std::exception& e) {  // a broken invariant, not a refusal: end the pipeline
    message = e.what();
    return Written::Fatal;
  }
  if (committed) return Written::Yes;
  const Error& error = committed.error();
  message = error.stage == Stage::DeadLetter ? "dead-letter topic: " + error.describe() : error.describe();
  // Fatal, and Data that bisection could not pin on a row, end this pipeline.
  return error.kind == ErrorKind::Transient ? Written::Transient : Written::Fatal;
}

}  // namespace metersync::engine
