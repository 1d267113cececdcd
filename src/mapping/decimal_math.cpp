#include "mapping/decimal_math.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace metersync::mapping {
namespace {

void strip_leading_zeros(std::string& digits) {
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos)
    digits = "0";
  else
    digits.erase(0, first);
}

// Adds one to a string of decimal digits.
void increment(std::string& digits) {
  for (size_t i = digits.size(); i-- > 0;) {
    if (digits[i] != '9') {
      ++digits[i];
      return;
    }
    digits[i] = '0';
  }
  digits.insert(digits.begin(), '1');
}

Decimal make(bool negative, std::string digits, int32_t scale) {
  strip_leading_zeros(digits);
  Decimal out;
  out.digits = std::move(digits);
  out.negative = negative && out.digits != "0";
  out.scale = scale;
  return out;
}

}  // namespace

Decimal normalized(Decimal value) {
  if (value.scale < 0) {
    if (value.digits != "0")
      value.digits.append(static_cast<size_t>(-static_cast<int64_t>(value.scale)), '0');
    value.scale = 0;
  }
  return make(value.negative, std::move(value.digits), value.scale);
}

Decimal round_half_away(const Decimal& input, int places) {
  Decimal value = normalized(input);
  if (value.scale <= places) {
    if (value.digits != "0") value.digits.append(static_cast<size_t>(places - value.scale), '0');
    value.scale = places;
    return value;
  }
  const auto drop = static_cast<size_t>(value.scale - places);
  std::string digits = value.digits;
  if (digits.size() <= drop) digits.insert(0, drop + 1 - digits.size(), '0');
  const char first_dropped = digits[digits.size() - drop];
  digits.resize(digits.size() - drop);
  if (first_dropped >= '5') increment(digits);  // magnitude up: away from zero
  return make(value.negative, std::move(digits), places);
}

std::expected<Decimal, std::string> fit_decimal(const Decimal& input, int precision, int scale) {
  Decimal value = normalized(input);
  if (value.scale > scale) {
    const auto extra = static_cast<size_t>(value.scale - scale);
    const bool exact =
        value.digits == "0" ||
        (value.digits.size() > extra &&
         value.digits.find_first_not_of('0', value.digits.size() - extra) == std::string::npos);
    if (!exact)
      return std::unexpected(value.to_string() + " has " + std::to_string(value.scale) +
                             " decimal places, the column holds " + std::to_string(scale) +
                             "; add `round: " + std::to_string(scale) +
                             "` if rounding is intended");
    if (value.digits != "0") value.digits.resize(value.digits.size() - extra);
    value.scale = scale;
  } else {
    if (value.digits != "0") value.digits.append(static_cast<size_t>(scale - value.scale), '0');
    value.scale = scale;
  }
  const size_t integer_digits =
      value.digits == "0" || value.digits.size() <= static_cast<size_t>(scale)
          ? 0
          : value.digits.size() - scale;
  if (integer_digits > static_cast<size_t>(precision - scale))
    return std::unexpected(value.to_string() + " overflows DECIMAL(" + std::to_string(precision) +
                           "," + std::to_string(scale) + "), which holds " +
                           std::to_string(precision - scale) + " digits before the point");
  return value;
}

std::expected<Decimal, std::string> decimal_from_double(double value) {
  if (!std::isfinite(value))
    return std::unexpected(
        std::string("the floating-point value is not a number (NaN or infinity)"));
  char buffer[64];
  // Scientific form without a precision: the shortest digits that read back as `value`.
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  if (ec != std::errc{})
    return std::unexpected(std::string("the floating-point value cannot be written"));
  return Decimal::parse(std::string_view(buffer, static_cast<size_t>(end - buffer)));
}

Decimal decimal_from_int(int64_t value) {
  const bool negative = value < 0;
  // Magnitude through uint64 so INT64_MIN does not overflow.
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  return make(negative, std::to_string(magnitude), 0);
}

std::string canonical_text(const Decimal& input) {
  Decimal value = normalized(input);
  if (value.scale > 0 && value.digits != "0") {
    const size_t last = value.digits.find_last_not_of('0');
    const size_t zeros = std::min(value.digits.size() - 1 - last, static_cast<size_t>(value.scale));
    value.digits.resize(value.digits.size() - zeros);
    value.scale -= static_cast<int32_t>(zeros);
  } else if (value.digits == "0") {
    value.scale = 0;
  }
  return value.to_string();
}

}  // namespace metersync::mapping
