#include "core/value.hpp"

#include <gtest/gtest.h>

#include "core/change_event.hpp"

namespace metersync {
namespace {

Decimal dec(bool negative, std::string digits, int32_t scale) {
  return Decimal{negative, std::move(digits), scale};
}

TEST(DecimalToString, WritesExactlyScaleFractionDigits) {
  EXPECT_EQ(dec(false, "123", 0).to_string(), "123");
  EXPECT_EQ(dec(true, "12340", 3).to_string(), "-12.340");
  EXPECT_EQ(dec(false, "1", 3).to_string(), "0.001");
  EXPECT_EQ(dec(true, "1", 3).to_string(), "-0.001");
  EXPECT_EQ(dec(false, "0", 4).to_string(), "0.0000");
  EXPECT_EQ(dec(false, "10000", 4).to_string(), "1.0000");
  EXPECT_EQ(dec(false, "123", 3).to_string(), "0.123");
}

TEST(DecimalToString, NegativeScaleAppendsZeros) {
  EXPECT_EQ(dec(false, "12", -3).to_string(), "12000");
  EXPECT_EQ(dec(true, "5", -1).to_string(), "-50");
  EXPECT_EQ(dec(false, "0", -2).to_string(), "0");
}

TEST(DecimalToString, HugeValuesKeepEveryDigit) {
  const std::string digits(60, '9');
  EXPECT_EQ(dec(true, digits, 20).to_string(),
            "-" + std::string(40, '9') + "." + std::string(20, '9'));
}

TEST(DecimalParse, AcceptsPlainDecimalText) {
  EXPECT_EQ(Decimal::parse("-12.340"), dec(true, "12340", 3));
  EXPECT_EQ(Decimal::parse("0.001"), dec(false, "1", 3));
  EXPECT_EQ(Decimal::parse("+007"), dec(false, "7", 0));
  EXPECT_EQ(Decimal::parse("123456789012345678901234567890.5"),
            dec(false, "1234567890123456789012345678905", 1));
  EXPECT_EQ(Decimal::parse("1."), dec(false, "1", 0));
  EXPECT_EQ(Decimal::parse(".5"), dec(false, "5", 1));
}

// One grammar for every number kept as text: what a DECIMAL column stores, round: reads.
TEST(DecimalParse, AcceptsExponents) {
  EXPECT_EQ(Decimal::parse("1e3"), dec(false, "1000", 0));
  EXPECT_EQ(Decimal::parse("1.5e-3"), dec(false, "15", 4));
  EXPECT_EQ(Decimal::parse("-12E+2"), dec(true, "1200", 0));
  EXPECT_FALSE(Decimal::parse("1e99999"));
  EXPECT_FALSE(Decimal::parse("1e401"));
  // Written-out digits are not bounded by the exponent's range.
  const std::string long_fraction = "1." + std::string(999, '0');
  ASSERT_TRUE(Decimal::parse(long_fraction));
  EXPECT_EQ(Decimal::parse(long_fraction)->scale, 999);
}

TEST(DecimalParse, ZeroIsCanonicalAndNeverNegative) {
  auto d = Decimal::parse("-0.000");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, dec(false, "0", 3));
  EXPECT_EQ(d->to_string(), "0.000");
}

TEST(DecimalParse, RejectsMalformedText) {
  for (const char* bad :
       {"", "-", ".", "e5", "1.2.3", "12a", " 1", "1 ", "--1", "0x10", "1,5", "1e", "1e+"}) {
    EXPECT_FALSE(Decimal::parse(bad)) << bad;
  }
  EXPECT_EQ(Decimal::parse("12a").error(), "'12a' is not a number");
}

TEST(DecimalParse, RoundTripsThroughToString) {
  for (const char* text : {"-12.340", "0.001", "123", "-99999.999999", "1.0000"}) {
    auto d = Decimal::parse(text);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(d->to_string(), text);
  }
}

TEST(DateToIso, EpochNeighboursAndCalendarEdges) {
  EXPECT_EQ(Date{0}.to_iso(), "1970-01-01");
  EXPECT_EQ(Date{-1}.to_iso(), "1969-12-31");
  EXPECT_EQ(Date{20781}.to_iso(), "2026-11-24");
  EXPECT_EQ(Date{11016}.to_iso(), "2000-02-29");
  EXPECT_EQ(Date{-135081}.to_iso(), "1600-02-29");
  EXPECT_EQ(Date{-25508}.to_iso(), "1900-03-01");
  EXPECT_EQ(Date{-719162}.to_iso(), "0001-01-01");
  EXPECT_EQ(Date{2932896}.to_iso(), "9999-12-31");
}

TEST(DateToIso, YearsOutsideFourDigitsCarryASign) {
  EXPECT_EQ(Date{2932897}.to_iso(), "+10000-01-01");
  EXPECT_EQ(Date{-719163}.to_iso(), "0000-12-31");
  EXPECT_EQ(Date{-719529}.to_iso(), "-0001-12-31");
}

TEST(TimestampToIso, FractionDigitsTruncate) {
  const Timestamp t{1'764'000'000, 123'456'789};
  EXPECT_EQ(t.to_iso(0), "2025-11-24T16:00:00Z");
  EXPECT_EQ(t.to_iso(3), "2025-11-24T16:00:00.123Z");
  EXPECT_EQ(t.to_iso(), "2025-11-24T16:00:00.123456Z");
  EXPECT_EQ(t.to_iso(9), "2025-11-24T16:00:00.123456789Z");
}

TEST(TimestampToIso, PreEpochUsesNegativeSecondsAndPositiveNanos) {
  EXPECT_EQ((Timestamp{-1, 999'999'000}.to_iso()), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ((Timestamp{-2'147'483'648, 123'456'000}.to_iso()), "1901-12-13T20:45:52.123456Z");
  EXPECT_EQ((Timestamp{-86'400, 0}.to_iso(0)), "1969-12-31T00:00:00Z");
}

TEST(TimestampToIso, YearNineThousandNineHundredNinetyNine) {
  EXPECT_EQ((Timestamp{253'402'300'799, 999'999'900}.to_iso(9)), "9999-12-31T23:59:59.999999900Z");
  EXPECT_EQ((Timestamp{253'402'300'800, 0}.to_iso(0)), "+10000-01-01T00:00:00Z");
}

TEST(TimestampToIso, TheWholeInt64SecondRange) {
  // The extremes of 64-bit Unix seconds, as other calendars (e.g. Go's time.Unix) print them.
  EXPECT_EQ((Timestamp{INT64_MIN, 0}.to_iso(0)), "-292277022657-01-27T08:29:52Z");
  EXPECT_EQ((Timestamp{INT64_MAX, 999'999'999}.to_iso(0)), "+292277026596-12-04T15:30:07Z");
}

TEST(TimestampOrder, ComparesSecondsThenNanos) {
  EXPECT_LT((Timestamp{-1, 999'999'999}), (Timestamp{0, 0}));
  EXPECT_LT((Timestamp{5, 1}), (Timestamp{5, 2}));
}

TEST(TimeOfDayToIso, MicrosecondsOrNanoseconds) {
  EXPECT_EQ(TimeOfDay{0}.to_iso(), "00:00:00.000000");
  EXPECT_EQ(TimeOfDay{(13 * 3600 + 45 * 60) * 1'000'000'000LL + 123'456'000}.to_iso(),
            "13:45:00.123456");
  EXPECT_EQ(TimeOfDay{86'399'999'999'999LL}.to_iso(), "23:59:59.999999999");
}

TEST(TimeOfDayToIso, MySqlTimeRangeIsNotWrapped) {
  EXPECT_EQ(TimeOfDay{(838LL * 3600 + 59 * 60 + 59) * 1'000'000'000LL}.to_iso(),
            "838:59:59.000000");
  EXPECT_EQ(TimeOfDay{-(12LL * 3600) * 1'000'000'000LL - 500'000}.to_iso(), "-12:00:00.000500");
}

TEST(OpName, NamesEveryOp) {
  EXPECT_EQ(op_name(Op::Create), "create");
  EXPECT_EQ(op_name(Op::Update), "update");
  EXPECT_EQ(op_name(Op::Delete), "delete");
  EXPECT_EQ(op_name(Op::Read), "snapshot");
  EXPECT_EQ(op_name(Op::Truncate), "truncate");
}

TEST(RowFind, DistinguishesAbsentFromNull) {
  Row row;
  row.columns.emplace_back("id", Value{int64_t{7}});
  row.columns.emplace_back("maker", Value{Null{}});
  ASSERT_NE(row.find("id"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*row.find("id")), 7);
  ASSERT_NE(row.find("maker"), nullptr);
  EXPECT_TRUE(is_null(*row.find("maker")));
  EXPECT_EQ(row.find("missing"), nullptr);
  EXPECT_EQ(row.find("ID"), nullptr);  // column names are case-sensitive
}

TEST(PositionOrder, ComparesAsBytes) {
  EXPECT_LT((Position{"00000000/FFFFFFFF"}), (Position{"00000001/00000000"}));
}

}  // namespace
}  // namespace metersync
