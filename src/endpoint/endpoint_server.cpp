#include "endpoint/endpoint_server.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <nlohmann/json.hpp>
#include <thread>

#include "wire/contract.hpp"
#include "wire/webhook_signature.hpp"

namespace metersync::endpoint {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
// A live stream writes at least this often, so a vanished client frees its worker.
constexpr std::chrono::seconds kKeepAlive{10};

void answer(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void error(httplib::Response& res, int status, const std::string& reason) {
  answer(res, status, Json{{"error", reason}});
}

std::optional<int64_t> to_int64(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

bool bearer_matches(const httplib::Request& req, const std::string& token) {
  const std::string expected = "Bearer " + token;
  const std::string given = req.get_header_value("Authorization");
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// `limit` query parameter, default kDefaultLimit, at most kMaxLimit.
std::optional<int> limit_of(const httplib::Request& req) {
  if (!req.has_param("limit")) return kDefaultLimit;
  auto limit = to_int64(req.get_param_value("limit"));
  if (!limit || *limit < 1) return std::nullopt;
  return static_cast<int>(std::min<int64_t>(*limit, kMaxLimit));
}

// Hex SHA-256 of a body: what the store keeps to tell a batch_id's repeat from a reuse.
std::string body_digest(const std::string& body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0f]);
  }
  return hex;
}

Json meter_state_json(const MeterState& state) {
  Json event = Json::parse(state.json);
  const std::string op = event.value("op", "");
  const Json& meter = event["meter"];
  bool deleted = op == "delete" || op == "truncate" ||
                 (meter.is_object() && meter.value("isDeleted", false));
  return Json{{"meter_id", state.meter_id},
              {"deleted", deleted},
              {"last_event_id", event["id"]},
              {"last_op", op},
              {"position", event["position"]},
              {"committed_at", event["committed_at"]},
              {"received_at", state.received_at},
              {"meter", meter}};
}

}  // namespace

struct EndpointServer::Verifier {
  wire::VerifyOptions options;
};

EndpointServer::EndpointServer(ServerOptions options)
    : options_(std::move(options)), store_(options_.db_path),
      http_(std::make_unique<httplib::Server>()) {
  if (options_.read_token.empty()) {
    throw std::runtime_error(
        "no read token: pass --token or set METERSYNC_ENDPOINT_TOKEN (reads need a bearer token)");
  }
  const auto scheme = wire::parse_scheme(options_.signature_scheme);
  if (!scheme) {
    throw std::runtime_error("--signature-scheme " + options_.signature_scheme +
                             ": use standard, legacy or both");
  }
  if (options_.signing_secret) {
    verifier_ = std::make_unique<Verifier>(
        Verifier{wire::VerifyOptions{*scheme, {}, options_.timestamp_tolerance}});
    for (const auto& [flag, secret] :
         {std::pair{"--secret", &options_.signing_secret},
          std::pair{"--secret-previous", &options_.signing_secret_previous}}) {
      if (!*secret) continue;
      auto key = wire::signing_key(**secret);
      if (!key) throw std::runtime_error(std::string(flag) + ": " + key.error());
      verifier_->options.keys.push_back(std::move(*key));
    }
  } else if (options_.signing_secret_previous) {
    throw std::runtime_error("--secret-previous without --secret: pass the new secret too");
  }
  const int threads = options_.worker_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  // An idle keep-alive connection holds a worker until this runs out, and stop() waits for
  // it: short, so SIGTERM ends the service within seconds. A dispatcher simply reconnects.
  http_->set_keep_alive_timeout(5);
  // The reply's headers and body go out in separate writes: with Nagle on, the body waits
  // for the client's delayed ACK (40 ms on Linux) on every request after a connection's first.
  http_->set_tcp_nodelay(true);
  // cpp-httplib sets SO_REUSEPORT by default, which lets a second service bind the same port
  // and take half the posts; SO_REUSEADDR alone still allows a quick restart.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  install_routes();
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.bind);
  } else if (http_->bind_to_port(options_.bind, options_.port)) {
    port_ = options_.port;
  }
  if (port_ <= 0) {
    throw std::runtime_error("cannot listen on " + options_.bind + ":" +
                             std::to_string(options_.port) +
                             " (is another endpoint service running? pick --port)");
  }
}

EndpointServer::~EndpointServer() { stop(); }

void EndpointServer::run() { http_->listen_after_bind(); }

void EndpointServer::stop() {
  store_.close_waiters();
  http_->stop();
}

void EndpointServer::install_routes() {
  auto known = [this](const std::string& source) {
    return std::find(options_.sources.begin(), options_.sources.end(), source) !=
           options_.sources.end();
  };
  // Runs `handler` for a known source after the read token check.
  auto read_route = [this, known](auto handler) {
    return [this, known, handler](const httplib::Request& req, httplib::Response& res) {
      if (!bearer_matches(req, options_.read_token)) {
        res.set_header("WWW-Authenticate", "Bearer");
        return error(res, 401, "reads need Authorization: Bearer <token>");
      }
      const std::string source = req.matches[1];
      if (!known(source)) return error(res, 404, "no route for source \"" + source + "\"");
      handler(source, req, res);
    };
  };

  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    answer(res, 200, Json{{"status", "ok"}, {"sources", options_.sources},
                          {"events", store_.last_seq()}});
  });

  http_->Post(R"(/v1/sources/([^/]+)/changes)",
              [this, known](const httplib::Request& req, httplib::Response& res) {
    const std::string source = req.matches[1];
    if (!known(source)) return error(res, 404, "no route for source \"" + source + "\"");
    if (auto fault = faults_.take(source)) {
      switch (fault->kind) {
        case Fault::Kind::Close:
          // Headers go out, then the body breaks off: the client sees a failed transfer.
          res.status = 503;
          res.set_content_provider(64, "application/json",
                                   [](size_t, size_t, httplib::DataSink&) { return false; });
          return;
        case Fault::Kind::Status:
          if (fault->retry_after_s) {
            res.set_header("Retry-After", std::to_string(*fault->retry_after_s));
          }
          return error(res, fault->status, "injected fault " + describe(*fault));
        case Fault::Kind::Sleep:
          std::this_thread::sleep_for(fault->sleep);
          break;
      }
    }
    if (options_.ingest_token && !bearer_matches(req, *options_.ingest_token)) {
      return error(res, 401, "posts need Authorization: Bearer <ingest token>");
    }
    std::optional<wire::Verified> verified;
    if (verifier_) {
      auto checked = wire::verify_request(
          verifier_->options,
          [&req](std::string_view name) { return req.get_header_value(std::string(name)); },
          req.body, wire::unix_seconds_now());
      if (!checked) {
        spdlog::warn("{}: rejected a batch: {}", source, checked.error());
        return error(res, 401, checked.error());
      }
      verified = std::move(*checked);
    }
    auto batch = parse_batch(req.body, source);
    if (!batch) {
      spdlog::warn("{}: rejected a batch: {}", source, batch.error());
      return error(res, 400, batch.error());
    }
    // The signed id must name this batch, or a signed batch could pose as another.
    for (const auto& [name, value] :
         {std::pair{wire::kIdempotencyKeyHeader,
                    req.get_header_value(std::string(wire::kIdempotencyKeyHeader))},
          std::pair{wire::kWebhookIdHeader,
                    verified && verified->scheme == wire::SignatureScheme::Standard
                        ? verified->id
                        : req.get_header_value(std::string(wire::kWebhookIdHeader))}}) {
      if (!value.empty() && value != batch->batch_id) {
        return error(res, 400, std::string(name) + " \"" + value + "\" differs from batch_id \"" +
                                   batch->batch_id + "\"");
      }
    }
    IngestResult result;
    try {
      result = store_.ingest(*batch, body_digest(req.body));
    } catch (const std::exception& e) {
      spdlog::error("{}: storing batch {} failed: {}", source, batch->batch_id, e.what());
      return error(res, 503, "storage failed; retry");
    }
    if (result.conflicting_body) {
      spdlog::warn("{}: refused batch {}: accepted before with another body", source,
                   batch->batch_id);
      return error(res, 409, "batch_id \"" + batch->batch_id +
                                 "\" was accepted before with another body; a batch id names "
                                 "its events, so it is not reused");
    }
    spdlog::debug("{}: batch {}: {} stored, {} duplicates", source, batch->batch_id,
                  result.accepted, result.duplicates);
    answer(res, 200, Json{{"batch_id", batch->batch_id}, {"accepted", result.accepted},
                          {"duplicates", result.duplicates},
                          {"batch_seen_before", result.batch_seen_before}});
  });

  http_->Get(R"(/v1/sources/([^/]+)/changes)",
             read_route([this](const std::string& source, const httplib::Request& req,
                               httplib::Response& res) {
    int64_t after = 0;
    if (req.has_param("after")) {
      auto parsed = to_int64(req.get_param_value("after"));
      if (!parsed) return error(res, 400, "after: a cursor from next_cursor expected");
      after = *parsed;
    }
    auto limit = limit_of(req);
    if (!limit) return error(res, 400, "limit: a positive whole number expected");
    auto events = store_.history(source, after, *limit + 1);
    const bool more = events.size() > static_cast<std::size_t>(*limit);
    if (more) events.pop_back();
    Json changes = Json::array();
    for (const auto& e : events) {
      changes.push_back(Json{{"cursor", std::to_string(e.seq)}, {"batch_id", e.batch_id},
                             {"received_at", e.received_at}, {"event", Json::parse(e.json)}});
    }
    const int64_t next = events.empty() ? after : events.back().seq;
    answer(res, 200, Json{{"source", source}, {"changes", changes},
                          {"next_cursor", std::to_string(next)}, {"has_more", more},
                          {"total", store_.event_count(source)}});
  }));

  http_->Get(R"(/v1/sources/([^/]+)/meters)",
             read_route([this](const std::string& source, const httplib::Request& req,
                               httplib::Response& res) {
    auto limit = limit_of(req);
    if (!limit) return error(res, 400, "limit: a positive whole number expected");
    const std::string after = req.has_param("after") ? req.get_param_value("after") : "";
    auto states = store_.meters(source, after, *limit + 1);
    const bool more = states.size() > static_cast<std::size_t>(*limit);
    if (more) states.pop_back();
    Json meters = Json::array();
    for (const auto& state : states) meters.push_back(meter_state_json(state));
    answer(res, 200, Json{{"source", source}, {"meters", meters},
                          {"next_cursor", states.empty() ? after : states.back().meter_id},
                          {"has_more", more}});
  }));

  http_->Get(R"(/v1/sources/([^/]+)/meters/([^/]+))",
             read_route([this](const std::string& source, const httplib::Request& req,
                               httplib::Response& res) {
    auto state = store_.meter(source, req.matches[2]);
    if (!state) return error(res, 404, "no meter \"" + std::string(req.matches[2]) + "\"");
    answer(res, 200, meter_state_json(*state));
  }));

  http_->Get(R"(/v1/sources/([^/]+)/stream)",
             read_route([this](const std::string& source, const httplib::Request& req,
                               httplib::Response& res) {
    // Resume after Last-Event-ID (what browsers send on reconnect) or ?after=; otherwise
    // only changes stored from now on.
    std::string resume = req.get_header_value("Last-Event-ID");
    if (resume.empty() && req.has_param("after")) resume = req.get_param_value("after");
    int64_t cursor = store_.last_seq();
    if (!resume.empty()) {
      auto parsed = to_int64(resume);
      if (!parsed) return error(res, 400, "Last-Event-ID / after: a cursor expected");
      cursor = *parsed;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto state = std::make_shared<int64_t>(cursor);
    res.set_chunked_content_provider(
        "text/event-stream", [this, source, state](size_t, httplib::DataSink& sink) {
          if (*state == store_.last_seq()) {
            store_.wait_beyond(*state, kKeepAlive);
          }
          if (!http_->is_running()) {
            sink.done();
            return true;
          }
          const int64_t last = store_.last_seq();
          auto events = store_.history(source, *state, kDefaultLimit);
          std::string chunk;
          for (const auto& e : events) {
            chunk += "id: " + std::to_string(e.seq) + "\nevent: change\ndata: " + e.json + "\n\n";
            *state = e.seq;
          }
          // Nothing of this source among the new events: skip past them.
          if (events.empty()) {
            *state = std::max(*state, last);
            chunk = ": keep-alive\n\n";
          }
          return sink.write(chunk.data(), chunk.size());
        });
  }));

  if (!options_.admin) return;
  auto admin_auth = [this](const httplib::Request& req, httplib::Response& res) {
    if (bearer_matches(req, options_.read_token)) return true;
    error(res, 401, "admin routes need Authorization: Bearer <token>");
    return false;
  };
  http_->Get("/admin/faults", [this, admin_auth](const httplib::Request& req,
                                                 httplib::Response& res) {
    if (!admin_auth(req, res)) return;
    Json faults = Json::object();
    for (const auto& [source, fault] : faults_.snapshot()) faults[source] = describe(fault);
    answer(res, 200, Json{{"faults", faults}});
  });
  http_->Put(R"(/admin/faults/([^/]+))", [this, known, admin_auth](const httplib::Request& req,
                                                                   httplib::Response& res) {
    if (!admin_auth(req, res)) return;
    const std::string source = req.matches[1];
    if (!known(source)) return error(res, 404, "no route for source \"" + source + "\"");
    auto fault = parse_fault(req.body);
    if (!fault) return error(res, 400, fault.error());
    faults_.set(source, *fault);
    spdlog::info("{}: fault set: {}", source, describe(*fault));
    answer(res, 200, Json{{"source", source}, {"fault", describe(*fault)}});
  });
  http_->Delete(R"(/admin/faults/([^/]+))", [this, admin_auth](const httplib::Request& req,
                                                               httplib::Response& res) {
    if (!admin_auth(req, res)) return;
    const std::string source = req.matches[1];
    faults_.clear(source);
    spdlog::info("{}: fault cleared", source);
    answer(res, 200, Json{{"source", source}, {"fault", nullptr}});
  });
}

}  // namespace metersync::endpoint
