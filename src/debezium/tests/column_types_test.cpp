#include "debezium/column_types.hpp"

#include <gtest/gtest.h>

namespace metersync::debezium {
namespace {

ColumnType parsed(std::string_view text) {
  auto type = parse_column_type(text);
  EXPECT_TRUE(type.has_value()) << text << ": " << (type ? "" : type.error());
  return type.value_or(ColumnType{});
}

TEST(ParseColumnType, ConnectTypesFullAndShortLogicalNames) {
  EXPECT_EQ(parsed("int16"), (ColumnType{LogicalType::Int, 0}));
  EXPECT_EQ(parsed("float64"), (ColumnType{LogicalType::Float, 0}));
  EXPECT_EQ(parsed("boolean"), (ColumnType{LogicalType::Boolean, 0}));
  EXPECT_EQ(parsed("io.debezium.time.MicroTimestamp"),
            (ColumnType{LogicalType::TimestampMicros, 0}));
  EXPECT_EQ(parsed("MicroTimestamp"), (ColumnType{LogicalType::TimestampMicros, 0}));
  EXPECT_EQ(parsed("NanoTimestamp"), (ColumnType{LogicalType::TimestampNanos, 0}));
  EXPECT_EQ(parsed("Timestamp"), (ColumnType{LogicalType::TimestampMillis, 0}));
  EXPECT_EQ(parsed("Date"), (ColumnType{LogicalType::Date, 0}));
  EXPECT_EQ(parsed("ZonedTimestamp"), (ColumnType{LogicalType::ZonedTimestamp, 0}));
  EXPECT_EQ(parsed("VariableScaleDecimal"), (ColumnType{LogicalType::VariableScaleDecimal, 0}));
  EXPECT_EQ(parsed("Uuid"), (ColumnType{LogicalType::String, 0}));
  EXPECT_EQ(parsed("Json"), (ColumnType{LogicalType::Json, 0}));
  EXPECT_EQ(parsed("Bits"), (ColumnType{LogicalType::Bytes, 0}));
  EXPECT_EQ(parsed("Decimal(4)"), (ColumnType{LogicalType::Decimal, 4}));
  EXPECT_EQ(parsed("org.apache.kafka.connect.data.Decimal(0)"),
            (ColumnType{LogicalType::Decimal, 0}));
}

TEST(ParseColumnType, ErrorsSayWhatIsAccepted) {
  auto unknown = parse_column_type("Money");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().find("Decimal(<scale>)"), std::string::npos) << unknown.error();
  EXPECT_EQ(parse_column_type("Decimal").error(),
            "type 'Decimal': a Decimal needs its scale, e.g. Decimal(4)");
  EXPECT_EQ(parse_column_type("Decimal(x)").error(),
            "type 'Decimal(x)': the scale in parentheses must be an integer");
  EXPECT_EQ(parse_column_type("Decimal(4").error(), "type 'Decimal(4': expected a closing ')'");
  EXPECT_EQ(parse_column_type("int64(2)").error(), "type 'int64(2)': only Decimal takes a scale");
  EXPECT_FALSE(parse_column_type("struct").has_value());
  EXPECT_FALSE(parse_column_type("").has_value());
}

TEST(ColumnTypeForSchema, LogicalNameWinsAndUnknownNamesFallBackToTheCarrier) {
  EXPECT_EQ(column_type_for_schema("bytes", "org.apache.kafka.connect.data.Decimal", 3),
            (ColumnType{LogicalType::Decimal, 3}));
  EXPECT_EQ(column_type_for_schema("int32", "io.debezium.time.Date", 0),
            (ColumnType{LogicalType::Date, 0}));
  EXPECT_EQ(column_type_for_schema("string", "io.debezium.data.SomethingNew", 0),
            (ColumnType{LogicalType::String, 0}));
  EXPECT_EQ(column_type_for_schema("struct", "io.debezium.data.geometry.Point", 0),
            (ColumnType{LogicalType::Structured, 0}));
  EXPECT_EQ(column_type_for_schema("int64", "", 7), (ColumnType{LogicalType::Int, 0}));
}

}  // namespace
}  // namespace metersync::debezium
