#include "metrics/dead_letter_log.hpp"

namespace metersync::metrics {

void DeadLetterLog::add(KeptDeadLetter letter) {
  if (letter.note.reason.size() > kReasonBytes) {
    // Cut on a UTF-8 character boundary: never half a character on the page.
    std::size_t cut = kReasonBytes;
    while (cut > 0 && (static_cast<unsigned char>(letter.note.reason[cut]) & 0xC0) == 0x80) --cut;
    letter.note.reason.resize(cut);
    letter.note.reason += "…";
  }
  std::lock_guard lock(mutex_);
  totals_[{letter.source, letter.destination}] += letter.note.records;
  if (capacity_ == 0) return;
  if (kept_.size() == capacity_) kept_.pop_front();
  kept_.push_back(std::move(letter));
}

std::vector<KeptDeadLetter> DeadLetterLog::newest_first() const {
  std::lock_guard lock(mutex_);
  return {kept_.rbegin(), kept_.rend()};
}

std::map<std::pair<std::string, std::string>, int64_t> DeadLetterLog::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

}  // namespace metersync::metrics
