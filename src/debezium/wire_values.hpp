// The wire encodings of Debezium's JSON converter output, one function each: base64
// bytes, two's complement unscaled decimals, epoch-based times, ISO zoned text.
// Pure functions on caller-owned buffers, so the decoder can reuse its scratch space.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.hpp"

namespace metersync::debezium::wire {

// RFC 4648 standard alphabet (what Jackson writes for byte[]); padding optional, no
// whitespace. Replaces `out`. False on any other character or an impossible length.
bool base64_decode(std::string_view text, std::string& out);

// A big-endian two's complement integer (java.math.BigInteger#toByteArray, any length)
// with `scale` into a canonical Decimal. `limbs` is scratch. False when `bytes` is empty.
bool decimal_from_unscaled(std::string_view bytes, int32_t scale, std::vector<uint32_t>& limbs,
                           Decimal& out);

// `count` units since the epoch (units_per_second 1'000, 1'000'000 or 1'000'000'000),
// negative before 1970, into seconds + non-negative nanos.
Timestamp timestamp_from_units(int64_t count, int64_t units_per_second);

// java.time ISO_OFFSET_DATE_TIME text ("2026-11-24T13:45:00.123456+02:00", "...Z",
// years beyond 9999 as "+10000-...") into the UTC instant; nullopt if malformed.
std::optional<Timestamp> parse_zoned_timestamp(std::string_view text);

// ISO_OFFSET_TIME text ("13:45:00.5Z", "13:45:00+02:00") into the UTC time of day
// (wrapped into 00:00..24:00); nullopt if malformed.
std::optional<TimeOfDay> parse_zoned_time(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

}  // namespace metersync::debezium::wire
