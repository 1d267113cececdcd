// Exact decimal arithmetic on core's Decimal (digit strings): the few operations the
// mapping rules need, with no binary floating point in between.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "core/value.hpp"

namespace metersync::mapping {

// Same value, scale >= 0 (a negative scale is written out as trailing zeros).
Decimal normalized(Decimal value);

// Rounds half away from zero to exactly `places` fractional digits (pads with zeros
// when the value has fewer): 2.0005 -> 2.001, -2.0005 -> -2.001, -0.0004 -> 0.000.
Decimal round_half_away(const Decimal& value, int places);

// The value with exactly `scale` fractional digits when that is exact and it fits
// DECIMAL(precision, scale); otherwise the reason ("12.34567 has 5 decimal places, ...").
std::expected<Decimal, std::string> fit_decimal(const Decimal& value, int precision, int scale);

// The double's shortest round-trip decimal text (std::to_chars), as a Decimal: the
// value a person reads for it, e.g. 2.0005 and not 2.000499999999999989...
std::expected<Decimal, std::string> decimal_from_double(double value);

Decimal decimal_from_int(int64_t value);

// Plain decimal text without exponent or trailing fraction zeros: "42", "-1.5", "0".
std::string canonical_text(const Decimal& value);

}  // namespace metersync::mapping
