// Splits work on a page of rows over the machine's cores.
#pragma once

#include <algorithm>
#include <cstddef>
#include <future>
#include <thread>
#include <vector>

namespace metersync::verify {

// Calls `work(begin, end)` on consecutive slices of [0, count), one slice per core, the first
// on the calling thread; returns when all are done, rethrowing the first exception. The source
// pass hashes each range's rows this way (the readers map them on their own threads): on one
// thread the two MD5s per row held up the readers (docs/verify.md, "Measured").
template <typename Work>
void for_each_slice(size_t count, Work&& work) {
  constexpr size_t kSmallest = 256;  // below this a thread costs more than it saves
  // Read once: hardware_concurrency() reads sysfs on every call.
  static const size_t cores = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  const size_t slices = std::clamp<size_t>(count / kSmallest, 1, cores);
  const size_t per = (count + slices - 1) / std::max<size_t>(slices, 1);
  std::vector<std::future<void>> others;
  for (size_t begin = per; begin < count; begin += per)
    others.push_back(std::async(std::launch::async, [&work, begin, end = std::min(count, begin + per)] {
      work(begin, end);
    }));
  work(size_t{0}, std::min(count, per));
  for (auto& other : others) other.get();
}

}  // namespace metersync::verify
