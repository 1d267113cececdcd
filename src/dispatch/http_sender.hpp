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
#include <optional>
#include <string>

#include "dispatch/retry_policy.hpp"

typedef void CURL;
struct curl_slist;

namespace metersync::dispatch {

struct SenderSettings {
  std::string url;
  std::optional<std::string> authorization;   // the Authorization header value
  std::optional<std::string> signing_secret;  // adds X-MeterSync-Signature when set
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};
  bool tls_verify = true;
  std::optional<std::string> ca_file;
};

class HttpSender {
 public:
  explicit HttpSender(SenderSettings settings);  // throws std::runtime_error naming the fix
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // One attempt: POST `body` with Idempotency-Key `batch_id`.
  AttemptResult post(const std::string& body, const std::string& batch_id);

  // New connections opened so far (reuse shows as posts > connections).
  long connections_opened() const { return connections_; }

 private:
  SenderSettings settings_;
  CURL* curl_ = nullptr;
  long connections_ = 0;
};

}  // namespace metersync::dispatch
