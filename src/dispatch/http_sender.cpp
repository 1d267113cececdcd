#include "dispatch/http_sender.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "wire/contract.hpp"
#include "wire/webhook_signature.hpp"

namespace metersync::dispatch {
namespace {

constexpr std::size_t kExcerptBytes = 512;

// libcurl's global state, set up once before the first handle (it is not thread-safe).
void global_init() {
  static const bool done = [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl global initialisation failed");
    }
    return true;
  }();
  (void)done;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) {
    curl_slist* grown = curl_slist_append(list, line.c_str());
    if (grown == nullptr) throw std::bad_alloc();
    list = grown;
  }
};

struct Response {
  std::string excerpt;
  std::optional<std::string> retry_after;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  const size_t length = size * count;
  if (response->excerpt.size() < kExcerptBytes) {
    response->excerpt.append(data, std::min(length, kExcerptBytes - response->excerpt.size()));
  }
  return length;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  const size_t length = size * count;
  std::string_view line(data, length);
  constexpr std::string_view kName = "retry-after:";
  auto same_letter = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == static_cast<unsigned char>(b);
  };
  if (line.size() > kName.size() &&
      std::ranges::equal(line.substr(0, kName.size()), kName, same_letter)) {
    line.remove_prefix(kName.size());
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    response->retry_after = std::string(line);
  }
  return length;
}

}  // namespace

struct HttpSender::Signer {
  wire::SignatureScheme scheme;
  wire::SigningKey current;
  std::optional<wire::SigningKey> previous;
  std::optional<std::chrono::system_clock::time_point> previous_until;

  // The keys of an attempt made now: the current one first (the legacy header's), then the
  // previous one while the rotation's overlap lasts.
  std::vector<wire::SigningKey> keys(std::chrono::system_clock::time_point now) const {
    std::vector<wire::SigningKey> keys{current};
    if (previous && (!previous_until || now < *previous_until)) keys.push_back(*previous);
    return keys;
  }
};

HttpSender::HttpSender(SenderSettings settings) : settings_(std::move(settings)) {
  if (settings_.signing_secret) {
    auto scheme = wire::parse_scheme(settings_.signature_scheme);
    if (!scheme) {
      throw std::runtime_error("signature_scheme \"" + settings_.signature_scheme +
                               "\": use standard, legacy or both");
    }
    auto current = wire::signing_key(*settings_.signing_secret);
    if (!current) throw std::runtime_error("signing_secret: " + current.error());
    signer_ = std::make_unique<Signer>(Signer{*scheme, std::move(*current), std::nullopt,
                                              settings_.signing_secret_previous_until});
    if (settings_.signing_secret_previous) {
      auto previous = wire::signing_key(*settings_.signing_secret_previous);
      if (!previous) throw std::runtime_error("signing_secret_previous: " + previous.error());
      signer_->previous = std::move(*previous);
    }
  }
  global_init();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw std::runtime_error("libcurl: cannot create a handle");
  curl_easy_setopt(curl_, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (threads)
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(settings_.connect_timeout.count()));
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.request_timeout.count()));
  curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
  // A small request must not wait for the server's delayed ACK (libcurl's default since
  // 7.50.2, set here so it holds whatever the library's default).
  curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, settings_.tls_verify ? 1L : 0L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, settings_.tls_verify ? 2L : 0L);
  if (settings_.ca_file) curl_easy_setopt(curl_, CURLOPT_CAINFO, settings_.ca_file->c_str());
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
  // A redirect would re-post the batch somewhere not configured: treat 3xx as an answer.
  curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
}

HttpSender::~HttpSender() { curl_easy_cleanup(curl_); }

AttemptResult HttpSender::post(const std::string& body, const std::string& batch_id) {
  HeaderList headers;
  headers.add("Content-Type: application/json");
  headers.add(std::string(wire::kIdempotencyKeyHeader) + ": " + batch_id);
  headers.add("Expect:");  // no 100-continue round trip for large bodies
  if (settings_.authorization) headers.add("Authorization: " + *settings_.authorization);
  if (signer_) {
    const auto now = std::chrono::system_clock::now();
    const int64_t timestamp =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto keys = signer_->keys(now);
    for (const auto& [name, value] : wire::sign_request(signer_->scheme, keys, batch_id, timestamp, body)) {
      headers.add(name + ": " + value);
    }
  }
  Response response;
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response);
  std::array<char, CURL_ERROR_SIZE> error{};
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error.data());
  const CURLcode code = curl_easy_perform(curl_);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);

  long opened = 0;
  if (curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK) connections_ += opened;
  AttemptResult result;
  if (code != CURLE_OK) {
    result.transport_error = error[0] != '\0' ? std::string(error.data()) : curl_easy_strerror(code);
    result.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    return result;
  }
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &result.status);
  result.retry_after = std::move(response.retry_after);
  result.body_excerpt = std::move(response.excerpt);
  return result;
}

}  // namespace metersync::dispatch
