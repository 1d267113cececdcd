#include "core/value.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace metersync {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Days since 1970-01-01 to a proleptic Gregorian date, exact for every int64 day count
// a Timestamp can produce. Works in 400-year eras (146097 days), shifting the year to
// start on March 1st so the leap day is the era's last day.
CivilDate civil_from_days(int64_t days) {
  days += 719'468;  // 0000-03-01 to 1970-01-01
  const int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const int64_t day_of_era = days - era * 146'097;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) /
      365;  // [0, 399]
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
  const int64_t month_index = (5 * day_of_year + 2) / 153;                     // [0, 11], March = 0
  const auto day = static_cast<unsigned>(day_of_year - (153 * month_index + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(month_index < 10 ? month_index + 3 : month_index - 9);
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

void append_padded(std::string& out, uint64_t value, int width) {
  std::array<char, 24> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  const int length = static_cast<int>(end - buffer.data());
  for (int i = length; i < width; ++i) out.push_back('0');
  out.append(buffer.data(), end);
}

// ISO 8601 years: four digits for 0000..9999, otherwise a sign and at least four digits
// (as java.time prints them), so a year-10000 or year -1 value is never ambiguous.
void append_year(std::string& out, int64_t year) {
  if (year < 0) {
    out.push_back('-');
    append_padded(out, static_cast<uint64_t>(-year), 4);
  } else {
    if (year > 9999) out.push_back('+');
    append_padded(out, static_cast<uint64_t>(year), 4);
  }
}

void append_date(std::string& out, int64_t days) {
  const CivilDate date = civil_from_days(days);
  append_year(out, date.year);
  out.push_back('-');
  append_padded(out, date.month, 2);
  out.push_back('-');
  append_padded(out, date.day, 2);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string Decimal::to_string() const {
  std::string out;
  out.reserve(digits.size() + 4 + (scale > 0 ? static_cast<size_t>(scale) : 0));
  if (negative && digits != "0") out.push_back('-');
  if (scale <= 0) {
    out += digits;
    // A negative scale multiplies by a power of ten: write the trailing zeros out.
    if (digits != "0") out.append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
    return out;
  }
  const auto fraction = static_cast<size_t>(scale);
  if (digits.size() <= fraction) {
    out += "0.";
    out.append(fraction - digits.size(), '0');
    out += digits;
  } else {
    const size_t integer_digits = digits.size() - fraction;
    out.append(digits, 0, integer_digits);
    out.push_back('.');
    out.append(digits, integer_digits, std::string::npos);
  }
  return out;
}

std::expected<Decimal, std::string> Decimal::parse(std::string_view text) {
  // Exponents beyond this are not meter data; refusing them keeps digit strings small.
  constexpr int64_t kMaxExponent = 400;
  const std::string original(text);
  auto malformed = [&] { return std::unexpected("'" + original + "' is not a number"); };
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::string digits;
  int64_t fraction_digits = 0;
  bool seen_dot = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (is_digit(c)) {
      digits.push_back(c);
      if (seen_dot) ++fraction_digits;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (digits.empty()) return malformed();
  int64_t exponent = 0;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return malformed();
    std::string_view rest = text.substr(i + 1);
    if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), exponent);
    if (ec != std::errc{} || end != rest.data() + rest.size() || rest.empty()) return malformed();
    if (exponent > kMaxExponent || exponent < -kMaxExponent)
      return std::unexpected("'" + original + "' is out of any column's range");
  }
  int64_t scale = fraction_digits - exponent;
  if (scale < 0) {
    digits.append(static_cast<size_t>(-scale), '0');
    scale = 0;
  }
  // Digits written out are already in memory (a Debezium decimal can have 1,000); only the
  // exponent, which could ask for any number of zeros, is bounded.
  if (scale > INT32_MAX) return std::unexpected("'" + original + "' has too many decimal places");
  const size_t first_nonzero = digits.find_first_not_of('0');
  if (first_nonzero == std::string::npos) {
    digits = "0";
  } else {
    digits.erase(0, first_nonzero);
  }
  Decimal out;
  out.negative = negative && digits != "0";  // canonical zero is never negative
  out.digits = std::move(digits);
  out.scale = static_cast<int32_t>(scale);
  return out;
}

std::string Date::to_iso() const {
  std::string out;
  out.reserve(10);
  append_date(out, days);
  return out;
}

std::string Timestamp::to_iso(int digits) const {
  if (digits < 0) digits = 0;
  if (digits > 9) digits = 9;
  // Quotient and remainder separately: days * 86400 could overflow near INT64_MIN.
  int64_t days = seconds / kSecondsPerDay;
  int64_t second_of_day = seconds % kSecondsPerDay;
  if (second_of_day < 0) {
    second_of_day += kSecondsPerDay;
    --days;
  }
  std::string out;
  out.reserve(32);
  append_date(out, days);
  out.push_back('T');
  append_padded(out, static_cast<uint64_t>(second_of_day / 3600), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(second_of_day / 60 % 60), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(second_of_day % 60), 2);
  if (digits > 0) {
    // Truncates (never rounds) so a printed instant is never later than the real one.
    uint64_t fraction = static_cast<uint64_t>(nanos);
    for (int i = digits; i < 9; ++i) fraction /= 10;
    out.push_back('.');
    append_padded(out, fraction, digits);
  }
  out.push_back('Z');
  return out;
}

std::string TimeOfDay::to_iso() const {
  // MySQL TIME spans -838:59:59..838:59:59, so hours may exceed 23 and the value may be
  // negative; both are printed rather than wrapped.
  std::string out;
  out.reserve(20);
  uint64_t magnitude = nanos < 0 ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  if (nanos < 0) out.push_back('-');
  const uint64_t total_seconds = magnitude / kNanosPerSecond;
  const uint64_t fraction = magnitude % kNanosPerSecond;
  append_padded(out, total_seconds / 3600, 2);
  out.push_back(':');
  append_padded(out, total_seconds / 60 % 60, 2);
  out.push_back(':');
  append_padded(out, total_seconds % 60, 2);
  out.push_back('.');
  if (fraction % 1000 == 0) {
    append_padded(out, fraction / 1000, 6);
  } else {
    append_padded(out, fraction, 9);
  }
  return out;
}

}  // namespace metersync
