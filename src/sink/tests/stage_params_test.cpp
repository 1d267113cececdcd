#include "sink/stage_params.hpp"

#include <gtest/gtest.h>

#include "sink/utf16.hpp"

namespace metersync::sink {
namespace {

MeterRow full_row() {
  MeterRow row;
  row.source_system = "postgres";
  row.source_meter_id = "0b6f7c1e-0000-4000-8000-000000000001";
  row.serial_number = "Zähler-Ω-😀";
  row.meter_type = "electric";
  row.manufacturer = std::nullopt;
  row.status = "active";
  row.install_date = Date{-1};  // 1969-12-31
  row.multiplier = Decimal{false, "12345", 4};
  row.last_reading_value = Decimal{true, "999999999999999999", 3};
  row.last_reading_at = Timestamp{253402300799, 999'999'999};  // 9999-12-31 23:59:59.999999999
  row.latitude = Decimal{true, "1", 6};
  row.longitude = std::nullopt;
  row.source_committed_at = Timestamp{-1, 5'000'000};
  row.source_position = Position{"00000000/01A2B3C8"};
  return row;
}

TEST(StageParams, FullRowTextForms) {
  const auto dialect = Dialect::create(config::Dialect::SqlServer, {"dbo"});
  std::vector<SqlParam> params;
  append_stage_params(*dialect, {full_row(), false}, params);
  ASSERT_EQ(params.size(), stage_columns().size());
  EXPECT_EQ(params[0].kind, SqlParam::Kind::Text);   // VARCHAR SourceSystem: narrow on SQL Server
  EXPECT_EQ(params[1].kind, SqlParam::Kind::NText);  // NVARCHAR SourceMeterId: wide
  EXPECT_EQ(params[2].text, "Zähler-Ω-😀");
  EXPECT_EQ(params[2].kind, SqlParam::Kind::NText);
  EXPECT_EQ(params[4].kind, SqlParam::Kind::Null);  // Manufacturer
  EXPECT_EQ(params[6].text, "1969-12-31");
  EXPECT_EQ(params[7].text, "1.2345");
  EXPECT_EQ(params[8].text, "-999999999999999.999");
  EXPECT_EQ(params[9].text, "9999-12-31 23:59:59.999999");  // truncated to microseconds
  EXPECT_EQ(params[10].text, "-0.000001");
  EXPECT_EQ(params[11].kind, SqlParam::Kind::Null);
  EXPECT_EQ(params[12].text, "0");
  EXPECT_EQ(params[13].text, "1969-12-31 23:59:59.005");
  EXPECT_EQ(params[14].text, "00000000/01A2B3C8");
  EXPECT_EQ(params[15].text, "U");
}

TEST(StageParams, KeyOnlyDeleteCarriesOnlyKeyAndPosition) {
  const auto dialect = Dialect::create(config::Dialect::Postgres, {"public"});
  std::vector<SqlParam> params;
  MeterRow row = full_row();
  append_stage_params(*dialect, {row, true}, params);
  ASSERT_EQ(params.size(), stage_columns().size());
  EXPECT_EQ(params[0].kind, SqlParam::Kind::NText);  // PostgreSQL binds all text wide
  for (int i = 2; i <= 11; ++i) EXPECT_EQ(params[i].kind, SqlParam::Kind::Null) << i;
  EXPECT_EQ(params[12].text, "1");
  EXPECT_EQ(params[15].text, "K");
}

TEST(StageParams, TimestampText) {
  EXPECT_EQ(timestamp_sql_text(Timestamp{0, 1000}, 6), "1970-01-01 00:00:00.000001");
  EXPECT_EQ(timestamp_sql_text(Timestamp{-62135596800, 0}, 6), "0001-01-01 00:00:00.000000");
  EXPECT_EQ(timestamp_sql_text(Timestamp{1, 123'456'789}, 3), "1970-01-01 00:00:01.123");
  EXPECT_EQ(timestamp_from_ms(-1), (Timestamp{-1, 999'000'000}));
  EXPECT_EQ(timestamp_from_ms(1500), (Timestamp{1, 500'000'000}));
}

TEST(Utf16, RoundTripsAndRejectsMalformed) {
  const std::string text = "aß€😀";
  const auto wide = utf8_to_utf16(text);
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide->size(), 5u);  // the emoji is a surrogate pair
  EXPECT_EQ(*wide, u"aß€😀");
  EXPECT_EQ(utf8_to_utf16("😀😀"), std::u16string(u"😀😀"));  // 8 bytes in, 4 units out
  EXPECT_EQ(utf8_to_utf16(""), std::u16string());
  EXPECT_EQ(utf16_to_utf8(*wide), text);
  EXPECT_FALSE(utf8_to_utf16("\xC0\xAF"));      // overlong '/'
  EXPECT_FALSE(utf8_to_utf16("\xED\xA0\x80"));  // encoded surrogate
  EXPECT_FALSE(utf8_to_utf16("\xE2\x82"));      // truncated
  EXPECT_FALSE(utf16_to_utf8(std::u16string(1, u'\xD800')));
}

}  // namespace
}  // namespace metersync::sink
