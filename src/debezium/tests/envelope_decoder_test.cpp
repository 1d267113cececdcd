// Every logical type through the whole decoder, one column at a time, and every
// decode error as a value with its reason.
#include "debezium/envelope_decoder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "fixture_support.hpp"

namespace metersync::debezium {
namespace {

using namespace metersync::debezium::testing;

// A postgres-shaped message whose row has the single column `v`.
std::string message(const std::string& field_schema, const std::string& value_json,
                    const std::string& op = "c") {
  const std::string row_schema =
      R"({"type":"struct","fields":[)" + field_schema + R"(],"optional":true,"name":"t.Value")";
  return R"({"schema":{"type":"struct","fields":[)" + row_schema + R"(,"field":"before"},)" +
         row_schema +
         R"(,"field":"after"}],"optional":false,"name":"t.Envelope","version":2},"payload":{"before":null,"after":{"v":)" +
         value_json +
         R"(},"source":{"ts_ms":1764000000000,"table":"t","snapshot":"false","lsn":16},"op":")" +
         op + R"(","ts_ms":1764000000001}})";
}

std::string schema_of(const std::string& type, const std::string& logical = "",
                      const std::string& parameters = "") {
  std::string out = R"({"type":")" + type + R"(","optional":true)";
  if (!logical.empty()) out += R"(,"name":")" + logical + R"(","version":1)";
  if (!parameters.empty()) out += R"(,"parameters":)" + parameters;
  return out + R"(,"field":"v"})";
}

Value decode_value(const std::string& field_schema, const std::string& value_json) {
  EnvelopeDecoder decoder(Connector::Postgres);
  auto event = decoder.decode(message(field_schema, value_json));
  EXPECT_TRUE(event.has_value()) << value_json << ": " << (event ? "" : event.error().reason);
  if (!event || !event->after || event->after->columns.size() != 1) return Null{};
  return event->after->columns[0].second;
}

std::string decode_error(const std::string& text, Connector connector = Connector::Postgres,
                         DeclaredColumns declared = {}) {
  EnvelopeDecoder decoder(connector, std::move(declared));
  auto event = decoder.decode(text);
  EXPECT_FALSE(event.has_value()) << text;
  return event ? std::string() : event.error().reason;
}

// ------------------------------------------------------------------ plain Connect types
TEST(LogicalTypes, Integers) {
  EXPECT_EQ(decode_value(schema_of("int8"), "127"), i64(127));
  EXPECT_EQ(decode_value(schema_of("int16"), "-32768"), i64(-32768));
  EXPECT_EQ(decode_value(schema_of("int32"), "2147483647"), i64(2147483647));
  EXPECT_EQ(decode_value(schema_of("int64"), "-9223372036854775808"), i64(INT64_MIN));
  EXPECT_EQ(decode_value(schema_of("int32", "io.debezium.time.Year"), "2026"), i64(2026));
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.MicroDuration"), "-5"), i64(-5));
}

TEST(LogicalTypes, Floats) {
  EXPECT_EQ(decode_value(schema_of("float32"), "1.5"), f64(1.5));
  EXPECT_EQ(decode_value(schema_of("float64"), "-0.142"), f64(-0.142));
  EXPECT_EQ(decode_value(schema_of("float64"), "1.0E300"), f64(1e300));
  EXPECT_EQ(decode_value(schema_of("float64"), "7"), f64(7.0));
  EXPECT_TRUE(std::isnan(std::get<double>(decode_value(schema_of("float64"), "\"NaN\""))));
  EXPECT_EQ(decode_value(schema_of("float64"), "\"Infinity\""), f64(INFINITY));
  EXPECT_EQ(decode_value(schema_of("float64"), "\"-Infinity\""), f64(-INFINITY));
}

TEST(LogicalTypes, StringsBooleansAndNulls) {
  EXPECT_EQ(decode_value(schema_of("string"), R"("a \"quoted\" \u00e9 \ud83d\ude80")"),
            str("a \"quoted\" é 🚀"));
  EXPECT_EQ(decode_value(schema_of("string"), R"("")"), str(""));
  EXPECT_EQ(decode_value(schema_of("boolean"), "false"), Value{false});
  EXPECT_EQ(decode_value(schema_of("string"), "null"), null());
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.MicroTimestamp"), "null"), null());
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.data.Uuid"),
                         R"("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")"),
            str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  EXPECT_EQ(
      decode_value(schema_of("string", "io.debezium.data.Enum", R"({"allowed":"a,b"})"), R"("b")"),
      str("b"));
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.data.EnumSet", R"({"allowed":"a,b"})"),
                         R"("a,b")"),
            str("a,b"));
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.data.Xml"), R"("<a/>")"), str("<a/>"));
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.data.Ltree"), R"("Top.Science")"),
            str("Top.Science"));
}

TEST(LogicalTypes, BytesAndBits) {
  EXPECT_EQ(decode_value(schema_of("bytes"), R"("AQID")"),
            Value{Bytes{std::string("\x01\x02\x03")}});
  EXPECT_EQ(
      decode_value(schema_of("bytes", "io.debezium.data.Bits", R"({"length":"3"})"), R"("BQ==")"),
      Value{Bytes{std::string("\x05")}});
  EXPECT_EQ(decode_value(schema_of("bytes"), R"("")"), Value{Bytes{}});
}

// ------------------------------------------------------------------ decimals
const std::string kDecimal2 = schema_of("bytes", "org.apache.kafka.connect.data.Decimal",
                                        R"({"scale":"2","connect.decimal.precision":"10"})");

TEST(LogicalTypes, Decimal) {
  EXPECT_EQ(decode_value(kDecimal2, R"("/w==")"), dec("-0.01"));
  EXPECT_EQ(decode_value(kDecimal2, R"("JxA=")"), dec("100.00"));
  EXPECT_EQ(decode_value(kDecimal2, R"("AA==")"), dec("0.00"));
  EXPECT_EQ(decode_value(kDecimal2, R"("AQAAAAAAAAAAAAAAAAAAAAA=")"),
            dec("3402823669209384634633746074317682114.56"));
  EXPECT_EQ(decode_value(kDecimal2, R"("/wAAAAAAAAAAAAAAAAAAAAA=")"),
            dec("-3402823669209384634633746074317682114.56"));
  const std::string scale0 =
      schema_of("bytes", "org.apache.kafka.connect.data.Decimal", R"({"scale":"0"})");
  EXPECT_EQ(decode_value(scale0, R"("gAAAAAAAAAA=")"), dec("-9223372036854775808"));
}

TEST(LogicalTypes, AThousandDigitDecimal) {
  // 10^999, as BigInteger#toByteArray writes it (416 bytes), at scale 999: exactly 1.
  const std::string ten_to_999 =
      "YWvgylh/"
      "EZvJ7dXVSkt8VEZAx3hEnq2QZBex8G7FXENocR5Og2IxlZgi4fJVQXfwM4aAdLwqUEtRDUEZIGxKecGT49EyNYQiIbRJ"
      "km4992ikM72jnFynDtzCb8P7brkwD4pc47ngXvVTNqfCfgfS9iTn40yli3YmOkJ+"
      "eaaJ2anZ47ke47zczwlVVQRKpaYprGyrxMv7qA7HjZ/lUuH2DRH1f1YRXaeeXx4uEdOVI/"
      "RaLWm2R6cMMzSL9gNvXC4WGkxpDQ9GWYsIH4dPWcRPPId/"
      "TIDFTt25FbxXGvlYuxPaOp0TjYjpH5P2G+"
      "IUckNfqpDt8q6AjUOnJT886vxXWaMMa3odjnuPlE9UB4hbDNAyCJID48iOXEaow+/"
      "tbH2LA9aAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
  const std::string vsd =
      R"({"type":"struct","fields":[],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","field":"v"})";
  EXPECT_EQ(decode_value(vsd, R"({"scale":0,"value":")" + ten_to_999 + R"("})"),
            (Value{Decimal{false, "1" + std::string(999, '0'), 0}}));
  EXPECT_EQ(decode_value(vsd, R"({"scale":999,"value":")" + ten_to_999 + R"("})"),
            dec("1." + std::string(999, '0')));
}

TEST(LogicalTypes, VariableScaleDecimal) {
  const std::string vsd =
      R"({"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},)"
      R"({"type":"bytes","optional":false,"field":"value"}],"optional":true,)"
      R"("name":"io.debezium.data.VariableScaleDecimal","version":1,"field":"v"})";
  EXPECT_EQ(decode_value(vsd, R"({"scale":2,"value":"AQ=="})"), dec("0.01"));
  EXPECT_EQ(decode_value(vsd, R"({"value":"/w==","scale":0})"), dec("-1"));
  EXPECT_EQ(decode_value(vsd, R"({"scale":30,"value":"AQ=="})"),
            dec("0.000000000000000000000000000001"));
  EXPECT_EQ(decode_value(vsd, R"({"scale":-2,"value":"DA=="})"), (Value{Decimal{false, "12", -2}}));
  EXPECT_EQ(decode_value(vsd, R"({"scale":0,"value":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="})"),
            Value{Unavailable{}});
}

// ------------------------------------------------------------------ dates and times
TEST(LogicalTypes, Dates) {
  EXPECT_EQ(decode_value(schema_of("int32", "io.debezium.time.Date"), "-1"), date(-1));
  EXPECT_EQ(decode_value(schema_of("int32", "org.apache.kafka.connect.data.Date"), "2932896"),
            date(2932896));
}

TEST(LogicalTypes, TimesOfDay) {
  EXPECT_EQ(decode_value(schema_of("int32", "io.debezium.time.Time"), "49500123"),
            Value{TimeOfDay{49'500'123'000'000}});
  EXPECT_EQ(decode_value(schema_of("int32", "org.apache.kafka.connect.data.Time"), "1"),
            Value{TimeOfDay{1'000'000}});
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.MicroTime"), "49500123456"),
            Value{TimeOfDay{49'500'123'456'000}});
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.MicroTime"),
                         "-3020399000000"),  // MySQL -838:59:59
            Value{TimeOfDay{-3'020'399'000'000'000}});
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.NanoTime"), "49500123456789"),
            Value{TimeOfDay{49'500'123'456'789}});
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.time.ZonedTime"), R"("13:45:00.123Z")"),
            Value{TimeOfDay{49'500'123'000'000}});
}

TEST(LogicalTypes, Timestamps) {
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.Timestamp"), "-1"),
            ts(-1, 999'000'000));
  EXPECT_EQ(
      decode_value(schema_of("int64", "org.apache.kafka.connect.data.Timestamp"), "1764000000123"),
      ts(1'764'000'000, 123'000'000));
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.MicroTimestamp"), "-1"),
            ts(-1, 999'999'000));
  EXPECT_EQ(
      decode_value(schema_of("int64", "io.debezium.time.MicroTimestamp"), "253402300799999999"),
      ts(253'402'300'799, 999'999'000));
  EXPECT_EQ(decode_value(schema_of("int64", "io.debezium.time.NanoTimestamp"), "-1"),
            ts(-1, 999'999'999));
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.time.ZonedTimestamp"),
                         R"("2026-11-24T15:45:00.5+02:00")"),
            ts(1'795'527'900, 500'000'000));
}

// ------------------------------------------------------------------ JSON and structured values
TEST(LogicalTypes, JsonAndStructuredValues) {
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.data.Json"), R"("{\"lat\": 51.5}")"),
            json(R"({"lat": 51.5})"));
  const std::string geometry =
      R"({"type":"struct","fields":[{"type":"bytes","optional":false,"field":"wkb"},)"
      R"({"type":"int32","optional":true,"field":"srid"}],"optional":true,)"
      R"("name":"io.debezium.data.geometry.Point","version":1,"field":"v"})";
  EXPECT_EQ(decode_value(geometry, R"({"wkb":"AQ==","srid":4326})"),
            json(R"({"wkb":"AQ==","srid":4326})"));
  const std::string text_array =
      R"({"type":"array","items":{"type":"string","optional":true},"optional":true,"field":"v"})";
  EXPECT_EQ(decode_value(text_array, R"(["a","b"])"), json(R"(["a","b"])"));
  EXPECT_EQ(decode_value(text_array, R"(["__debezium_unavailable_value"])"), Value{Unavailable{}});
}

TEST(LogicalTypes, UnavailablePlaceholderInEveryCarrier) {
  const Value unavailable = Unavailable{};
  EXPECT_EQ(decode_value(schema_of("string"), R"("__debezium_unavailable_value")"), unavailable);
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.data.Json"),
                         R"("__debezium_unavailable_value")"),
            unavailable);
  EXPECT_EQ(
      decode_value(schema_of("string", "io.debezium.data.Json"),
                   R"("{\"__debezium_unavailable_value\":\"__debezium_unavailable_value\"}")"),
      unavailable);
  EXPECT_EQ(decode_value(schema_of("string", "io.debezium.time.ZonedTimestamp"),
                         R"("__debezium_unavailable_value")"),
            unavailable);
  EXPECT_EQ(decode_value(schema_of("bytes"), R"("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")"),
            unavailable);
  EXPECT_EQ(decode_value(kDecimal2, R"("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")"), unavailable);
}

// ------------------------------------------------------------------ value errors
TEST(ValueErrors, NameTheFieldAndTheReason) {
  EXPECT_EQ(decode_error(message(schema_of("int64"), R"("12")")),
            "field after.v: expected an integer, got a string");
  EXPECT_EQ(decode_error(message(schema_of("int64"), "1.5")),
            "field after.v: expected an integer, got '1.5'");
  EXPECT_EQ(
      decode_error(message(schema_of("int64"), "9223372036854775808")),
      "field after.v: expected an integer, got '9223372036854775808' (out of the 64-bit range)");
  EXPECT_EQ(decode_error(message(schema_of("boolean"), "1")),
            "field after.v: expected a boolean, got a number");
  EXPECT_EQ(decode_error(message(schema_of("string"), "{}")),
            "field after.v: expected a string, got an object");
  EXPECT_EQ(decode_error(message(schema_of("float64"), R"("fast")")),
            "field after.v: expected a number, got the string 'fast'");
  EXPECT_EQ(decode_error(message(kDecimal2, R"("!!")")),
            "field after.v: Decimal bytes '!!' are not valid base64");
  EXPECT_EQ(decode_error(message(kDecimal2, R"("")")), "field after.v: Decimal bytes are empty");
  EXPECT_EQ(decode_error(message(kDecimal2, "12.5")),
            "field after.v: expected base64 Decimal bytes, got a number");
  EXPECT_EQ(decode_error(message(schema_of("bytes"), R"("A")")),
            "field after.v: bytes 'A' are not valid base64");
  EXPECT_EQ(decode_error(message(schema_of("int32", "io.debezium.time.Date"), "2147483648")),
            "field after.v: epoch days 2147483648 exceed int32");
  EXPECT_EQ(decode_error(
                message(schema_of("string", "io.debezium.time.ZonedTimestamp"), R"("infinity")")),
            "field after.v: ZonedTimestamp 'infinity' is not an ISO-8601 date-time with an offset");
  EXPECT_EQ(decode_error(message(schema_of("int64", "io.debezium.time.NanoTime"), R"("x")")),
            "field after.v: expected a time of day (integer), got a string");
  const std::string vsd =
      R"({"type":"struct","fields":[],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","field":"v"})";
  EXPECT_EQ(decode_error(message(vsd, R"({"value":"AQ=="})")),
            "field after.v: VariableScaleDecimal has no \"scale\"");
  EXPECT_EQ(decode_error(message(vsd, R"({"scale":1})")),
            "field after.v: VariableScaleDecimal has no \"value\"");
  EXPECT_EQ(decode_error(message(vsd, R"({"scale":-2000000000,"value":"AQ=="})")),
            "field after.v: decimal scale -2000000000 is outside -16383..16383");
  EXPECT_EQ(decode_error(message(kDecimal2, "\"" + std::string(90004, 'A') + "\"")),
            "field after.v: Decimal of 90004 base64 characters exceeds the 90000-character limit");
  EXPECT_EQ(decode_error(message(vsd, R"("1.5")")),
            "field after.v: expected a VariableScaleDecimal {scale, value}, got a string");
}

// ------------------------------------------------------------------ envelope errors
std::string envelope(const std::string& payload) {
  return R"({"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],)"
         R"("optional":true,"name":"t.Value","field":"after"}],"optional":false,"name":"t.Envelope"},"payload":)" +
         payload + "}";
}

TEST(EnvelopeErrors, MalformedMessages) {
  EXPECT_EQ(decode_error("[1,2]"), "message: not a JSON object");
  EXPECT_EQ(decode_error("\"text\""), "message: not a JSON object");
  EXPECT_NE(decode_error("{").find("invalid JSON"), std::string::npos);
  EXPECT_NE(decode_error("").find("invalid JSON"), std::string::npos);
  for (const char* trailing :
       {R"({"op":"c","after":{"id":1},"source":{"ts_ms":1,"table":"t","lsn":1}} x)",
        R"({"op":"c","after":{"id":1},"source":{"ts_ms":1,"table":"t","lsn":1}} {})",
        R"({"op":"c","after":{"id":1},"source":{"ts_ms":1,"table":"t","lsn":1}}})"}) {
    const std::string reason = decode_error(trailing);
    EXPECT_TRUE(reason.find("trailing content") != std::string::npos ||
                reason.find("invalid JSON") != std::string::npos)
        << reason;
  }
  EXPECT_EQ(decode_error(R"({"schema":"x","payload":{}})"), "schema: expected an object");
  EXPECT_EQ(decode_error(R"({"schema":{"type":"string"},"payload":{}})"),
            "schema is not a Debezium envelope (no \"fields\" array)");
  EXPECT_EQ(
      decode_error(
          R"({"schema":{"type":"struct","fields":[{"type":"string","field":"op"}]},"payload":{}})"),
      "schema is not a Debezium envelope (no \"before\"/\"after\" field)");
  EXPECT_EQ(
      decode_error(
          R"({"schema":{"type":"struct","fields":[{"type":"struct","fields":[)"
          R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","field":"m"}],"field":"after"}]},)"
          R"("payload":{}})"),
      "schema of column m: Decimal without a \"scale\" parameter");
  EXPECT_EQ(decode_error(envelope("[]")), "payload: expected the envelope object");
}

TEST(EnvelopeErrors, MissingOrWrongEnvelopeFields) {
  const std::string source = R"("source":{"ts_ms":1,"table":"t","lsn":1})";
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},)" + source + "}")), "op is missing");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},)" + source + R"(,"op":"x"})")),
            "op 'x' is not one of c, u, d, r, t");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},)" + source + R"(,"op":"create"})")),
            "op 'create' is not one of c, u, d, r, t");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},)" + source + R"(,"op":1})")),
            "op: expected a string");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},"op":"c"})")), "source is missing");
  EXPECT_EQ(decode_error(envelope(R"({"after":null,)" + source + R"(,"op":"c"})")),
            "after is missing or null for op 'create'");
  EXPECT_EQ(decode_error(envelope(R"({)" + source + R"(,"op":"u"})")),
            "after is missing or null for op 'update'");
  EXPECT_EQ(decode_error(envelope(R"({"before":null,)" + source + R"(,"op":"d"})")),
            "before is missing or null for a delete (the table logs no before image)");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1,"extra":2},)" + source + R"(,"op":"c"})")),
            "field after.extra is not in the message's schema");
  EXPECT_EQ(decode_error(envelope(R"({"after":[1],)" + source + R"(,"op":"c"})")),
            "after: expected an object or null");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},"source":{"ts_ms":1,"lsn":1},"op":"c"})")),
            "source.table is missing");
  EXPECT_EQ(
      decode_error(envelope(R"({"after":{"id":1},"source":{"ts_ms":1,"table":"t"},"op":"c"})")),
      "source.lsn is missing");
  EXPECT_EQ(decode_error(envelope(
                R"({"after":{"id":1},"source":{"ts_ms":1,"table":"t","lsn":"0/16"},"op":"c"})")),
            "source.lsn: expected an integer");
  EXPECT_EQ(decode_error(envelope(R"({"after":{"id":1},"source":{"table":"t","lsn":1},"op":"c"})")),
            "neither source.ts_ms nor ts_ms is present");
  EXPECT_EQ(
      decode_error(envelope(R"({"after":{"id":1},"source":{"ts_ms":1,"table":"t"},"op":"c"})"),
                   Connector::MySql),
      "source.file is missing");
  EXPECT_EQ(
      decode_error(
          envelope(R"({"after":{"id":1},"source":{"ts_ms":1,"table":"t","scn":"1x"},"op":"c"})"),
          Connector::Oracle),
      "source.commit_scn '1x' is not an SCN (up to 20 decimal digits)");
}

// A position that is negative or malformed is a decode error (the record is dead-lettered
// with this reason) for every connector, never a position that sorts past every real one.
TEST(EnvelopeFields, NegativeOrMalformedPositionsAreDecodeErrorsForEveryConnector) {
  const auto with_source = [](const std::string& fields) {
    return envelope(R"({"after":{"id":1},"source":{"ts_ms":1,"table":"t",)" + fields +
                    R"(},"op":"c"})");
  };
  EXPECT_EQ(decode_error(with_source(R"("lsn":-1)")), "source.lsn -1 is negative");
  EXPECT_EQ(decode_error(with_source(R"("lsn":-9223372036854775808)")),
            "source.lsn -9223372036854775808 is negative");
  EXPECT_EQ(decode_error(with_source(R"("lsn":-5,"snapshot":"incremental")")),
            "source.lsn -5 is negative");
  for (Connector binlog : {Connector::MySql, Connector::MariaDb}) {
    EXPECT_EQ(decode_error(with_source(R"("file":"mysql-bin.000003","pos":-157,"row":0)"), binlog),
              "source.pos -157 is negative");
    EXPECT_EQ(decode_error(with_source(R"("file":"mysql-bin.000003","pos":157,"row":-1)"), binlog),
              "source.row -1 is not a row number (0..9999999999)");
    EXPECT_EQ(decode_error(with_source(R"("file":"a/b.000003","pos":157,"row":0)"), binlog),
              "source.file 'a/b.000003' is not a binlog file name (printable ASCII, no '/')");
    EXPECT_EQ(decode_error(with_source(R"("file":"bin\n.1","pos":157,"row":0)"), binlog),
              "source.file 'bin\\x0a.1' is not a binlog file name (printable ASCII, no '/')");
    EXPECT_EQ(decode_error(with_source(R"("file":"mysql-bin.000003","pos":"157","row":0)"), binlog),
              "source.pos: expected an integer");
  }
  EXPECT_EQ(decode_error(with_source(R"("commit_lsn":"0000002d:00000f58:0003",)"
                                     R"("change_lsn":"0000002d:00000f58:0002","event_serial_no":-2)"),
                         Connector::SqlServer),
            "source.event_serial_no -2 is out of range (0..9999999999)");
  EXPECT_EQ(decode_error(with_source(R"("commit_lsn":"-000002d:00000f58:0003")"),
                         Connector::SqlServer),
            "source.commit_lsn '-000002d:00000f58:0003' is not an LSN like 0000002d:00000f58:0003");
  EXPECT_EQ(decode_error(with_source(R"("commit_scn":"-10","scn":"9","ssn":0)"), Connector::Oracle),
            "source.commit_scn '-10' is not an SCN (up to 20 decimal digits)");
  EXPECT_EQ(decode_error(with_source(R"("commit_scn":"10","scn":"-9","ssn":0)"), Connector::Oracle),
            "source.scn '-9' is not an SCN (up to 20 decimal digits)");
  EXPECT_EQ(decode_error(with_source(R"("commit_scn":"10","scn":"9","ssn":-1)"), Connector::Oracle),
            "source.ssn -1 is out of range (0..9999999999)");
}

TEST(EnvelopeFields, FallsBackToThePayloadTimestampAndReadsSnapshotMarkers) {
  EnvelopeDecoder decoder(Connector::Postgres);
  auto e = decoder.decode(envelope(
      R"({"after":{"id":1},"source":{"table":"t","lsn":1,"snapshot":"last_in_data_collection"},"op":"r","ts_ms":77})"));
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  EXPECT_EQ(e->committed_at_ms, 77);
  EXPECT_TRUE(e->snapshot);
  EXPECT_EQ(e->op, Op::Read);

  e = decoder.decode(envelope(
      R"({"after":{"id":1},"source":{"ts_ms":5,"table":"t","snapshot":"incremental"},"op":"r","ts_ms":77})"));
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  EXPECT_EQ(e->committed_at_ms, 5);
  EXPECT_TRUE(e->snapshot);
  EXPECT_EQ(e->position.text, "S/00000000/00000000");

  e = decoder.decode(envelope(
      R"({"after":{"id":1},"source":{"ts_ms":5,"table":"t","lsn":1,"snapshot":true},"op":"r"})"));
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  EXPECT_TRUE(e->snapshot);

  e = decoder.decode(envelope(
      R"({"after":{"id":1},"source":{"ts_ms":5,"table":"t","lsn":1,"snapshot":null},"op":"c"})"));
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  EXPECT_FALSE(e->snapshot);
}

TEST(EnvelopeFields, PayloadFieldOrderDoesNotMatter) {
  EnvelopeDecoder decoder(Connector::Postgres);
  auto e = decoder.decode(envelope(
      R"({"ts_ms":9,"op":"u","source":{"lsn":2,"table":"t","ts_ms":8},"after":{"id":2},"before":{"id":1}})"));
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  expect_row(e->before, {{"id", i64(1)}}, "before");
  expect_row(e->after, {{"id", i64(2)}}, "after");
  EXPECT_EQ(e->committed_at_ms, 8);
}

TEST(EnvelopeFields, SchemalessMessageUsesDeclaredTypes) {
  DeclaredColumns declared{{"at", {LogicalType::TimestampMicros, 0}},
                           {"m", {LogicalType::Decimal, 2}}};
  EnvelopeDecoder decoder(Connector::Postgres, declared);
  auto e = decoder.decode(
      R"({"before":null,"after":{"m":"JxA=","at":-1,"note":"x","n":3,"f":0.5,"j":{"a":[1]}},)"
      R"("source":{"ts_ms":5,"table":"t","lsn":1},"op":"c","ts_ms":6})");
  ASSERT_TRUE(e.has_value()) << e.error().reason;
  expect_row(e->after,
             {{"m", dec("100.00")},
              {"at", ts(-1, 999'999'000)},
              {"note", str("x")},
              {"n", i64(3)},
              {"f", f64(0.5)},
              {"j", json(R"({"a":[1]})")}},
             "after");
  EXPECT_EQ(
      decode_error(R"({"after":{"m":"!x"},"source":{"ts_ms":5,"table":"t","lsn":1},"op":"c"})",
                   Connector::Postgres, declared),
      "field after.m: Decimal bytes '!x' are not valid base64");
}

TEST(Robustness, EveryTruncationOfEveryFixtureIsAnErrorNotACrash) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(fixture_dir())) {
    if (entry.path().extension() != ".json" || entry.path().string().ends_with(".key.json"))
      continue;
    const std::string text = read_file(entry.path().string());
    const std::string folder = entry.path().parent_path().filename().string();
    const Connector connector = folder == "mysql"       ? Connector::MySql
                                : folder == "mariadb"   ? Connector::MariaDb
                                : folder == "sqlserver" ? Connector::SqlServer
                                : folder == "oracle"    ? Connector::Oracle
                                                        : Connector::Postgres;
    EnvelopeDecoder decoder(connector);
    for (size_t cut = 0; cut + 2 < text.size(); cut += 5) {
      EXPECT_FALSE(decoder.decode(std::string_view(text).substr(0, cut)).has_value())
          << entry.path() << " cut at " << cut;
    }
  }
}

TEST(CapturedMessages, EveryMessageCapturedFromARealConnectorDecodes) {
  // tests/fixtures/debezium/captured/<connector>/*.json hold messages taken from the
  // running stack (cdcstack/capture_events.py); none may fail to decode. Their values
  // are checked one by one in captured_test.cpp.
  const std::filesystem::path root = fixture_dir() + "captured";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no captured messages under " << root;
  int decoded = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const auto extension = entry.path().extension();
    if (extension != ".json" && extension != ".jsonl") continue;
    const std::string path = entry.path().string();
    if (path.ends_with(".key.json")) continue;  // Kafka keys, not change events
    const Connector connector = path.find("mariadb") != std::string::npos     ? Connector::MariaDb
                                : path.find("mysql") != std::string::npos     ? Connector::MySql
                                : path.find("sqlserver") != std::string::npos ? Connector::SqlServer
                                : path.find("oracle") != std::string::npos    ? Connector::Oracle
                                                                              : Connector::Postgres;
    // A .json file is one message; a .jsonl file one message per line (tombstones,
    // written as "null", never reach the decoder and are skipped here too).
    std::vector<std::string> messages;
    const std::string text = read_file(path);
    if (extension == ".json") {
      messages.push_back(text);
    } else {
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line != "null") messages.push_back(line);
      }
    }
    EnvelopeDecoder decoder(connector);
    for (const auto& message : messages) {
      auto event = decoder.decode(message);
      ASSERT_TRUE(event.has_value()) << path << ": " << event.error().reason;
      EXPECT_FALSE(event->position.text.empty()) << path;
      EXPECT_FALSE(event->table.empty()) << path;
      EXPECT_GT(event->committed_at_ms, 0) << path;
      EXPECT_TRUE(event->after.has_value() || event->before.has_value() ||
                  event->op == Op::Truncate)
          << path;
      ++decoded;
    }
  }
  if (decoded == 0) GTEST_SKIP() << "captured/ holds no .json messages yet";
}

}  // namespace
}  // namespace metersync::debezium

namespace metersync::debezium {
namespace {

using namespace metersync::debezium::testing;

void expect_same_event(const ChangeEvent& a, const ChangeEvent& b, const std::string& what) {
  EXPECT_EQ(a.connector, b.connector) << what;
  EXPECT_EQ(a.op, b.op) << what;
  EXPECT_EQ(a.position, b.position) << what;
  EXPECT_EQ(a.committed_at_ms, b.committed_at_ms) << what;
  EXPECT_EQ(a.table, b.table) << what;
  EXPECT_EQ(a.snapshot, b.snapshot) << what;
  EXPECT_EQ(a.before.has_value(), b.before.has_value()) << what;
  EXPECT_EQ(a.after.has_value(), b.after.has_value()) << what;
  if (a.before && b.before) expect_row(a.before, b.before->columns, what + " before");
  if (a.after && b.after) expect_row(a.after, b.after->columns, what + " after");
}

TEST(RepeatedSchema, ASecondDecodeWithTheCachedSchemaGivesTheSameEvent) {
  // The first decode compiles the schema; the second takes the cached-schema path.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(fixture_dir())) {
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".json" || path.ends_with(".key.json") ||
        path.find("schemaless") != std::string::npos) {
      continue;
    }
    const std::string text = read_file(path);
    EnvelopeDecoder decoder(path.find("/sqlserver/") != std::string::npos ? Connector::SqlServer
                            : path.find("/oracle/") != std::string::npos  ? Connector::Oracle
                            : path.find("/mysql/") != std::string::npos   ? Connector::MySql
                            : path.find("/mariadb/") != std::string::npos ? Connector::MariaDb
                                                                          : Connector::Postgres);
    auto first = decoder.decode(text);
    auto second = decoder.decode(text);
    ASSERT_TRUE(first.has_value()) << path << ": " << first.error().reason;
    ASSERT_TRUE(second.has_value()) << path << ": " << second.error().reason;
    expect_same_event(*first, *second, path);
  }
}

TEST(RepeatedSchema, TheSchemaPrefixIsTheBytesBeforeThePayload) {
  const std::string text = fixture("postgres/snapshot_read.json");
  EnvelopeDecoder decoder(Connector::Postgres);
  EXPECT_EQ(decoder.schema_prefix(), nullptr);
  ASSERT_TRUE(decoder.decode(text).has_value());
  const auto prefix = decoder.schema_prefix();
  ASSERT_NE(prefix, nullptr);
  EXPECT_EQ(*prefix, text.substr(0, text.find(R"(,"payload":)") + 11));
  // The same schema again: the very same prefix object, so held records share it.
  ASSERT_TRUE(decoder.decode(text).has_value());
  EXPECT_EQ(decoder.schema_prefix(), prefix);
  // Another schema (here: another envelope name) replaces it; the old one is left as it
  // was for whoever holds it.
  std::string other = text;
  const std::string name = R"("name":"postgres.public.meter.Envelope")";
  ASSERT_NE(other.find(name), std::string::npos);
  other.replace(other.find(name), name.size(), R"("name":"postgres.public.meter2.Envelope")");
  ASSERT_TRUE(decoder.decode(other).has_value());
  ASSERT_NE(decoder.schema_prefix(), prefix);
  EXPECT_EQ(*decoder.schema_prefix(), other.substr(0, other.find(R"(,"payload":)") + 11));
  EXPECT_EQ(*prefix, text.substr(0, text.find(R"(,"payload":)") + 11));
}

TEST(RepeatedSchema, BrokenPayloadsReadTheSameWithACachedSchema) {
  const std::string good = fixture("postgres/snapshot_read.json");
  const auto payload_at = good.find(R"(,"payload":)");
  ASSERT_NE(payload_at, std::string::npos);
  const std::string schema_part = good.substr(0, payload_at);
  const std::vector<std::string> bad_payloads = {
      R"(null)",
      R"([])",
      R"({"after":{"meter_id":1},"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"r"})",
      R"({"after":null,"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"q"})",
      R"({"after":{"multiplier":"%%"},"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"r"})",
      R"({"after":{"unknown":1},"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"r"})",
      // On-Demand does not validate what it skips: both paths accept this one alike.
      R"({"after":{"active":true},"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"r"},"x":})",
      R"({"after":{"active":true,},"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"r"})",
      R"({"after":{"active":true},"source":{"ts_ms":1,"table":"meter","lsn":1},"op":"r"}})",
  };
  for (const auto& payload : bad_payloads) {
    const std::string message = schema_part + R"(,"payload":)" + payload + "}";
    EnvelopeDecoder fresh(Connector::Postgres);
    auto expected = fresh.decode(message);

    EnvelopeDecoder warmed(Connector::Postgres);
    ASSERT_TRUE(warmed.decode(good).has_value());
    auto actual = warmed.decode(message);
    ASSERT_EQ(actual.has_value(), expected.has_value()) << payload;
    if (!expected) {
      EXPECT_EQ(actual.error().reason, expected.error().reason) << payload;
    } else {
      expect_same_event(*actual, *expected, payload);
    }
  }
}

TEST(RepeatedSchema, KeysAfterThePayloadAreHandledLikeTheFullParse) {
  const std::string good = fixture("postgres/snapshot_read.json");
  std::string with_extra = good;
  const auto end = with_extra.rfind('}');
  with_extra.insert(end, R"(,"extra":{"op":"d"})");
  EnvelopeDecoder decoder(Connector::Postgres);
  auto first = decoder.decode(good);
  auto second = decoder.decode(with_extra);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value()) << second.error().reason;
  expect_same_event(*first, *second, "extra key");
}

}  // namespace
}  // namespace metersync::debezium
