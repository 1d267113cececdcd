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

#include "endpoint/pages.hpp"
#include "wire/contract.hpp"
#include "wire/webhook_signature.hpp"

namespace metersync::endpoint {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
// A live stream writes at least this often, so a vanished client frees its worker.
constexpr std::chrono::seconds kKeepAlive{10};
// The overview's rate chart: this many 10-second windows (five minutes).
constexpr int kRateWindows = 30;
// The cookie the login form sets: the read token, hex-encoded (pages.hpp).
constexpr const char* kReadCookie = "metersync_read";

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

// A paging cursor (`after`, `before`): 0 when absent, nullopt when not a whole number.
std::optional<int64_t> cursor_of(const httplib::Request& req, const std::string& name) {
  if (!req.has_param(name)) return 0;
  return to_int64(req.get_param_value(name));
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

bool same_secret(const std::string& given, const std::string& expected) {
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// A stored event as the pages' routes show it: with the columns its change set, against the
// meter's version before it (null for a meter's first event, or an event of no meter).
Json annotated(const std::string& source, const StoredEvent& e, Store& store) {
  Json event = Json::parse(e.json);
  Json changed = nullptr;
  const Json& meter = event["meter"];
  if (meter.is_object() && meter.contains("sourceMeterId") && meter["sourceMeterId"].is_string()) {
    if (auto previous =
            store.previous_of_meter(source, meter["sourceMeterId"].get<std::string>(), e.seq)) {
      changed = changed_columns(Json::parse(previous->json)["meter"], meter);
    }
  }
  return Json{{"cursor", std::to_string(e.seq)}, {"batch_id", e.batch_id},
              {"received_at", e.received_at}, {"event", std::move(event)},
              {"changed", std::move(changed)}};
}

}  // namespace

struct EndpointServer::Verifier {
  wire::VerifyOptions options;
};

EndpointServer::EndpointServer(ServerOptions options)
    : options_(std::move(options)), store_(options_.db_path),
      http_(std::make_unique<httplib::Server>()) {
  if (options_.read_token.empty() && !options_.open_reads) {
    throw std::runtime_error(
        "no read token: pass --token or set METERSYNC_ENDPOINT_TOKEN (reads need a bearer token), "
        "or --open-reads to serve reads and pages to anyone who can connect");
  }
  if (!options_.read_token.empty() && options_.open_reads) {
    throw std::runtime_error("--open-reads with a read token: pass one or the other");
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

bool EndpointServer::may_read(const httplib::Request& req) const {
  if (options_.open_reads) return true;
  if (bearer_matches(req, options_.read_token)) return true;
  return same_secret(cookie_value(req.get_header_value("Cookie"), kReadCookie),
                     hex_of(options_.read_token));
}

void EndpointServer::install_routes() {
  auto known = [this](const std::string& source) {
    return std::find(options_.sources.begin(), options_.sources.end(), source) !=
           options_.sources.end();
  };
  // Runs `handler` for a known source after the read token check.
  auto read_route = [this, known](auto handler) {
    return [this, known, handler](const httplib::Request& req, httplib::Response& res) {
      if (!may_read(req)) {
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
    const auto after = cursor_of(req, "after");
    if (!after) return error(res, 400, "after: a cursor from next_cursor expected");
    auto limit = limit_of(req);
    if (!limit) return error(res, 400, "limit: a positive whole number expected");
    auto events = store_.history(source, *after, *limit + 1);
    const bool more = events.size() > static_cast<std::size_t>(*limit);
    if (more) events.pop_back();
    Json changes = Json::array();
    for (const auto& e : events) {
      changes.push_back(Json{{"cursor", std::to_string(e.seq)}, {"batch_id", e.batch_id},
                             {"received_at", e.received_at}, {"event", Json::parse(e.json)}});
    }
    const int64_t next = events.empty() ? *after : events.back().seq;
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

  // What the overview shows, every source at once.
  http_->Get("/v1/overview", [this](const httplib::Request& req, httplib::Response& res) {
    if (!may_read(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      return error(res, 401, "reads need Authorization: Bearer <token>");
    }
    Json sources = Json::array();
    for (const auto& source : options_.sources) {
      auto stats = store_.stats(source, kRateWindows);
      sources.push_back(Json{{"source", source}, {"events", stats.events},
                             {"last_received_at", stats.last_received_at.empty()
                                                      ? Json(nullptr)
                                                      : Json(stats.last_received_at)},
                             {"duplicates", stats.duplicates},
                             {"window_seconds", 10}, {"per_window", stats.per_window}});
    }
    answer(res, 200,
           Json{{"read_token", !options_.open_reads},
                {"signature", verifier_ ? options_.signature_scheme : "off"},
                {"ingest_token", options_.ingest_token.has_value()},
                {"sources", sources}});
  });

  // Newest first, for the per-source page: ?before=<cursor>&limit=&op=&meter_id=&from=&to=
  // (received in [from, to), UTC).
  http_->Get(R"(/v1/sources/([^/]+)/events)",
             read_route([this](const std::string& source, const httplib::Request& req,
                               httplib::Response& res) {
    const auto before = cursor_of(req, "before");
    if (!before) return error(res, 400, "before: a cursor from next_before expected");
    auto limit = limit_of(req);
    if (!limit) return error(res, 400, "limit: a positive whole number expected");
    EventFilter filter{req.get_param_value("op"), req.get_param_value("meter_id"), "", ""};
    for (auto [name, bound] : {std::pair{"from", &filter.received_from}, std::pair{"to", &filter.received_to}}) {
      if (!req.has_param(name) || req.get_param_value(name).empty()) continue;
      auto at = utc_millis_of(req.get_param_value(name));
      if (!at) {
        return error(res, 400, std::string(name) + ": a UTC time YYYY-MM-DDTHH:MM[:SS[.fff]]Z expected");
      }
      *bound = std::move(*at);
    }
    auto events = store_.recent(source, *before, *limit + 1, filter);
    const bool more = events.size() > static_cast<std::size_t>(*limit);
    if (more) events.pop_back();
    Json list = Json::array();
    for (const auto& e : events) list.push_back(annotated(source, e, store_));
    answer(res, 200, Json{{"source", source}, {"events", list},
                          {"next_before", events.empty() ? Json(nullptr)
                                                         : Json(std::to_string(events.back().seq))},
                          {"has_more", more}, {"last_cursor", std::to_string(store_.last_seq())}});
  }));

  // One meter's events, oldest first: ?after=<cursor>&limit=.
  http_->Get(R"(/v1/sources/([^/]+)/meters/([^/]+)/history)",
             read_route([this](const std::string& source, const httplib::Request& req,
                               httplib::Response& res) {
    const std::string meter_id = req.matches[2];
    const auto after = cursor_of(req, "after");
    if (!after) return error(res, 400, "after: a cursor from next_cursor expected");
    auto limit = limit_of(req);
    if (!limit) return error(res, 400, "limit: a positive whole number expected");
    auto events = store_.meter_history(source, meter_id, *after, *limit + 1);
    if (events.empty() && after == 0) return error(res, 404, "no meter \"" + meter_id + "\"");
    const bool more = events.size() > static_cast<std::size_t>(*limit);
    if (more) events.pop_back();
    Json list = Json::array();
    for (const auto& e : events) list.push_back(annotated(source, e, store_));
    answer(res, 200, Json{{"source", source}, {"meter_id", meter_id}, {"events", list},
                          {"next_cursor", std::to_string(events.empty() ? *after
                                                                        : events.back().seq)},
                          {"has_more", more}});
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

  install_page_routes();

  if (!options_.admin) return;
  auto admin_auth = [this](const httplib::Request& req, httplib::Response& res) {
    if (!options_.open_reads && bearer_matches(req, options_.read_token)) return true;
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

namespace {

void page(httplib::Response& res, int status, std::string_view kind, std::string_view title,
          std::string_view main_html) {
  res.status = status;
  // The pages load only their own script and style and are never framed.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                 "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                 "base-uri 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  res.set_content(render_page(kind, title, main_html), "text/html; charset=utf-8");
}

void not_found_page(httplib::Response& res, const std::string& what) {
  page(res, 404, "missing", "Not found",
       "<h1>Not found</h1><p class=\"notice\">" + html_escape(what) +
           "</p><p><a href=\"/\">Back to the overview</a></p>");
}

// Where the login form sends its user afterwards: a path of this service only.
std::string local_path(const std::string& next) {
  if (next.empty() || next[0] != '/' || next.starts_with("//") ||
      next.find('\\') != std::string::npos) {
    return "/";
  }
  return next;
}

void login_page(httplib::Response& res, int status, const std::string& next,
                std::string_view notice) {
  std::string main = "<h1>Sign in</h1>";
  if (!notice.empty()) main += "<p class=\"notice error\">" + html_escape(notice) + "</p>";
  main +=
      "<form method=\"post\" action=\"/login\" class=\"login\">"
      "<label>Read token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" "
      "required autofocus></label><input type=\"hidden\" name=\"next\" value=\"" +
      html_escape(local_path(next)) +
      "\"><button type=\"submit\">Sign in</button></form>"
      "<p class=\"hint\">The token the service was started with (--token, "
      "METERSYNC_ENDPOINT_TOKEN). It is kept in an HttpOnly cookie of this site.</p>";
  page(res, status, "login", "Sign in", main);
}

}  // namespace

void EndpointServer::install_page_routes() {
  auto known = [this](const std::string& source) {
    return std::find(options_.sources.begin(), options_.sources.end(), source) !=
           options_.sources.end();
  };
  // A page for a reader with the token; others get the login form, at the same address.
  auto page_route = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      if (!may_read(req)) return login_page(res, 401, req.path, "");
      handler(req, res);
    };
  };

  http_->Get("/", page_route([](const httplib::Request&, httplib::Response& res) {
    page(res, 200, "overview", "Endpoint service", "");
  }));
  http_->Get(R"(/sources/([^/]+))",
             page_route([known](const httplib::Request& req, httplib::Response& res) {
    const std::string source = req.matches[1];
    if (!known(source)) return not_found_page(res, "No route for source \"" + source + "\".");
    page(res, 200, "source", source, "");
  }));
  http_->Get(R"(/sources/([^/]+)/meters/([^/]+))",
             page_route([this, known](const httplib::Request& req, httplib::Response& res) {
    const std::string source = req.matches[1];
    const std::string meter_id = req.matches[2];
    if (!known(source)) return not_found_page(res, "No route for source \"" + source + "\".");
    if (store_.meter_history(source, meter_id, 0, 1).empty()) {
      return not_found_page(res, "No meter \"" + meter_id + "\" at source \"" + source + "\".");
    }
    page(res, 200, "meter", meter_id, "");
  }));
  // Script and style need no token: they hold no data.
  http_->Get(R"(/assets/([a-z]+\.(js|css)))", [](const httplib::Request& req,
                                                 httplib::Response& res) {
    const std::string name = req.matches[1];
    auto asset = page_asset(name);
    if (!asset) return not_found_page(res, "No asset \"" + name + "\".");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(*asset), name.ends_with(".js") ? "text/javascript; charset=utf-8"
                                                               : "text/css; charset=utf-8");
  });

  http_->Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
    if (options_.open_reads) {
      return page(res, 200, "login", "Sign in",
                  "<h1>No sign-in needed</h1><p class=\"notice\">This service runs without a read "
                  "token (--open-reads): every page and read route is open to whoever can "
                  "connect.</p><p><a href=\"/\">To the overview</a></p>");
    }
    login_page(res, 200, req.get_param_value("next"), "");
  });
  http_->Post("/login", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string next = local_path(req.get_param_value("next"));
    if (options_.open_reads) return res.set_redirect(next, 303);
    if (!same_secret(req.get_param_value("token"), options_.read_token)) {
      spdlog::warn("pages: refused a sign-in with a wrong token from {}", req.remote_addr);
      return login_page(res, 401, next, "Wrong token.");
    }
    // HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it. Not
    // Secure, since the service speaks plain HTTP (put TLS in front when it leaves the host).
    res.set_header("Set-Cookie", std::string(kReadCookie) + "=" + hex_of(options_.read_token) +
                                     "; Path=/; HttpOnly; SameSite=Strict");
    res.set_redirect(next, 303);
  });
  http_->Post("/logout", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie", std::string(kReadCookie) +
                                     "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.set_redirect("/login", 303);
  });

  // Any other address a browser asks for: a readable page rather than an empty 404. Answers
  // that carry a body already (the JSON routes' errors) are left as they are.
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty() &&
        req.get_header_value("Accept").find("text/html") != std::string::npos) {
      not_found_page(res, "Nothing at " + req.path + ".");
    }
  });
}

}  // namespace metersync::endpoint
