// HMAC-SHA256, and the legacy request signature `X-MeterSync-Signature: sha256=<hex>` over
// the exact body (deprecated: it signs no timestamp; webhook_signature.hpp has both schemes).
// The dispatcher signs (signature_header), the endpoint service checks (signature_matches):
// one implementation for both ends.
#pragma once

#include <string>
#include <string_view>

namespace metersync::wire {

// The 32 bytes of HMAC-SHA256 of `data` under `key`: the one HMAC of both schemes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Lower-case hex HMAC-SHA256 of `body` under `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

// "sha256=<hex HMAC-SHA256 of body>": the value of kSignatureHeader.
std::string signature_header(std::string_view secret, std::string_view body);

// True when `header` is "sha256=<hex>" and the hex equals the HMAC of `body`.
// The comparison takes the same time wherever the first difference is, so a caller
// cannot learn the signature byte by byte from response times.
bool signature_matches(std::string_view header, std::string_view secret, std::string_view body);

}  // namespace metersync::wire
