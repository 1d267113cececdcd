#include "pipeline/log_rate_limit.hpp"

namespace metersync::pipeline {

LogRateLimit::LogRateLimit(int lines, Clock::duration window) : lines_(lines), window_(window) {}

LogRateLimit::Turn LogRateLimit::next(Clock::time_point now) {
  Turn turn;
  if (!window_start_ || now - *window_start_ >= window_) {
    turn.held_back = held_back_;
    window_start_ = now;
    written_ = 0;
    held_back_ = 0;
  }
  if (written_ < lines_) {
    ++written_;
    turn.write = true;
  } else {
    ++held_back_;
  }
  return turn;
}

}  // namespace metersync::pipeline
