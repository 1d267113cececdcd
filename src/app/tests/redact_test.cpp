#include "app/redact.hpp"

#include <gtest/gtest.h>

namespace metersync::app {
namespace {

TEST(Redact, HidesPasswordsWhateverTheirCase) {
  EXPECT_EQ(redact_connection_string("Driver=PostgreSQL Unicode;Server=127.0.0.1;UID=ms;PWD=s3cret;Database=m"),
            "Driver=PostgreSQL Unicode;Server=127.0.0.1;UID=ms;PWD=***;Database=m");
  EXPECT_EQ(redact_connection_string("DSN=x;password=abc"), "DSN=x;password=***");
  EXPECT_EQ(redact_connection_string("DSN=x; Pwd =abc;"), "DSN=x; Pwd =***;");
}

TEST(Redact, BracedValuesWithSemicolonsAreHiddenWhole) {
  std::string out = redact_connection_string("Driver={FreeTDS};PWD={a;b=c};UID=sa");
  EXPECT_EQ(out, "Driver={FreeTDS};PWD=***;UID=sa");
  EXPECT_EQ(out.find("a;b"), std::string::npos);
}

TEST(Redact, LeavesStringsWithoutSecretsAlone) {
  EXPECT_EQ(redact_connection_string("DSN=metermaster"), "DSN=metermaster");
  EXPECT_EQ(redact_connection_string(""), "");
}

}  // namespace
}  // namespace metersync::app
