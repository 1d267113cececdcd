#include "debezium/wire_values.hpp"

#include <gtest/gtest.h>

#include <climits>

namespace metersync::debezium::wire {
namespace {

std::string bytes_of(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  std::string out;
  ASSERT_TRUE(base64_decode("AQID", out));
  EXPECT_EQ(out, bytes_of({1, 2, 3}));
  ASSERT_TRUE(base64_decode("AQ==", out));
  EXPECT_EQ(out, bytes_of({1}));
  ASSERT_TRUE(base64_decode("AQ", out));
  EXPECT_EQ(out, bytes_of({1}));
  ASSERT_TRUE(base64_decode("//8=", out));
  EXPECT_EQ(out, bytes_of({0xFF, 0xFF}));
  ASSERT_TRUE(base64_decode("", out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(base64_decode("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==", out));
  EXPECT_EQ(out, "__debezium_unavailable_value");
}

TEST(Base64, RejectsForeignCharactersAndImpossibleLengths) {
  std::string out;
  for (const char* bad : {"A", "AQ=A", "A*==", "AQ ID", "AQ\nID", "-_8=", "AQIDB"}) {
    EXPECT_FALSE(base64_decode(bad, out)) << bad;
  }
}

Decimal decimal(const std::string& bytes, int32_t scale) {
  std::vector<uint32_t> limbs;
  Decimal out;
  EXPECT_TRUE(decimal_from_unscaled(bytes, scale, limbs, out));
  return out;
}

TEST(UnscaledDecimal, SmallValuesAndSigns) {
  EXPECT_EQ(decimal(bytes_of({0x27, 0x10}), 4), (Decimal{false, "10000", 4}));
  EXPECT_EQ(decimal(bytes_of({0x00}), 2), (Decimal{false, "0", 2}));
  EXPECT_EQ(decimal(bytes_of({0xFF}), 2), (Decimal{true, "1", 2}));
  EXPECT_EQ(decimal(bytes_of({0x80}), 0), (Decimal{true, "128", 0}));
  EXPECT_EQ(decimal(bytes_of({0x00, 0x80}), 0), (Decimal{false, "128", 0}));
  EXPECT_EQ(decimal(bytes_of({0xFF, 0x7F}), 0), (Decimal{true, "129", 0}));
  EXPECT_EQ(decimal(bytes_of({0x80, 0, 0, 0, 0, 0, 0, 0}), 0),
            (Decimal{true, "9223372036854775808", 0}));
  EXPECT_EQ(decimal(bytes_of({0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), 0),
            (Decimal{false, "9223372036854775807", 0}));
}

TEST(UnscaledDecimal, WiderThanSixtyFourBits) {
  // 2^64 and 2^128, positive and negative, as BigInteger#toByteArray writes them.
  EXPECT_EQ(decimal(bytes_of({0x01, 0, 0, 0, 0, 0, 0, 0, 0}), 0),
            (Decimal{false, "18446744073709551616", 0}));
  EXPECT_EQ(decimal(bytes_of({0xFF, 0, 0, 0, 0, 0, 0, 0, 0}), 0),
            (Decimal{true, "18446744073709551616", 0}));
  std::string two_to_128 = bytes_of({0x01});
  two_to_128.append(16, '\0');
  EXPECT_EQ(decimal(two_to_128, 3), (Decimal{false, "340282366920938463463374607431768211456", 3}));
  std::string minus_two_to_128 = bytes_of({0xFF});
  minus_two_to_128.append(16, '\0');
  EXPECT_EQ(decimal(minus_two_to_128, 0),
            (Decimal{true, "340282366920938463463374607431768211456", 0}));
  // Non-minimal encodings still decode: nine bytes of -1, and -256.
  EXPECT_EQ(decimal(std::string(9, '\xFF'), 0), (Decimal{true, "1", 0}));
  std::string minus_256(8, '\xFF');
  minus_256.push_back('\0');
  EXPECT_EQ(decimal(minus_256, 0), (Decimal{true, "256", 0}));
  // A limb boundary: 10^18 needs 60 bits, 10^27 needs 90.
  EXPECT_EQ(
      decimal(bytes_of({0x03, 0x3B, 0x2E, 0x3C, 0x9F, 0xD0, 0x80, 0x3C, 0xE8, 0x00, 0x00, 0x00}),
              0),
      (Decimal{false, "1000000000000000000000000000", 0}));
  // Zero padded to many bytes stays canonical.
  EXPECT_EQ(decimal(std::string(20, '\0'), 5), (Decimal{false, "0", 5}));
}

TEST(UnscaledDecimal, EmptyBytesAreRejected) {
  std::vector<uint32_t> limbs;
  Decimal out;
  EXPECT_FALSE(decimal_from_unscaled("", 0, limbs, out));
}

TEST(TimestampUnits, FloorsTowardsNegativeInfinity) {
  EXPECT_EQ(timestamp_from_units(-1, 1'000), (Timestamp{-1, 999'000'000}));
  EXPECT_EQ(timestamp_from_units(-1'000, 1'000), (Timestamp{-1, 0}));
  EXPECT_EQ(timestamp_from_units(-1'001, 1'000), (Timestamp{-2, 999'000'000}));
  EXPECT_EQ(timestamp_from_units(1'764'000'000'123'456, 1'000'000),
            (Timestamp{1'764'000'000, 123'456'000}));
  EXPECT_EQ(timestamp_from_units(1, 1'000'000'000), (Timestamp{0, 1}));
  EXPECT_EQ(timestamp_from_units(INT64_MIN, 1'000'000'000),
            (Timestamp{-9'223'372'037, 145'224'192}));
  EXPECT_EQ(timestamp_from_units(INT64_MAX, 1'000'000'000),
            (Timestamp{9'223'372'036, 854'775'807}));
}

Timestamp zoned(std::string_view text) {
  std::optional<Timestamp> parsed = parse_zoned_timestamp(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(Timestamp{});
}

TEST(ZonedTimestamp, ParsesOffsetsIntoUtc) {
  EXPECT_EQ(zoned("2026-11-24T13:45:00Z"), (Timestamp{1'795'527'900, 0}));
  EXPECT_EQ(zoned("2026-11-24T13:45:00.123456Z"), (Timestamp{1'795'527'900, 123'456'000}));
  EXPECT_EQ(zoned("2026-11-24T13:45:00.1+02:00"), (Timestamp{1'795'520'700, 100'000'000}));
  EXPECT_EQ(zoned("2026-11-24T13:45:00.5-05:30"), (Timestamp{1'795'547'700, 500'000'000}));
  EXPECT_EQ(zoned("2026-11-24T13:45Z"), (Timestamp{1'795'527'900, 0}));
  EXPECT_EQ(zoned("2026-11-24T13:45:00.123456789Z"), (Timestamp{1'795'527'900, 123'456'789}));
  EXPECT_EQ(zoned("1969-12-31T23:59:59.999999999Z"), (Timestamp{-1, 999'999'999}));
  EXPECT_EQ(zoned("9999-12-31T23:59:59.999999Z"), (Timestamp{253'402'300'799, 999'999'000}));
  EXPECT_EQ(zoned("+10000-01-01T00:00:00Z"), (Timestamp{253'402'300'800, 0}));
  EXPECT_EQ(zoned("2024-02-29T00:00:00Z"), (Timestamp{1'709'164'800, 0}));
  EXPECT_EQ(zoned("0001-01-01T00:00:00Z"), (Timestamp{-62'135'596'800, 0}));
}

TEST(ZonedTimestamp, RejectsMalformedText) {
  for (const char* bad :
       {"", "infinity", "-infinity", "2026-11-24T13:45:00", "2026-11-24 13:45:00Z",
        "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T13:60:00Z", "10000-01-01T00:00:00Z",
        "2026-11-24T13:45:00.Z", "2026-11-24T13:45:00.1234567890Z", "2026-11-24T13:45:00Zjunk",
        "2026-11-24T13:45:00+25:00", "26-11-24T13:45:00Z"}) {
    EXPECT_FALSE(parse_zoned_timestamp(bad)) << bad;
  }
}

TEST(ZonedTime, NormalisesToUtcWithinTheDay) {
  EXPECT_EQ(parse_zoned_time("13:45:00.123Z").value().nanos, 49'500'123'000'000);
  EXPECT_EQ(parse_zoned_time("01:00:00+02:00").value().nanos, 82'800'000'000'000);  // 23:00 the previous day
  EXPECT_EQ(parse_zoned_time("23:30:00-01:00").value().nanos, 1'800'000'000'000);  // 00:30 the next day
  EXPECT_FALSE(parse_zoned_time("25:00:00Z"));
  EXPECT_FALSE(parse_zoned_time("13:45:00"));
}

TEST(DaysFromCivil, AgreesWithDateToIsoOverFourHundredYearsAndMore) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(9999, 12, 31), 2'932'896);
  EXPECT_EQ(days_from_civil(1, 1, 1), -719'162);
  // Round trip through core's Date::to_iso for every day from 1600 to 2400.
  for (int64_t day = days_from_civil(1600, 1, 1); day <= days_from_civil(2400, 12, 31); ++day) {
    const std::string iso = Date{static_cast<int32_t>(day)}.to_iso();
    const int64_t year = std::stoll(iso.substr(0, 4));
    const auto month = static_cast<unsigned>(std::stoul(iso.substr(5, 2)));
    const auto dom = static_cast<unsigned>(std::stoul(iso.substr(8, 2)));
    ASSERT_EQ(days_from_civil(year, month, dom), day) << iso;
  }
}

}  // namespace
}  // namespace metersync::debezium::wire
