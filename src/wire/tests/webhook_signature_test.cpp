#include "wire/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <map>

#include "wire/contract.hpp"
#include "wire/signature.hpp"

namespace metersync::wire {
namespace {

// The Standard Webhooks test vector that the reference libraries' tests check
// (github.com/standard-webhooks/standard-webhooks, libraries/*; first published by Svix).
// PyPI standardwebhooks 1.3.0 signs the same triple to the same entry.
constexpr std::string_view kVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kVectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kVectorTimestamp = 1614265330;
constexpr std::string_view kVectorBody = R"({"test": 2432232314})";
constexpr std::string_view kVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

SigningKey key_of(std::string_view secret) {
  auto key = signing_key(secret);
  EXPECT_TRUE(key.has_value()) << key.error();
  return key.value_or(SigningKey{"x"});
}

// A request's headers as a lookup.
struct Headers {
  std::map<std::string, std::string, std::less<>> values;
  HeaderLookup lookup() const {
    return [this](std::string_view name) {
      auto at = values.find(name);
      return at == values.end() ? std::string() : at->second;
    };
  }
};

Headers headers_of(const std::vector<Header>& signed_headers) {
  Headers h;
  for (const auto& [name, value] : signed_headers) h.values[name] = value;
  return h;
}

TEST(WebhookSignature, ReproducesThePublishedTestVector) {
  EXPECT_EQ(webhook_signature_entry(key_of(kVectorSecret), kVectorId, kVectorTimestamp, kVectorBody),
            kVectorSignature);
  Headers h{{{"webhook-id", std::string(kVectorId)},
             {"webhook-timestamp", std::to_string(kVectorTimestamp)},
             {"webhook-signature", std::string(kVectorSignature)}}};
  VerifyOptions options{SignatureScheme::Standard, {key_of(kVectorSecret)}, std::chrono::seconds(300)};
  auto verified = verify_request(options, h.lookup(), kVectorBody, kVectorTimestamp + 10);
  ASSERT_TRUE(verified.has_value()) << verified.error();
  EXPECT_EQ(verified->id, kVectorId);
  EXPECT_EQ(verified->timestamp, kVectorTimestamp);
}

TEST(WebhookSignature, Base64RoundTripsAndRefusesOtherCharacters) {
  for (std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");  // RFC 4648, section 10
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_decode("Zm8"), "fo");  // unpadded, as whsec_ secrets sometimes are
  EXPECT_FALSE(base64_decode("Zm8*"));
  EXPECT_FALSE(base64_decode("Z"));
}

TEST(WebhookSignature, SecretsAreWhsecBase64OrTheirOwnBytes) {
  EXPECT_EQ(key_of("whsec_c2VjcmV0").bytes, "secret");
  EXPECT_EQ(key_of("s3cret").bytes, "s3cret");  // a secret configured before keeps its key
  EXPECT_FALSE(signing_key("whsec_not base64!"));
  EXPECT_FALSE(signing_key("whsec_"));
  EXPECT_FALSE(signing_key(""));
}

TEST(WebhookSignature, SchemesNameTheirHeaders) {
  const std::vector<SigningKey> keys{key_of("whsec_bmV3LWtleQ=="), key_of("whsec_b2xkLWtleQ==")};
  auto standard = headers_of(sign_request(SignatureScheme::Standard, keys, "b-0-1-2", 1700000000, "{}"));
  EXPECT_EQ(standard.values.size(), 3U);
  EXPECT_EQ(standard.values["webhook-id"], "b-0-1-2");
  EXPECT_EQ(standard.values["webhook-timestamp"], "1700000000");
  // One entry per key, current first, space-separated.
  EXPECT_EQ(standard.values["webhook-signature"],
            webhook_signature_entry(keys[0], "b-0-1-2", 1700000000, "{}") + " " +
                webhook_signature_entry(keys[1], "b-0-1-2", 1700000000, "{}"));
  auto legacy = headers_of(sign_request(SignatureScheme::Legacy, keys, "b-0-1-2", 1700000000, "{}"));
  ASSERT_EQ(legacy.values.size(), 1U);
  EXPECT_EQ(legacy.values[std::string(kSignatureHeader)], signature_header("new-key", "{}"));
  EXPECT_EQ(headers_of(sign_request(SignatureScheme::Both, keys, "i", 1, "{}")).values.size(), 4U);
  EXPECT_TRUE(sign_request(SignatureScheme::Both, {}, "i", 1, "{}").empty());
}

class Verify : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1'700'000'000;
  const SigningKey current_ = key_of("whsec_Y3VycmVudC1rZXk=");
  const SigningKey previous_ = key_of("whsec_cHJldmlvdXMta2V5");
  const std::string body_ = R"({"source":"postgres","batch_id":"postgres-0-7-9","events":[]})";

  VerifyOptions options(SignatureScheme scheme = SignatureScheme::Standard) const {
    return VerifyOptions{scheme, {current_}, std::chrono::seconds(300)};
  }
  Headers signed_with(std::vector<SigningKey> keys, int64_t timestamp = kNow,
                      SignatureScheme scheme = SignatureScheme::Standard) const {
    return headers_of(sign_request(scheme, keys, "postgres-0-7-9", timestamp, body_));
  }
  std::string refusal(const VerifyOptions& o, const Headers& h, std::string_view body) const {
    auto verified = verify_request(o, h.lookup(), body, kNow);
    return verified ? "accepted" : verified.error();
  }
};

TEST_F(Verify, AnyEntryUnderAnyKeyPasses) {
  EXPECT_EQ(refusal(options(), signed_with({current_}), body_), "accepted");
  // The sender signs with the new and the old key during a rotation; a receiver on either passes.
  EXPECT_EQ(refusal(options(), signed_with({previous_, current_}), body_), "accepted");
  auto both_keys = options();
  both_keys.keys.push_back(previous_);
  EXPECT_EQ(refusal(both_keys, signed_with({previous_}), body_), "accepted");
  // Entries of an unknown version are skipped, not fatal.
  auto h = signed_with({current_});
  h.values["webhook-signature"] = "v2,abc " + h.values["webhook-signature"];
  EXPECT_EQ(refusal(options(), h, body_), "accepted");
}

TEST_F(Verify, RefusesWithAReason) {
  EXPECT_NE(refusal(options(), signed_with({current_}), body_ + " ").find("no entry matches"),
            std::string::npos);
  EXPECT_NE(refusal(options(), signed_with({previous_}), body_).find("no entry matches"),
            std::string::npos);
  EXPECT_EQ(refusal(options(), signed_with({current_}, kNow - 300), body_), "accepted");
  EXPECT_EQ(refusal(options(), signed_with({current_}, kNow - 301), body_),
            "webhook-timestamp 1699999699 is 301 s old; the tolerance is 300 s");
  EXPECT_EQ(refusal(options(), signed_with({current_}, kNow + 301), body_),
            "webhook-timestamp 1700000301 is 301 s in the future; the tolerance is 300 s");
  auto h = signed_with({current_});
  h.values["webhook-signature"] = "v1,not*base64";
  EXPECT_EQ(refusal(options(), h, body_),
            "webhook-signature: no v1,<base64 of a 32-byte HMAC-SHA256> entry");
  h = signed_with({current_});
  h.values["webhook-timestamp"] = "1700000000.5";
  EXPECT_EQ(refusal(options(), h, body_),
            "webhook-timestamp \"1700000000.5\" is not whole seconds since 1970");
  h.values["webhook-timestamp"] = "-1";
  EXPECT_NE(refusal(options(), h, body_).find("not whole seconds"), std::string::npos);
  h = signed_with({current_});
  h.values.erase("webhook-id");
  h.values.erase("webhook-signature");
  EXPECT_EQ(refusal(options(), h, body_),
            "missing webhook-id, webhook-signature (Standard Webhooks)");
  // The id is signed: another id with the same signature fails.
  h = signed_with({current_});
  h.values["webhook-id"] = "postgres-0-7-10";
  EXPECT_NE(refusal(options(), h, body_).find("no entry matches"), std::string::npos);
}

TEST_F(Verify, LegacyAndBoth) {
  auto legacy = signed_with({current_}, kNow, SignatureScheme::Legacy);
  EXPECT_EQ(refusal(options(SignatureScheme::Legacy), legacy, body_), "accepted");
  EXPECT_EQ(refusal(options(SignatureScheme::Both), legacy, body_), "accepted");
  EXPECT_EQ(refusal(options(SignatureScheme::Standard), legacy, body_),
            "missing webhook-id, webhook-timestamp, webhook-signature (Standard Webhooks)");
  EXPECT_EQ(refusal(options(SignatureScheme::Legacy), legacy, body_ + " "),
            "X-MeterSync-Signature does not match the body");
  // With both, standard headers decide: a stale standard signature is not rescued by the legacy one.
  auto stale_both = signed_with({current_}, kNow - 1000, SignatureScheme::Both);
  EXPECT_NE(refusal(options(SignatureScheme::Both), stale_both, body_).find("s old"), std::string::npos);
  EXPECT_EQ(refusal(options(SignatureScheme::Legacy), stale_both, body_), "accepted");
}

TEST(WebhookSignature, SchemeNames) {
  for (auto scheme : {SignatureScheme::Standard, SignatureScheme::Legacy, SignatureScheme::Both}) {
    EXPECT_EQ(parse_scheme(scheme_name(scheme)), scheme);
  }
  EXPECT_FALSE(parse_scheme("v1"));
}

}  // namespace
}  // namespace metersync::wire
