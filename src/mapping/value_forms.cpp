#include "mapping/value_forms.hpp"

#include <charconv>

#include "mapping/decimal_math.hpp"

namespace metersync::mapping {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char lower_hex(char c) { return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string dashed(std::string_view hex32) {
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(lower_hex(hex32[i]));
  }
  return out;
}

// Reads exactly `width` digits at `pos`.
bool read_number(std::string_view text, size_t pos, size_t width, int64_t& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

bool valid_civil(int64_t year, int64_t month, int64_t day) {
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// "YYYY-MM-DD" at the start of text -> days; false when malformed.
bool read_date(std::string_view text, int64_t& days) {
  int64_t year = 0, month = 0, day = 0;
  if (!read_number(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !read_number(text, 5, 2, month) || text[7] != '-' || !read_number(text, 8, 2, day) ||
      !valid_civil(year, month, day))
    return false;
  days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

constexpr int64_t kMinSqlDay = -719'162;   // 0001-01-01
constexpr int64_t kEndSqlDay = 2'932'897;  // 10000-01-01

}  // namespace

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Proleptic Gregorian civil date -> days since 1970-01-01, in 400-year eras with
// years starting on March 1st (the leap day last).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146'097 + day_of_era - 719'468;
}

std::string_view type_name(const Value& value) {
  static constexpr std::string_view kNames[] = {
      "NULL", "boolean",   "integer", "floating-point", "text", "decimal",
      "date", "timestamp", "time",    "bytes",          "JSON", "unavailable placeholder"};
  return kNames[value.index()];
}

std::expected<size_t, std::string> utf8_length(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = lead < 0x80           ? 1
                    : (lead >> 5) == 0x6  ? 2
                    : (lead >> 4) == 0xE  ? 3
                    : (lead >> 3) == 0x1E ? 4
                                          : 0;
    if (length == 0 || i + length > text.size())
      return std::unexpected("text is not valid UTF-8 at byte " + std::to_string(i));
    uint32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80)
        return std::unexpected("text is not valid UTF-8 at byte " + std::to_string(i));
      code_point = (code_point << 6) | (next & 0x3F);
    }
    // Overlong forms and surrogates are not valid UTF-8 either.
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF))
      return std::unexpected("text is not valid UTF-8 at byte " + std::to_string(i));
    i += length;
  }
  return count;
}

std::expected<std::string, std::string> canonical_uuid(const Value& value) {
  if (const auto* bytes = std::get_if<Bytes>(&value)) {
    if (bytes->data.size() != 16)
      return std::unexpected("a UUID has 16 bytes, this value has " +
                             std::to_string(bytes->data.size()));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : bytes->data) {
      hex.push_back(kHex[c >> 4]);
      hex.push_back(kHex[c & 0xF]);
    }
    return dashed(hex);
  }
  const auto* text = std::get_if<std::string>(&value);
  if (text == nullptr)
    return std::unexpected("text: uuid takes text or 16 bytes, got " +
                           std::string(type_name(value)));
  std::string hex;
  hex.reserve(32);
  bool shape = text->size() == 32 || text->size() == 36;
  for (size_t i = 0; shape && i < text->size(); ++i) {
    const char c = (*text)[i];
    if (text->size() == 36 && (i == 8 || i == 13 || i == 18 || i == 23))
      shape = c == '-';
    else if (is_hex(c))
      hex.push_back(c);
    else
      shape = false;
  }
  if (!shape || hex.size() != 32) return std::unexpected("'" + *text + "' is not a UUID");
  return dashed(hex);
}

std::optional<std::string> code_text(const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&value)) return std::string(*b ? "true" : "false");
  if (const auto* d = std::get_if<Decimal>(&value)) return canonical_text(*d);
  if (const auto* date = std::get_if<Date>(&value)) return date->to_iso();
  return std::nullopt;
}

std::optional<int32_t> parse_utc_offset(std::string_view text) {
  if (text == "UTC" || text == "Z") return 0;
  int64_t hours = 0, minutes = 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':' ||
      !read_number(text, 1, 2, hours) || !read_number(text, 4, 2, minutes) || minutes > 59 ||
      hours * 60 + minutes > int64_t{18} * 60)
    return std::nullopt;
  const auto seconds = static_cast<int32_t>((hours * 60 + minutes) * 60);
  return text[0] == '-' ? -seconds : seconds;
}

std::expected<Date, std::string> parse_iso_date(std::string_view text) {
  int64_t days = 0;
  if (text.size() != 10 || !read_date(text, days))
    return std::unexpected("'" + std::string(text) + "' is not a date YYYY-MM-DD");
  return Date{static_cast<int32_t>(days)};
}

std::expected<Timestamp, std::string> parse_iso_timestamp(std::string_view text,
                                                          int32_t default_offset) {
  const auto bad = [&] {
    return std::unexpected("'" + std::string(text) + "' is not an ISO 8601 timestamp");
  };
  int64_t days = 0, hour = 0, minute = 0, second = 0;
  if (!read_date(text, days) || text.size() < 19 || (text[10] != 'T' && text[10] != ' ') ||
      !read_number(text, 11, 2, hour) || text[13] != ':' || !read_number(text, 14, 2, minute) ||
      text[16] != ':' || !read_number(text, 17, 2, second) || hour > 23 || minute > 59 ||
      second > 59)
    return bad();
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t digits = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (digits >= 9)
        return std::unexpected("'" + std::string(text) + "' has more than 9 fractional digits");
      nanos = nanos * 10 + (text[pos] - '0');
    }
    if (digits == 0) return bad();
    for (size_t d = digits; d < 9; ++d) nanos *= 10;
  }
  int64_t offset = default_offset;
  const std::string_view zone = text.substr(pos);
  if (zone == "Z") {
    offset = 0;
  } else if (!zone.empty()) {
    int64_t oh = 0, om = 0;
    const bool sign = zone[0] == '+' || zone[0] == '-';
    const bool ok =
        sign && read_number(zone, 1, 2, oh) &&
        (zone.size() == 3 || (zone.size() == 6 && zone[3] == ':' && read_number(zone, 4, 2, om)) ||
         (zone.size() == 5 && read_number(zone, 3, 2, om)));
    if (!ok || om > 59) return bad();
    offset = (zone[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  return Timestamp{days * 86'400 + hour * 3600 + minute * 60 + second - offset,
                   static_cast<int32_t>(nanos)};
}

bool in_sql_range(const Date& date) { return date.days >= kMinSqlDay && date.days < kEndSqlDay; }

bool in_sql_range(const Timestamp& timestamp) {
  const int64_t day = floor_div(timestamp.seconds, 86'400);
  return day >= kMinSqlDay && day < kEndSqlDay;
}

}  // namespace metersync::mapping
