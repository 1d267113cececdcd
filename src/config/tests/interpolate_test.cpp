#include "config/interpolate.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/suggest.hpp"
#include "test_env.hpp"

namespace metersync::config {
namespace {

using testing::ScopedEnv;

TEST(Interpolate, SubstitutesVariablesAndDefaults) {
  ScopedEnv env;
  env.set("MS_A", "alpha").set("MS_EMPTY", "").unset("MS_UNSET");
  EXPECT_EQ(interpolate("x-${MS_A}-y", "k"), "x-alpha-y");
  EXPECT_EQ(interpolate("${MS_UNSET:-fallback}", "k"), "fallback");
  EXPECT_EQ(interpolate("${MS_EMPTY:-fallback}", "k"), "fallback");  // as a shell's :-
  EXPECT_EQ(interpolate("${MS_EMPTY}", "k"), "");
  EXPECT_EQ(interpolate("${MS_A:-}${MS_UNSET:-}", "k"), "alpha");
  EXPECT_EQ(interpolate("http://${MS_UNSET:-127.0.0.1:58080}/v1", "k"),
            "http://127.0.0.1:58080/v1");
  EXPECT_EQ(interpolate("no variables, $ and $x stay", "k"), "no variables, $ and $x stay");
  EXPECT_EQ(interpolate("$${MS_A}", "k"), "${MS_A}");
}

TEST(Interpolate, SubstitutedTextIsNotScannedAgain) {
  ScopedEnv env;
  env.set("MS_SECRET", "p@ss: ${MS_OTHER} # not a comment");
  EXPECT_EQ(interpolate("${MS_SECRET}", "k"), "p@ss: ${MS_OTHER} # not a comment");
}

TEST(Interpolate, SecretsWithYamlCharactersDoNotChangeTheStructure) {
  ScopedEnv env;
  env.set("MS_ODBC", "Pwd={a: b}; #x").set("MS_ODBC2", "x\ny: z");
  const Config config = load_string(R"(
kafka: { bootstrap_servers: "${MS_ODBC2}" }
sink: { connection: "${MS_ODBC}" }
sources:
  s: { connector: mysql, topic: t, mapping: { SourceMeterId: { from: id, text: decimal }, SerialNumber: a, MeterType: b, Status: c, Multiplier: d } }
)");
  EXPECT_EQ(config.sink.connection, "Pwd={a: b}; #x");
  EXPECT_EQ(config.kafka.bootstrap_servers, "x\ny: z");
}

TEST(Interpolate, ErrorsNameTheKey) {
  ScopedEnv env;
  env.unset("MS_UNSET");
  try {
    interpolate("a ${MS_UNSET} b", "sources.pg.endpoint.signing_secret");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "sources.pg.endpoint.signing_secret: environment variable MS_UNSET is not set; "
                 "export it, or give "
                 "a default as ${MS_UNSET:-value}");
  }
  EXPECT_THROW(interpolate("${MS_UNSET", "k"), ConfigError);
  EXPECT_THROW(interpolate("${}", "k"), ConfigError);
  EXPECT_THROW(interpolate("${1ABC}", "k"), ConfigError);
}

TEST(Suggest, FindsCloseNamesOnly) {
  const std::vector<std::string> columns{"SourceMeterId", "SerialNumber", "MeterType", "Status"};
  EXPECT_EQ(nearest("Serial", columns), std::optional<std::string>("SerialNumber"));
  EXPECT_EQ(nearest("serialnumber", columns), std::optional<std::string>("SerialNumber"));
  EXPECT_EQ(nearest("Staus", columns), std::optional<std::string>("Status"));
  EXPECT_EQ(nearest("Latitude", columns), std::nullopt);
  EXPECT_EQ(did_you_mean("MeterTyp", columns), "; did you mean MeterType?");
  EXPECT_EQ(did_you_mean("qqq", columns), "");
}

}  // namespace
}  // namespace metersync::config
