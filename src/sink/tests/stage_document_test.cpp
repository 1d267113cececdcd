#include "sink/stage_document.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sink/dialect.hpp"
#include "sink/sink.hpp"

namespace metersync::sink {
namespace {

MeterRow full_row() {
  MeterRow row;
  row.source_system = "postgres";
  row.source_meter_id = "id \"quoted\" \\ back\\slash";
  row.serial_number = "Zähler-Ω-😀-中";
  row.meter_type = "electric";
  row.manufacturer = std::string("tab\tnew\nline\rcr\x01\x1f") + '\0' + "nul\x7f";
  row.status = "active";
  row.install_date = Date{-1};  // 1969-12-31
  row.multiplier = Decimal{false, "999999999", 4};
  row.last_reading_value = Decimal{true, "999999999999999999", 3};
  row.last_reading_at = Timestamp{253402300799, 999'999'999};  // 9999-12-31 23:59:59.999999999
  row.latitude = Decimal{true, "1", 6};
  row.longitude = std::nullopt;
  row.source_committed_at = Timestamp{-1, 5'000'000};
  row.source_position = Position{"00000000/01A2B3C8"};
  return row;
}

nlohmann::json parse(const std::string& text) { return nlohmann::json::parse(text); }

TEST(StageDocument, DocumentsSplitIntoStatementsFullRowsFirst) {
  using Split = std::vector<StageStatementDocuments>;
  EXPECT_EQ(split_stage_documents(0, 0, 1000), Split{});
  EXPECT_EQ(split_stage_documents(20, 2, 1000), (Split{{20, 2}}));
  EXPECT_EQ(split_stage_documents(0, 3, 1000), (Split{{0, 3}}));
  // A statement never reads more than its share, and a key-only document never comes
  // before a full one.
  EXPECT_EQ(split_stage_documents(2500, 10, 1000), (Split{{1000, 0}, {1000, 0}, {500, 10}}));
  EXPECT_EQ(split_stage_documents(999, 2, 1000), (Split{{999, 1}, {0, 1}}));
  EXPECT_EQ(split_stage_documents(1000, 1000, 1000), (Split{{1000, 0}, {0, 1000}}));
}

TEST(StageDocument, FullRowIsAnArrayInDocumentColumnOrderWithExactText) {
  StageDocument document;
  document.add({full_row(), false});
  const nlohmann::json rows = parse(document.finish());
  ASSERT_EQ(rows.size(), 1u);
  const nlohmann::json& row = rows[0];
  ASSERT_EQ(row.size(), document_columns().size());
  EXPECT_EQ(document_columns().back().name, "SourcePosition");
  EXPECT_EQ(row[0], "postgres");
  EXPECT_EQ(row[1], "id \"quoted\" \\ back\\slash");
  EXPECT_EQ(row[2], "Zähler-Ω-😀-中");
  EXPECT_EQ(row[3], "electric");
  EXPECT_EQ(row[4].get<std::string>(),
            std::string("tab\tnew\nline\rcr\x01\x1f") + '\0' + "nul\x7f");
  EXPECT_EQ(row[5], "active");
  EXPECT_EQ(row[6], "1969-12-31");
  EXPECT_EQ(row[7], "99999.9999");  // a string: never a binary float
  EXPECT_EQ(row[8], "-999999999999999.999");
  EXPECT_EQ(row[9], "9999-12-31 23:59:59.999999");  // truncated to the column's 6 digits
  EXPECT_EQ(row[10], "-0.000001");
  EXPECT_TRUE(row[11].is_null());
  EXPECT_EQ(row[12], 0);
  EXPECT_EQ(row[13], "1969-12-31 23:59:59.005");  // 3 digits
  EXPECT_EQ(row[14], "00000000/01A2B3C8");
}

TEST(StageDocument, CharactersOutsideTheBmpStayRawUtf8AndControlsAreEscaped) {
  StageDocument document;
  MeterRow row = full_row();
  document.add({row, false});
  const std::string& text = document.finish();
  // Raw UTF-8, not \ud83d\ude00 pairs: both servers read it as is.
  EXPECT_NE(text.find("Zähler-Ω-😀-中"), std::string::npos);
  EXPECT_NE(text.find(R"(tab\tnew\nline\rcr\u0001\u001f\u0000nul)"), std::string::npos);
  EXPECT_NE(text.find(R"(id \"quoted\" \\ back\\slash)"), std::string::npos);
}

TEST(StageDocument, KeyOnlyDeleteCarriesKeyFlagAndPositionOnly) {
  StageDocument document;
  document.add({full_row(), true});
  const nlohmann::json row = parse(document.finish())[0];
  EXPECT_EQ(row[0], "postgres");
  EXPECT_EQ(row[1], "id \"quoted\" \\ back\\slash");
  for (int i = 2; i <= 11; ++i) EXPECT_TRUE(row[i].is_null()) << i;
  EXPECT_EQ(row[12], 1);
  EXPECT_EQ(row[13], "1969-12-31 23:59:59.005");
  EXPECT_EQ(row[14], "00000000/01A2B3C8");
}

TEST(StageDocument, SoftDeletedRowsAreFlaggedAndRowsAccumulate) {
  StageDocument document;
  EXPECT_TRUE(document.empty());
  MeterRow deleted = full_row();
  deleted.is_deleted = true;
  deleted.source_meter_id = "2";
  document.add({full_row(), false});
  document.add({deleted, false});
  EXPECT_EQ(document.rows(), 2u);
  const std::string text = document.finish();
  EXPECT_EQ(document.bytes(), text.size() + 1);
  const nlohmann::json rows = parse(text);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][12], 0);
  EXPECT_EQ(rows[1][12], 1);
  EXPECT_EQ(rows[1][1], "2");
}

TEST(StageDocument, IsReusableAfterFinishOrClear) {
  StageDocument document;
  EXPECT_EQ(document.finish(), "[]");
  document.add({full_row(), false});
  (void)document.finish();
  MeterRow other = full_row();
  other.source_meter_id = "other";
  document.add({other, false});  // a finished document starts over
  nlohmann::json rows = parse(document.finish());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1], "other");
  document.clear();
  EXPECT_TRUE(document.empty());
  EXPECT_EQ(document.finish(), "[]");
}

TEST(StageDocument, InvalidUtf8IsADataErrorNamingTheColumn) {
  for (const std::string& bad : {std::string("\xff"), std::string("a\xc3"),  // bad lead, cut short
                                std::string("\xc0\xaf"),                    // overlong '/'
                                std::string("\xed\xa0\x80"),                // a surrogate
                                std::string("\xf4\x90\x80\x80")}) {         // beyond U+10FFFF
    StageDocument document;
    MeterRow row = full_row();
    row.serial_number = bad;
    try {
      document.add({row, false});
      FAIL() << "accepted invalid UTF-8";
    } catch (const SinkError& error) {
      EXPECT_EQ(error.kind(), SinkError::Kind::Data);
      EXPECT_EQ(error.sqlstate(), "22021");
      EXPECT_NE(std::string(error.what()).find("SerialNumber"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace metersync::sink

namespace metersync::sink {
namespace {

TEST(StageDocument, NeedsEscapesExactlyWhenATextValueHasAQuoteABackslashOrAControl) {
  MeterRow plain = full_row();
  plain.source_meter_id = "m-1";
  plain.manufacturer = "Zähler-Ω-😀 \x7f";  // non-ASCII and DEL go raw
  EXPECT_FALSE(StageDocument::needs_escapes({plain, false}));
  EXPECT_FALSE(StageDocument::needs_escapes({plain, true}));
  const auto with = [&](auto change) {
    MeterRow row = plain;
    change(row);
    return row;
  };
  EXPECT_TRUE(StageDocument::needs_escapes({with([](MeterRow& r) { r.source_meter_id = "a\"b"; }), true}));
  EXPECT_TRUE(StageDocument::needs_escapes({with([](MeterRow& r) { r.source_position.text = "a\\b"; }), true}));
  EXPECT_TRUE(StageDocument::needs_escapes({with([](MeterRow& r) { r.serial_number = "a\nb"; }), false}));
  EXPECT_TRUE(StageDocument::needs_escapes({with([](MeterRow& r) { r.manufacturer = std::string(1, '\0'); }), false}));
  // A key-only delete carries no serial number: it needs none.
  EXPECT_FALSE(StageDocument::needs_escapes({with([](MeterRow& r) { r.serial_number = "a\"b"; }), true}));
}

}  // namespace
}  // namespace metersync::sink
