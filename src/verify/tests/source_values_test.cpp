#include "verify/source_values.hpp"

#include <gtest/gtest.h>
#include <sql.h>
#include <sqlext.h>

namespace metersync::verify {
namespace {

sink::ResultColumn column(int sql_type, std::string type_name = {}, bool is_unsigned = false) {
  return sink::ResultColumn{"c", sql_type, std::move(type_name), is_unsigned};
}

Value read(const sink::ResultColumn& c, const std::string& text) {
  auto value = source_value(c, text);
  EXPECT_TRUE(value.has_value()) << (value ? "" : value.error().reason);
  return value.value_or(Value{Null{}});
}

TEST(SourceValues, NullIsNullWhateverTheType) {
  EXPECT_EQ(source_value(column(SQL_INTEGER), std::nullopt).value(), Value{Null{}});
}

TEST(SourceValues, BooleansAsPsqlOdbcAndSqlServerShowThem) {
  EXPECT_EQ(read(column(SQL_VARCHAR, "bool"), "1"), Value{true});  // BoolsAsChar
  EXPECT_EQ(read(column(SQL_BIT, "bool"), "0"), Value{false});
  EXPECT_EQ(read(column(SQL_BIT, "bit"), "1"), Value{true});
  EXPECT_FALSE(source_value(column(SQL_BIT), std::string("yes")).has_value());
}

TEST(SourceValues, IntegersAndUnsignedBigintAsDebeziumsPreciseMode) {
  EXPECT_EQ(read(column(SQL_INTEGER, "int4"), "-7"), Value{int64_t{-7}});
  EXPECT_EQ(read(column(SQL_BIGINT, "bigint unsigned", true), "18446744073709551615"),
            (Value{Decimal{false, "18446744073709551615", 0}}));
  EXPECT_EQ(read(column(SQL_BIGINT, "bigint", true), "5"), (Value{Decimal{false, "5", 0}}));
}

TEST(SourceValues, DecimalsKeepTheirScale) {
  EXPECT_EQ(read(column(SQL_NUMERIC, "numeric"), "1.2500"), (Value{Decimal{false, "12500", 4}}));
  EXPECT_EQ(read(column(SQL_DECIMAL, "decimal"), "-0.5"), (Value{Decimal{true, "5", 1}}));
}

TEST(SourceValues, DoublesRoundTrip) {
  EXPECT_EQ(read(column(SQL_DOUBLE, "double"), "51.501234567"), Value{51.501234567});
}

TEST(SourceValues, DatesAndTimestampsInUtc) {
  EXPECT_EQ(read(column(SQL_TYPE_DATE, "date"), "1970-01-02"), Value{Date{1}});
  EXPECT_EQ(read(column(SQL_TYPE_TIMESTAMP, "datetime"), "1970-01-01 00:00:01.5"),
            (Value{Timestamp{1, 500'000'000}}));
  // timestamptz as PostgreSQL prints it, with its offset.
  EXPECT_EQ(read(column(SQL_TYPE_TIMESTAMP, "timestamptz"), "1970-01-01 01:00:00+01"),
            (Value{Timestamp{0, 0}}));
}

TEST(SourceValues, JsonTextAndBytes) {
  EXPECT_EQ(read(column(SQL_LONGVARCHAR, "jsonb"), R"({"lat": 1})"), Value{Json{R"({"lat": 1})"}});
  // psqlODBC prints a uuid in upper case, PostgreSQL (and so Debezium) in lower case.
  EXPECT_EQ(read(column(SQL_GUID, "uuid"), "8F14E45F-CEEA-467F-A0E6-A3BD0BA1C1F4"),
            Value{std::string("8f14e45f-ceea-467f-a0e6-a3bd0ba1c1f4")});
  EXPECT_EQ(read(column(SQL_GUID, "uniqueidentifier"), "8F14E45F-CEEA-467F-A0E6-A3BD0BA1C1F4"),
            Value{std::string("8F14E45F-CEEA-467F-A0E6-A3BD0BA1C1F4")});
  EXPECT_EQ(read(column(SQL_VARBINARY, "bytea"), "\\x00ff"), (Value{Bytes{std::string("\x00\xff", 2)}}));
}

TEST(SourceValues, ARowKeepsTheColumnNamesAndOrder) {
  const std::vector<sink::ResultColumn> columns{{"id", SQL_INTEGER, "int4", false},
                                                {"name", SQL_VARCHAR, "text", false}};
  const auto row = source_row(columns, {std::string("3"), std::nullopt});
  ASSERT_TRUE(row.has_value());
  ASSERT_NE(row->find("id"), nullptr);
  EXPECT_EQ(*row->find("id"), Value{int64_t{3}});
  EXPECT_EQ(*row->find("name"), Value{Null{}});
}

}  // namespace
}  // namespace metersync::verify
