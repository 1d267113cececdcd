#include "verify/row_digest.hpp"

#include <gtest/gtest.h>

namespace metersync::verify {
namespace {

// Expected values from Python's hashlib, the reference the SQL sides are held to as well.
TEST(RowDigest, DigestTextMarksNullsAndSeparatesColumns) {
  const ComparedRow row{{"abc", std::nullopt, "1.5000"}};
  EXPECT_EQ(digest_text(row), std::string("vabc\x1f" "n\x1f" "v1.5000"));
  EXPECT_NE(digest_text(ComparedRow{{"abc", ""}}), digest_text(ComparedRow{{"abc", std::nullopt}}));
}

TEST(RowDigest, RowHashIsTheFirstSevenBytesOfMd5InTheDatabasesEncoding) {
  const ComparedRow row{{"abc", std::nullopt, "1.5000"}};
  EXPECT_EQ(row_hash(row, Encoding::Utf8), 53582131437048773u);
  EXPECT_EQ(row_hash(row, Encoding::Utf16Le), 45590116380533083u);
}

TEST(RowDigest, BucketIsTheFirstFourBytesOfTheKeysMd5) {
  EXPECT_EQ(bucket_of("abc", Encoding::Utf8, 4096), 152u);
  EXPECT_EQ(bucket_of("abc", Encoding::Utf16Le, 4096), 975u);
  EXPECT_EQ(bucket_of("\xc3\xa4", Encoding::Utf16Le, 4096), 140u);  // U+00E4, one UTF-16 unit
}

TEST(RowDigest, BucketCountKeepsAboutSixteenRowsEach) {
  EXPECT_EQ(bucket_count_for(0), 64u);
  EXPECT_EQ(bucket_count_for(1000), 64u);
  EXPECT_EQ(bucket_count_for(100'000), 8192u);
  EXPECT_EQ(bucket_count_for(1'000'000), 65536u);
  EXPECT_EQ(bucket_count_for(int64_t{1} << 40), 1u << 20);
}

TEST(RowDigest, SumsRoundTripAndAcceptOnlyIntegers) {
  const HashSum big = static_cast<HashSum>(72057594037927935u) * 1'000'000u;
  EXPECT_EQ(parse_sum(sum_text(big)), big);
  EXPECT_EQ(parse_sum("12.000"), HashSum{12});
  EXPECT_EQ(parse_sum("0"), HashSum{0});
  EXPECT_FALSE(parse_sum("12.5"));
  EXPECT_FALSE(parse_sum("-1"));
  EXPECT_FALSE(parse_sum(""));
}

TEST(RowDigest, CanonicalValuesFollowTheColumnTypes) {
  MeterRow row;
  row.source_meter_id = "42";
  row.serial_number = "S-1";
  row.multiplier = Decimal{false, "15000", 4};
  row.install_date = Date{0};
  row.last_reading_at = Timestamp{86'400 + 3661, 120'000};
  row.latitude = Decimal{true, "5", 6};
  EXPECT_EQ(canonical_value(row, *config::find_target_column("Multiplier")), "1.5000");
  EXPECT_EQ(canonical_value(row, *config::find_target_column("InstallDate")), "1970-01-01");
  EXPECT_EQ(canonical_value(row, *config::find_target_column("LastReadingAt")),
            "1970-01-02 01:01:01.000120");
  EXPECT_EQ(canonical_value(row, *config::find_target_column("Latitude")), "-0.000005");
  EXPECT_EQ(canonical_value(row, *config::find_target_column("Longitude")), std::nullopt);
  EXPECT_EQ(canonical_value(row, *config::find_target_column("Manufacturer")), std::nullopt);
}

TEST(RowDigest, ComparedColumnsAreThoseWithARuleKeyFirst) {
  config::SourceConfig source;
  source.mapping.columns = {{"Status", {}, {}}, {"SourceMeterId", {}, {}}, {"SerialNumber", {}, {}}};
  const auto columns = compared_columns(source);
  ASSERT_EQ(columns.size(), 3u);
  EXPECT_EQ(columns[0]->name, "SourceMeterId");
  EXPECT_EQ(columns[1]->name, "SerialNumber");
  EXPECT_EQ(columns[2]->name, "Status");
}

}  // namespace
}  // namespace metersync::verify
