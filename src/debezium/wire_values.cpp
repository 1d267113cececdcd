#include "debezium/wire_values.hpp"

#include <array>
#include <charconv>

namespace metersync::debezium::wire {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
constexpr uint32_t kLimbBase = 1'000'000'000;  // 9 decimal digits per limb

constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr auto kBase64 = make_base64_table();

bool is_leap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(int64_t year, unsigned month) {
  constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// A small cursor over ISO text: every read checks bounds and digits.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ == text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool take(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly `width` digits.
  bool fixed(int width, int64_t& out) {
    if (text_.size() - pos_ < static_cast<size_t>(width)) return false;
    int64_t value = 0;
    for (int i = 0; i < width; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos_ += width;
    out = value;
    return true;
  }
  // min..max digits; returns how many were read (0 when fewer than min).
  int variable(int min, int max, int64_t& out) {
    int count = 0;
    int64_t value = 0;
    while (count < max && pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
      ++count;
    }
    if (count < min) return 0;
    out = value;
    return count;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// HH:MM[:SS[.fffffffff]] -> nanoseconds since midnight.
bool parse_local_time(Cursor& in, int64_t& nanos_of_day) {
  int64_t hour = 0, minute = 0, second = 0, fraction = 0;
  if (!in.fixed(2, hour) || !in.take(':') || !in.fixed(2, minute)) return false;
  if (in.take(':')) {
    if (!in.fixed(2, second)) return false;
    if (in.take('.')) {
      const int digits = in.variable(1, 9, fraction);
      if (digits == 0) return false;
      for (int i = digits; i < 9; ++i) fraction *= 10;
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  nanos_of_day = ((hour * 60 + minute) * 60 + second) * kNanosPerSecond + fraction;
  return true;
}

// Z | +HH:MM | +HH:MM:SS (java.time also allows +HH, accepted too) -> seconds east of UTC.
bool parse_offset(Cursor& in, int64_t& offset_seconds) {
  if (in.take('Z')) {
    offset_seconds = 0;
    return in.done();
  }
  int sign = 0;
  if (in.take('+'))
    sign = 1;
  else if (in.take('-'))
    sign = -1;
  else
    return false;
  int64_t hours = 0, minutes = 0, seconds = 0;
  if (!in.fixed(2, hours)) return false;
  if (in.take(':')) {
    if (!in.fixed(2, minutes)) return false;
    if (in.take(':') && !in.fixed(2, seconds)) return false;
  }
  if (hours > 18 || minutes > 59 || seconds > 59) return false;
  offset_seconds = sign * (hours * 3600 + minutes * 60 + seconds);
  return in.done();
}

}  // namespace

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int8_t sextet = kBase64[static_cast<unsigned char>(c)];
    if (sextet < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(sextet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return true;
}

bool decimal_from_unscaled(std::string_view bytes, int32_t scale, std::vector<uint32_t>& limbs,
                           Decimal& out) {
  if (bytes.empty()) return false;
  const bool negative = (static_cast<unsigned char>(bytes.front()) & 0x80) != 0;
  out.scale = scale;

  if (bytes.size() <= 8) {
    // Fits in 64 bits: sign-extend, then print the magnitude.
    uint64_t raw = negative ? ~uint64_t{0} : 0;
    for (char b : bytes) raw = (raw << 8) | static_cast<unsigned char>(b);
    const uint64_t magnitude = negative ? 0 - raw : raw;
    std::array<char, 24> text{};
    auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), magnitude);
    out.digits.assign(text.data(), end);
    out.negative = negative && magnitude != 0;
    return true;
  }

  // Any size: take the magnitude byte by byte (negating two's complement on the fly:
  // invert, and add one from the least significant byte, tracked as a borrow-free
  // "all lower bytes were zero" flag) into base-1e9 limbs, least significant first.
  limbs.clear();
  const size_t n = bytes.size();
  // For a negative value, magnitude = ~bytes + 1. The +1 ripples up through the bytes
  // whose inverted value is 0xFF, i.e. the trailing 0x00 bytes of the original.
  size_t ripple_end = n;  // bytes [ripple_end, n) are 0x00 in the original
  if (negative) {
    while (ripple_end > 0 && bytes[ripple_end - 1] == 0) --ripple_end;
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t byte = static_cast<unsigned char>(bytes[i]);
    if (negative) {
      if (i + 1 < ripple_end)
        byte = ~byte & 0xFF;  // above the carry: inverted
      else if (i + 1 == ripple_end)
        byte = (~byte + 1) & 0xFF;  // the byte that absorbs +1
      else
        byte = 0;  // 0x00 -> 0xFF + carry -> 0x00
    }
    uint64_t carry = byte;
    for (auto& limb : limbs) {
      const uint64_t current = static_cast<uint64_t>(limb) * 256 + carry;
      limb = static_cast<uint32_t>(current % kLimbBase);
      carry = current / kLimbBase;
    }
    while (carry != 0) {
      limbs.push_back(static_cast<uint32_t>(carry % kLimbBase));
      carry /= kLimbBase;
    }
  }
  while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  if (limbs.empty()) {
    out.digits = "0";
    out.negative = false;
    return true;
  }
  out.digits.clear();
  out.digits.reserve(limbs.size() * 9);
  std::array<char, 16> text{};
  auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), limbs.back());
  out.digits.append(text.data(), end);
  for (size_t i = limbs.size() - 1; i-- > 0;) {
    auto [limb_end, limb_ec] = std::to_chars(text.data(), text.data() + text.size(), limbs[i]);
    out.digits.append(9 - static_cast<size_t>(limb_end - text.data()), '0');
    out.digits.append(text.data(), limb_end);
  }
  out.negative = negative;
  return true;
}

Timestamp timestamp_from_units(int64_t count, int64_t units_per_second) {
  // Division and remainder separately, so INT64_MIN does not overflow.
  int64_t seconds = count / units_per_second;
  int64_t remainder = count % units_per_second;
  if (remainder < 0) {
    remainder += units_per_second;
    --seconds;
  }
  return Timestamp{seconds, static_cast<int32_t>(remainder * (kNanosPerSecond / units_per_second))};
}

int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  // Inverse of the era arithmetic in core/value.cpp: years start on March 1st so the
  // leap day ends the year, and 400-year eras have exactly 146097 days.
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;  // [0, 399]
  const int64_t day_of_year =
      (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146'097 + day_of_era - 719'468;
}

std::optional<Timestamp> parse_zoned_timestamp(std::string_view text) {
  Cursor in(text);
  int sign = 1;
  bool signed_year = false;
  if (in.take('+'))
    signed_year = true;
  else if (in.take('-'))
    sign = -1, signed_year = true;
  int64_t year = 0, month = 0, day = 0;
  const int year_digits = in.variable(4, 10, year);
  if (year_digits == 0) return std::nullopt;
  if (year_digits > 4 && !signed_year) return std::nullopt;  // java.time signs years beyond 9999
  year *= sign;
  if (!in.take('-') || !in.fixed(2, month) || !in.take('-') || !in.fixed(2, day)) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }
  if (!in.take('T')) return std::nullopt;
  int64_t nanos_of_day = 0, offset = 0;
  if (!parse_local_time(in, nanos_of_day) || !parse_offset(in, offset)) return std::nullopt;
  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  Timestamp instant;
  instant.seconds = days * kSecondsPerDay + nanos_of_day / kNanosPerSecond - offset;
  instant.nanos = static_cast<int32_t>(nanos_of_day % kNanosPerSecond);
  return instant;
}

std::optional<TimeOfDay> parse_zoned_time(std::string_view text) {
  Cursor in(text);
  int64_t nanos_of_day = 0, offset = 0;
  if (!parse_local_time(in, nanos_of_day) || !parse_offset(in, offset)) return std::nullopt;
  constexpr int64_t kNanosPerDay = kSecondsPerDay * kNanosPerSecond;
  int64_t utc = (nanos_of_day - offset * kNanosPerSecond) % kNanosPerDay;
  if (utc < 0) utc += kNanosPerDay;
  TimeOfDay time;
  time.nanos = utc;
  return time;
}

}  // namespace metersync::debezium::wire
