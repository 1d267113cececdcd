// Request signatures, both schemes, for both ends: the dispatcher signs (sign_request,
// src/dispatch/http_sender), the endpoint service verifies (verify_request,
// src/endpoint/endpoint_server).
//
// Standard Webhooks (https://www.standardwebhooks.com, "standard"): the headers webhook-id,
// webhook-timestamp (whole seconds since 1970) and webhook-signature, which holds one
// space-separated "v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>" entry per key
// the sender signs with, so a receiver keeps verifying while a secret is rotated. A
// receiver refuses a timestamp further than a tolerance (5 minutes by default) from its
// clock, in either direction: a captured request cannot be replayed later.
//
// The earlier scheme ("legacy", deprecated): X-MeterSync-Signature: sha256=<hex HMAC-SHA256
// of the body> (signature.hpp), with no timestamp, so no protection against replays.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace metersync::wire {

enum class SignatureScheme {
  Standard,  // webhook-id, webhook-timestamp, webhook-signature
  Legacy,    // X-MeterSync-Signature (deprecated)
  Both,      // sender: both header sets; receiver: either (standard when its headers are present)
};

// "standard", "legacy", "both".
std::string_view scheme_name(SignatureScheme scheme);
std::optional<SignatureScheme> parse_scheme(std::string_view name);

// The HMAC key a secret stands for. "whsec_<base64>" (how Standard Webhooks writes secrets)
// is the base64-decoded part, padded or not; any other text is its own bytes, so a secret
// configured before Standard Webhooks keeps signing with the same key. Empty secrets and a
// whsec_ part that is not base64 are refused with the reason.
struct SigningKey {
  std::string bytes;
};
std::expected<SigningKey, std::string> signing_key(std::string_view secret);

// Standard base64 with padding (RFC 4648, section 4).
std::string base64_encode(std::string_view bytes);
// Accepts missing padding; nullopt for any other character or a truncated final group.
std::optional<std::string> base64_decode(std::string_view text);

// One "v1,<base64>" entry: HMAC-SHA256 under `key` of "<id>.<timestamp>.<body>".
std::string webhook_signature_entry(const SigningKey& key, std::string_view id, int64_t timestamp,
                                    std::string_view body);

struct Header {
  std::string name;
  std::string value;
};

// The headers that sign one attempt: standard (one entry per key, in the given order) and/or
// legacy (the first key only: its header holds one signature). `keys` must not be empty.
std::vector<Header> sign_request(SignatureScheme scheme, std::span<const SigningKey> keys,
                                 std::string_view id, int64_t timestamp, std::string_view body);

struct VerifyOptions {
  SignatureScheme scheme = SignatureScheme::Standard;
  std::vector<SigningKey> keys;  // any of them may have signed (rotation)
  std::chrono::seconds tolerance{300};
};

struct Verified {
  SignatureScheme scheme;  // Standard or Legacy: which headers were verified
  std::string id;          // webhook-id (standard only)
  int64_t timestamp = 0;   // webhook-timestamp (standard only)
};

// Returns a request header's value, "" when absent.
using HeaderLookup = std::function<std::string(std::string_view name)>;

// Checks a request's signature against `options`; the error is the reason, for the 401 answer
// and the log (never a secret). `now` is the receiver's clock in seconds since 1970.
std::expected<Verified, std::string> verify_request(const VerifyOptions& options,
                                                    const HeaderLookup& header,
                                                    std::string_view body, int64_t now);

// Seconds since 1970 by the system clock: what webhook-timestamp carries.
int64_t unix_seconds_now();

}  // namespace metersync::wire
