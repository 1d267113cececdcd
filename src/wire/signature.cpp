#include "wire/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

#include "wire/contract.hpp"

namespace metersync::wire {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &length) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string mac = hmac_sha256(secret, body);
  std::string hex;
  hex.reserve(mac.size() * 2);
  for (const char c : mac) {
    const auto byte = static_cast<unsigned char>(c);
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0x0f]);
  }
  return hex;
}

std::string signature_header(std::string_view secret, std::string_view body) {
  return std::string(kSignaturePrefix) + hmac_sha256_hex(secret, body);
}

bool signature_matches(std::string_view header, std::string_view secret, std::string_view body) {
  if (!header.starts_with(kSignaturePrefix)) return false;
  std::string_view given = header.substr(kSignaturePrefix.size());
  const std::string expected = hmac_sha256_hex(secret, body);
  if (given.size() != expected.size()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace metersync::wire
