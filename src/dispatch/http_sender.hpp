// Posts batch bodies to one endpoint with libcurl.
//
// One easy handle per sender, kept for its lifetime, so the TCP/TLS connection is
// reused from post to post. Thread: one sender per dispatcher thread (libcurl easy
// handles must not be shared between threads).
//
// Secrets (auth header, signing secret) are held here only; they are never logged and
// never appear in AttemptResult, which becomes the dead-letter reason.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "dispatch/retry_policy.hpp"

typedef void CURL;
struct curl_slist;

namespace metersync::dispatch {

struct SenderSettings {
  std::string url;
  std::optional<std::string> authorization;   // the Authorization header value
  // Signing (wire/webhook_signature.hpp): unsigned without a secret. The previous secret
  // signs too, beside the current one, until `previous_until` (a rotation's overlap).
  std::optional<std::string> signing_secret;
  std::optional<std::string> signing_secret_previous;
  std::optional<std::chrono::system_clock::time_point> signing_secret_previous_until;
  std::string signature_scheme = "standard";  // standard | legacy | both
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};
  bool tls_verify = true;
  std::optional<std::string> ca_file;
};

class HttpSender {
 public:
  // Throws std::runtime_error naming the fix (a secret that is not a key, an unknown scheme).
  explicit HttpSender(SenderSettings settings);
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // One attempt: POST `body` with Idempotency-Key (and webhook-id) `batch_id`, signed now:
  // every attempt carries its own webhook-timestamp.
  AttemptResult post(const std::string& body, const std::string& batch_id);

  // New connections opened so far (reuse shows as posts > connections).
  long connections_opened() const { return connections_; }

 private:
  struct Signer;  // the parsed keys and scheme (src/wire stays out of this header)
  SenderSettings settings_;
  std::unique_ptr<Signer> signer_;  // null: unsigned
  CURL* curl_ = nullptr;
  long connections_ = 0;
};

}  // namespace metersync::dispatch
