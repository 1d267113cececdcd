#include "wire/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

#include "wire/contract.hpp"

namespace metersync::wire {

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(),
           &length) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0x0f]);
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
