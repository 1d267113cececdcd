#include "wire/signature.hpp"

#include <gtest/gtest.h>

namespace metersync::wire {
namespace {

// RFC 4231, test case 2.
TEST(Signature, MatchesRfc4231Vector) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, AcceptsOnlyTheExactBody) {
  const std::string body = R"({"source":"postgres","events":[]})";
  const std::string header = "sha256=" + hmac_sha256_hex("s3cret", body);
  EXPECT_TRUE(signature_matches(header, "s3cret", body));
  EXPECT_FALSE(signature_matches(header, "s3cret", body + " "));
  EXPECT_FALSE(signature_matches(header, "other", body));
  EXPECT_FALSE(signature_matches(hmac_sha256_hex("s3cret", body), "s3cret", body));  // no prefix
  EXPECT_FALSE(signature_matches("sha256=", "s3cret", body));
  EXPECT_FALSE(signature_matches("", "s3cret", body));
  // What the dispatcher sends is what the endpoint accepts.
  EXPECT_TRUE(signature_matches(signature_header("s3cret", body), "s3cret", body));
  EXPECT_EQ(signature_header("s3cret", body), header);
}

}  // namespace
}  // namespace metersync::wire
