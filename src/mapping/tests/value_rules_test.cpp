// The exact arithmetic and text forms under the mapping steps.
#include <gtest/gtest.h>

#include <limits>

#include "mapping/decimal_math.hpp"
#include "mapping/json_field.hpp"
#include "mapping/value_forms.hpp"
#include "mapping_fixtures.hpp"

namespace metersync::mapping {
namespace {

using testing::dec;

std::string rounded(std::string_view text, int places) {
  return round_half_away(dec(text), places).to_string();
}

TEST(DecimalMath, RoundsHalfAwayFromZero) {
  EXPECT_EQ(rounded("2.0005", 3), "2.001");
  EXPECT_EQ(rounded("2.00049999", 3), "2.000");
  EXPECT_EQ(rounded("-2.0005", 3), "-2.001");
  EXPECT_EQ(rounded("-0.0004", 3), "0.000");  // no negative zero
  EXPECT_EQ(rounded("9.9995", 3), "10.000");  // carry through every digit
  EXPECT_EQ(rounded("0.5", 0), "1");
  EXPECT_EQ(rounded("-0.5", 0), "-1");
  EXPECT_EQ(rounded("0.05", 0), "0");
  EXPECT_EQ(rounded("12", 2), "12.00");
  EXPECT_EQ(rounded("0.000000000000000000000000000000015", 32),
            "0.00000000000000000000000000000002");
  EXPECT_EQ(rounded("123456789012345678901234567890.5", 0), "123456789012345678901234567891");
  Decimal negative_scale{false, "15", -2};  // 1500
  EXPECT_EQ(round_half_away(negative_scale, 1).to_string(), "1500.0");
}

TEST(DecimalMath, FitsOnlyWhenExact) {
  EXPECT_EQ(fit_decimal(dec("1.5"), 9, 4)->to_string(), "1.5000");
  EXPECT_EQ(fit_decimal(dec("1.50000"), 9, 4)->to_string(), "1.5000");
  EXPECT_EQ(fit_decimal(dec("-99999.9999"), 9, 4)->to_string(), "-99999.9999");
  EXPECT_EQ(fit_decimal(dec("0"), 9, 6)->to_string(), "0.000000");
  EXPECT_FALSE(fit_decimal(dec("100000"), 9, 4));
  EXPECT_FALSE(fit_decimal(dec("1.00001"), 9, 4));
  EXPECT_EQ(fit_decimal(dec("999999999999999.999"), 18, 3)->to_string(), "999999999999999.999");
  EXPECT_FALSE(fit_decimal(dec("1000000000000000"), 18, 3));
}

TEST(DecimalMath, DoublesBecomeTheirShortestDecimalText) {
  EXPECT_EQ(decimal_from_double(2.0005)->to_string(), "2.0005");
  EXPECT_EQ(decimal_from_double(0.1 + 0.2)->to_string(), "0.30000000000000004");
  EXPECT_EQ(decimal_from_double(1e-7)->to_string(), "0.0000001");
  EXPECT_EQ(decimal_from_double(1.5e20)->to_string(), "150000000000000000000");
  EXPECT_EQ(decimal_from_double(-51.5014995)->to_string(), "-51.5014995");
  EXPECT_EQ(decimal_from_double(0.0)->to_string(), "0");
  EXPECT_EQ(decimal_from_double(-0.0)->to_string(), "0");
  EXPECT_FALSE(decimal_from_double(std::numeric_limits<double>::infinity()));
}

TEST(DecimalMath, TextAndIntegers) {
  EXPECT_EQ(Decimal::parse("1.5e-3")->to_string(), "0.0015");
  EXPECT_EQ(Decimal::parse("-12E2")->to_string(), "-1200");
  EXPECT_EQ(Decimal::parse("+007.10")->to_string(), "7.10");
  EXPECT_FALSE(Decimal::parse("1.2.3"));
  EXPECT_FALSE(Decimal::parse("e5"));
  EXPECT_FALSE(Decimal::parse("1e99999"));
  EXPECT_EQ(decimal_from_int(std::numeric_limits<int64_t>::min()).to_string(),
            "-9223372036854775808");
  EXPECT_EQ(canonical_text(dec("42.000")), "42");
  EXPECT_EQ(canonical_text(dec("-0.50")), "-0.5");
  EXPECT_EQ(canonical_text(dec("0.000")), "0");
  EXPECT_EQ(canonical_text(dec("100")), "100");
  EXPECT_EQ(canonical_text(Decimal{false, "42", -3}), "42000");
}

TEST(ValueForms, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("äöü"), 3u);
  EXPECT_EQ(utf8_length("€𝄞"), 2u);  // 3 + 4 bytes
  EXPECT_FALSE(utf8_length("\xC3"));
  EXPECT_FALSE(utf8_length("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(utf8_length("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(utf8_length("\xF4\x90\x80\x80"));  // beyond U+10FFFF
}

TEST(ValueForms, CanonicalUuids) {
  EXPECT_EQ(canonical_uuid(std::string("8F14E45F-CEEA-467F-A0E6-A3BD0BA1C1F4")),
            "8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4");
  EXPECT_EQ(canonical_uuid(std::string("8F14E45FCEEA467FA0E6A3BD0BA1C1F4")),
            "8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4");
  EXPECT_EQ(canonical_uuid(Bytes{std::string(
                "\x8f\x14\xe4\x5f\xce\xea\x46\x7f\xa0\xe6\xa3\xbd\x0b\xa1\xc1\xf4", 16)}),
            "8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4");
  EXPECT_FALSE(canonical_uuid(std::string("8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f")));
  EXPECT_FALSE(canonical_uuid(std::string("8f14e45f_ceea-467f-a0e6-a3bd0ba1c1f4")));
  EXPECT_FALSE(canonical_uuid(std::string("zf14e45f-ceea-467f-a0e6-a3bd0ba1c1f4")));
  EXPECT_FALSE(canonical_uuid(int64_t{5}));
}

TEST(ValueForms, IsoTimesAndOffsets) {
  EXPECT_EQ(parse_utc_offset("UTC"), 0);
  EXPECT_EQ(parse_utc_offset("+05:30"), 19800);
  EXPECT_EQ(parse_utc_offset("-01:00"), -3600);
  EXPECT_EQ(parse_utc_offset("Europe/Berlin"), std::nullopt);
  EXPECT_EQ(parse_utc_offset("+19:00"), std::nullopt);

  EXPECT_EQ(parse_iso_timestamp("1970-01-01T00:00:00Z", 0), (Timestamp{0, 0}));
  EXPECT_EQ(parse_iso_timestamp("1970-01-01T01:00:00.5+01:00", 0), (Timestamp{0, 500000000}));
  EXPECT_EQ(parse_iso_timestamp("1969-12-31 23:59:59.999999999", 0), (Timestamp{-1, 999999999}));
  EXPECT_EQ(parse_iso_timestamp("2000-03-01T00:00:00-0130", 0), (Timestamp{951868800 + 5400, 0}));
  EXPECT_EQ(parse_iso_timestamp("2000-03-01T00:00:00", 3600), (Timestamp{951868800 - 3600, 0}));
  EXPECT_EQ(parse_iso_timestamp("9999-12-31T23:59:59Z", 0), (Timestamp{253402300799, 0}));
  EXPECT_FALSE(parse_iso_timestamp("2000-02-30T00:00:00Z", 0));
  EXPECT_FALSE(parse_iso_timestamp("2000-01-01T24:00:00Z", 0));
  EXPECT_FALSE(parse_iso_timestamp("2000-01-01T00:00:00.1234567890Z", 0));
  EXPECT_FALSE(parse_iso_timestamp("2000-01-01T00:00:00 UTC", 0));
  EXPECT_EQ(parse_iso_date("2000-02-29"), (Date{11016}));
  EXPECT_FALSE(parse_iso_date("1900-02-29"));

  EXPECT_TRUE(in_sql_range(Date{static_cast<int32_t>(days_from_civil(1, 1, 1))}));
  EXPECT_FALSE(in_sql_range(Date{static_cast<int32_t>(days_from_civil(1, 1, 1) - 1)}));
  EXPECT_TRUE(in_sql_range(Timestamp{253402300799, 999999999}));
  EXPECT_FALSE(in_sql_range(Timestamp{253402300800, 0}));
}

TEST(ValueForms, CodesCompareAsText) {
  EXPECT_EQ(code_text(std::string("E")), "E");
  EXPECT_EQ(code_text(int64_t{-3}), "-3");
  EXPECT_EQ(code_text(true), "true");
  EXPECT_EQ(code_text(dec("2.0")), "2");
  EXPECT_EQ(code_text(Date{0}), "1970-01-01");
  EXPECT_EQ(code_text(1.5), std::nullopt);
}

TEST(JsonField, ReadsFieldsExactly) {
  const std::string json =
      R"({"lat": 51.50149999999999999999, "lon": -1e-3, "name": "a\"b", "ok": true,
                               "none": null, "geo": {"alt": 12, "tags": [1, 2]}})";
  EXPECT_EQ(json_field(json, {"lat"}), Value{dec("51.50149999999999999999")});
  EXPECT_EQ(json_field(json, {"lon"}), Value{dec("-0.001")});
  EXPECT_EQ(json_field(json, {"name"}), Value{std::string("a\"b")});
  EXPECT_EQ(json_field(json, {"ok"}), Value{true});
  EXPECT_EQ(json_field(json, {"none"}), Value{Null{}});
  EXPECT_EQ(json_field(json, {"missing"}), Value{Null{}});
  EXPECT_EQ(json_field(json, {"geo", "alt"}), Value{dec("12")});
  EXPECT_EQ(json_field(json, {"geo", "tags"}), Value{Json{"[1, 2]"}});
  EXPECT_EQ(json_field(json, {"geo", "missing"}), Value{Null{}});
  EXPECT_FALSE(json_field(json, {"name", "x"}));  // through a string
  EXPECT_EQ(json_field("null", {"lat"}), Value{Null{}});
  EXPECT_FALSE(json_field("[1]", {"lat"}));
  EXPECT_FALSE(json_field("{\"lat\": ", {"lat"}));
  EXPECT_EQ(json_field(R"({"a/b": 1, "c~d": 2})", {"a/b"}), Value{dec("1")});
  EXPECT_EQ(json_field(R"({"a/b": 1, "c~d": 2})", {"c~d"}), Value{dec("2")});
}

}  // namespace
}  // namespace metersync::mapping
