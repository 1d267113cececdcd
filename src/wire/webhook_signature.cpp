#include "wire/webhook_signature.hpp"

#include <openssl/crypto.h>

#include <array>
#include <charconv>

#include "wire/contract.hpp"
#include "wire/signature.hpp"

namespace metersync::wire {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t kMacBytes = 32;  // SHA-256
// webhook-timestamp is at most this many digits: seconds up to the year 2286 need 10, so
// anything longer is refused before it can overflow.
constexpr std::size_t kMaxTimestampDigits = 12;

int sextet(char c) {
  const auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::expected<Verified, std::string> verify_standard(const VerifyOptions& options,
                                                     const HeaderLookup& header,
                                                     std::string_view body, int64_t now) {
  const std::string id = header(kWebhookIdHeader);
  const std::string timestamp_text = header(kWebhookTimestampHeader);
  const std::string signature = header(kWebhookSignatureHeader);
  std::string missing;
  for (const auto& [name, value] : {std::pair{kWebhookIdHeader, &id},
                                    std::pair{kWebhookTimestampHeader, &timestamp_text},
                                    std::pair{kWebhookSignatureHeader, &signature}}) {
    if (value->empty()) missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  if (!missing.empty()) return std::unexpected("missing " + missing + " (Standard Webhooks)");

  int64_t timestamp = 0;
  const char* end = timestamp_text.data() + timestamp_text.size();
  auto [stop, ec] = std::from_chars(timestamp_text.data(), end, timestamp);
  if (timestamp_text.size() > kMaxTimestampDigits || timestamp_text.front() == '-' ||
      ec != std::errc{} || stop != end) {
    return std::unexpected(std::string(kWebhookTimestampHeader) + " \"" + timestamp_text.substr(0, 32) +
                           "\" is not whole seconds since 1970");
  }
  const int64_t tolerance = options.tolerance.count();
  if (timestamp < now - tolerance) {
    return std::unexpected(std::string(kWebhookTimestampHeader) + " " + timestamp_text + " is " +
                           std::to_string(now - timestamp) + " s old; the tolerance is " +
                           std::to_string(tolerance) + " s");
  }
  if (timestamp > now + tolerance) {
    return std::unexpected(std::string(kWebhookTimestampHeader) + " " + timestamp_text + " is " +
                           std::to_string(timestamp - now) + " s in the future; the tolerance is " +
                           std::to_string(tolerance) + " s");
  }

  // Entries of other versions are skipped (the specification lets a sender add them).
  std::vector<std::string> given;
  std::string_view rest = signature;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (!entry.starts_with(kWebhookSignatureVersion)) continue;
    auto mac = base64_decode(entry.substr(kWebhookSignatureVersion.size()));
    if (mac && mac->size() == kMacBytes) given.push_back(std::move(*mac));
  }
  if (given.empty()) {
    return std::unexpected(std::string(kWebhookSignatureHeader) +
                           ": no v1,<base64 of a 32-byte HMAC-SHA256> entry");
  }
  const std::string content = id + "." + timestamp_text + "." + std::string(body);
  bool matched = false;
  // Every pair is compared, in constant time each, so the time taken says nothing about
  // which key or entry came close.
  for (const auto& key : options.keys) {
    const std::string expected = hmac_sha256(key.bytes, content);
    for (const auto& mac : given) {
      matched |= CRYPTO_memcmp(mac.data(), expected.data(), kMacBytes) == 0;
    }
  }
  if (!matched) {
    return std::unexpected(std::string(kWebhookSignatureHeader) +
                           ": no entry matches the body under a configured secret");
  }
  return Verified{SignatureScheme::Standard, id, timestamp};
}

std::expected<Verified, std::string> verify_legacy(const VerifyOptions& options,
                                                   const HeaderLookup& header,
                                                   std::string_view body) {
  const std::string given = header(kSignatureHeader);
  if (given.empty()) return std::unexpected("missing " + std::string(kSignatureHeader));
  bool matched = false;
  for (const auto& key : options.keys) matched |= signature_matches(given, key.bytes, body);
  if (!matched) return std::unexpected(std::string(kSignatureHeader) + " does not match the body");
  return Verified{SignatureScheme::Legacy, "", 0};
}

}  // namespace

std::string_view scheme_name(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::Standard:
      return "standard";
    case SignatureScheme::Legacy:
      return "legacy";
    case SignatureScheme::Both:
      return "both";
  }
  return "standard";
}

std::optional<SignatureScheme> parse_scheme(std::string_view name) {
  for (auto scheme : {SignatureScheme::Standard, SignatureScheme::Legacy, SignatureScheme::Both}) {
    if (scheme_name(scheme) == name) return scheme;
  }
  return std::nullopt;
}

std::string base64_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      group = (group << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0U);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      text.push_back(j <= n ? kAlphabet[(group >> (18 - 6 * j)) & 0x3f] : '=');
    }
  }
  return text;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;  // a lone sextet holds no whole byte
  std::string bytes;
  bytes.reserve(text.size() * 3 / 4);
  uint32_t group = 0;
  int bits = 0;
  for (const char c : text) {
    const int value = sextet(c);
    if (value < 0) return std::nullopt;
    group = (group << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((group >> bits) & 0xff));
    }
  }
  return bytes;
}

std::expected<SigningKey, std::string> signing_key(std::string_view secret) {
  if (secret.starts_with(kWebhookSecretPrefix)) {
    auto bytes = base64_decode(secret.substr(kWebhookSecretPrefix.size()));
    if (!bytes) {
      return std::unexpected(std::string("a ") + std::string(kWebhookSecretPrefix) +
                             " secret must be followed by base64 (A-Z a-z 0-9 + /)");
    }
    if (bytes->empty()) return std::unexpected(std::string(kWebhookSecretPrefix) + " secret with no key");
    return SigningKey{std::move(*bytes)};
  }
  if (secret.empty()) return std::unexpected("empty secret");
  return SigningKey{std::string(secret)};
}

std::string webhook_signature_entry(const SigningKey& key, std::string_view id, int64_t timestamp,
                                    std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return std::string(kWebhookSignatureVersion) + base64_encode(hmac_sha256(key.bytes, content));
}

std::vector<Header> sign_request(SignatureScheme scheme, std::span<const SigningKey> keys,
                                 std::string_view id, int64_t timestamp, std::string_view body) {
  std::vector<Header> headers;
  if (keys.empty()) return headers;
  if (scheme != SignatureScheme::Legacy) {
    std::string entries;
    for (const auto& key : keys) {
      if (!entries.empty()) entries += ' ';
      entries += webhook_signature_entry(key, id, timestamp, body);
    }
    headers.push_back({std::string(kWebhookIdHeader), std::string(id)});
    headers.push_back({std::string(kWebhookTimestampHeader), std::to_string(timestamp)});
    headers.push_back({std::string(kWebhookSignatureHeader), std::move(entries)});
  }
  if (scheme != SignatureScheme::Standard) {
    headers.push_back({std::string(kSignatureHeader), signature_header(keys.front().bytes, body)});
  }
  return headers;
}

std::expected<Verified, std::string> verify_request(const VerifyOptions& options,
                                                    const HeaderLookup& header,
                                                    std::string_view body, int64_t now) {
  switch (options.scheme) {
    case SignatureScheme::Standard:
      return verify_standard(options, header, body, now);
    case SignatureScheme::Legacy:
      return verify_legacy(options, header, body);
    case SignatureScheme::Both:
      // A request that carries any Standard Webhooks header is judged by that scheme alone:
      // a stale or wrong standard signature cannot be rescued by the legacy one.
      for (auto name : {kWebhookIdHeader, kWebhookTimestampHeader, kWebhookSignatureHeader}) {
        if (!header(name).empty()) return verify_standard(options, header, body, now);
      }
      return verify_legacy(options, header, body);
  }
  return std::unexpected("unknown signature scheme");
}

int64_t unix_seconds_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace metersync::wire
