// The server in this process on a free port, spoken to over real HTTP.
#include "endpoint/endpoint_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "wire/signature.hpp"
#include "wire/webhook_signature.hpp"

namespace metersync::endpoint {
namespace {

using Json = nlohmann::json;

std::string batch_body(const std::string& source, const std::string& batch_id,
                       const std::vector<std::pair<std::string, std::string>>& id_and_meter) {
  Json events = Json::array();
  for (const auto& [id, meter] : id_and_meter) {
    events.push_back({{"id", id}, {"op", "update"}, {"committed_at", "2026-11-24T19:43:00.123Z"},
                      {"position", id}, {"meter", {{"sourceSystem", source}, {"sourceMeterId", meter}}},
                      {"before", nullptr}, {"after", {{"serial", "S-1"}}}});
  }
  return Json{{"source", source}, {"batch_id", batch_id}, {"events", events}}.dump();
}

// The headers the dispatcher sends for `body` (Standard Webhooks under "s3cret" unless told).
httplib::Headers signed_headers(const std::string& body, int64_t timestamp = wire::unix_seconds_now(),
                                std::vector<std::string> secrets = {"s3cret"},
                                wire::SignatureScheme scheme = wire::SignatureScheme::Standard) {
  std::vector<wire::SigningKey> keys;
  for (const auto& secret : secrets) keys.push_back(*wire::signing_key(secret));
  const std::string id = Json::parse(body).value("batch_id", "");
  httplib::Headers headers;
  for (const auto& [name, value] : wire::sign_request(scheme, keys, id, timestamp, body)) {
    headers.emplace(name, value);
  }
  return headers;
}

class EndpointServerTest : public ::testing::Test {
 protected:
  // Tests of other settings change the options before the server starts.
  virtual void configure(ServerOptions&) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("endpoint-server-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ServerOptions options;
    options.port = 0;
    options.db_path = (dir_ / "endpoint.db").string();
    options.signing_secret = "s3cret";
    options.read_token = "reader";
    options.admin = true;
    options.worker_threads = 8;
    configure(options);
    server_ = std::make_unique<EndpointServer>(options);
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
    reader_ = {{"Authorization", "Bearer reader"}};
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  httplib::Result post(const std::string& source, const std::string& body,
                       std::optional<httplib::Headers> headers = std::nullopt) {
    return client_->Post(("/v1/sources/" + source + "/changes").c_str(),
                         headers.value_or(signed_headers(body)), body, "application/json");
  }
  // The refusal's status and reason.
  std::pair<int, std::string> refusal(const std::string& body, const httplib::Headers& headers) {
    auto res = post("postgres", body, headers);
    if (!res) return {0, "no answer"};
    if (res->status == 200) return {200, ""};
    return {res->status, Json::parse(res->body).value("error", "")};
  }

  std::filesystem::path dir_;
  std::unique_ptr<EndpointServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  httplib::Headers reader_;
};

TEST_F(EndpointServerTest, HealthNeedsNoToken) {
  auto res = client_->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Json::parse(res->body)["status"], "ok");
}

TEST_F(EndpointServerTest, StoresSignedBatchesAndDropsDuplicates) {
  auto body = batch_body("postgres", "postgres-0-0", {{"e1", "m1"}, {"e2", "m2"}});
  auto first = post("postgres", body);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(Json::parse(first->body)["accepted"], 2);
  auto again = post("postgres", body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(Json::parse(again->body)["duplicates"], 2);
  EXPECT_EQ(Json::parse(again->body)["batch_seen_before"], true);

  auto history = client_->Get("/v1/sources/postgres/changes?limit=1", reader_);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->status, 200);
  auto page = Json::parse(history->body);
  ASSERT_EQ(page["changes"].size(), 1u);
  EXPECT_EQ(page["changes"][0]["event"]["id"], "e1");
  EXPECT_EQ(page["has_more"], true);
  EXPECT_EQ(page["total"], 2);
  auto next = client_->Get(
      ("/v1/sources/postgres/changes?after=" + page["next_cursor"].get<std::string>()).c_str(),
      reader_);
  ASSERT_TRUE(next);
  auto page2 = Json::parse(next->body);
  ASSERT_EQ(page2["changes"].size(), 1u);
  EXPECT_EQ(page2["changes"][0]["event"]["id"], "e2");
  EXPECT_EQ(page2["has_more"], false);

  auto meter = client_->Get("/v1/sources/postgres/meters/m2", reader_);
  ASSERT_TRUE(meter);
  ASSERT_EQ(meter->status, 200);
  EXPECT_EQ(Json::parse(meter->body)["meter"]["sourceMeterId"], "m2");
  auto meters = client_->Get("/v1/sources/postgres/meters", reader_);
  ASSERT_TRUE(meters);
  EXPECT_EQ(Json::parse(meters->body)["meters"].size(), 2u);
  EXPECT_EQ(client_->Get("/v1/sources/postgres/meters/nope", reader_)->status, 404);
  EXPECT_EQ(Json::parse(client_->Get("/v1/sources/mysql/changes", reader_)->body)["total"], 0);
}

TEST_F(EndpointServerTest, RejectsAlteredBodiesBadBatchesAndUnknownRoutes) {
  auto body = batch_body("postgres", "postgres-0-0", {{"e1", "m1"}});
  std::string altered = body;
  altered.replace(altered.find("S-1"), 3, "S-2");
  auto tampered = post("postgres", altered, signed_headers(body));
  ASSERT_TRUE(tampered);
  EXPECT_EQ(tampered->status, 401);
  auto unsigned_post = post("postgres", body, httplib::Headers{});
  EXPECT_EQ(unsigned_post->status, 401);
  auto wrong_route = post("mysql", body);
  EXPECT_EQ(wrong_route->status, 400);
  EXPECT_NE(Json::parse(wrong_route->body)["error"].get<std::string>().find("route of \"mysql\""),
            std::string::npos);
  EXPECT_EQ(post("nosuch", body)->status, 404);
  EXPECT_EQ(Json::parse(client_->Get("/v1/sources/postgres/changes", reader_)->body)["total"], 0);
}

TEST_F(EndpointServerTest, StandardWebhooksRefusalsSayWhy) {
  const auto body = batch_body("postgres", "postgres-0-5-6", {{"e5", "m1"}, {"e6", "m2"}});
  const int64_t now = wire::unix_seconds_now();
  auto [status, reason] = refusal(body, signed_headers(body, now - 400));
  EXPECT_EQ(status, 401);
  EXPECT_NE(reason.find("s old; the tolerance is 300 s"), std::string::npos) << reason;
  std::tie(status, reason) = refusal(body, signed_headers(body, now + 400));
  EXPECT_EQ(status, 401);
  EXPECT_NE(reason.find("in the future"), std::string::npos) << reason;
  std::tie(status, reason) = refusal(body, signed_headers(body, now, {"guess"}));
  EXPECT_EQ(status, 401);
  EXPECT_NE(reason.find("no entry matches"), std::string::npos) << reason;
  auto bad = signed_headers(body);
  bad.erase("webhook-signature");
  bad.emplace("webhook-signature", "v1,%%%");
  EXPECT_EQ(refusal(body, bad),
            std::pair(401, std::string("webhook-signature: no v1,<base64 of a 32-byte HMAC-SHA256> entry")));
  auto partial = signed_headers(body);
  partial.erase("webhook-timestamp");
  EXPECT_EQ(refusal(body, partial),
            std::pair(401, std::string("missing webhook-timestamp (Standard Webhooks)")));
  // The legacy header alone does not pass the standard check.
  EXPECT_EQ(refusal(body, {{"X-MeterSync-Signature", wire::signature_header("s3cret", body)}}).first, 401);
  // A validly signed id that is not the body's batch_id.
  const auto other = batch_body("postgres", "postgres-0-7-7", {{"e7", "m1"}});
  auto moved = signed_headers(other);
  moved.erase("webhook-id");
  moved.erase("webhook-signature");
  moved.emplace("webhook-id", "postgres-0-9-9");
  moved.emplace("webhook-signature",
                wire::webhook_signature_entry(*wire::signing_key("s3cret"), "postgres-0-9-9", now, other));
  moved.erase("webhook-timestamp");
  moved.emplace("webhook-timestamp", std::to_string(now));
  std::tie(status, reason) = refusal(other, moved);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(reason, "webhook-id \"postgres-0-9-9\" differs from batch_id \"postgres-0-7-7\"");
  EXPECT_EQ(Json::parse(client_->Get("/v1/sources/postgres/changes", reader_)->body)["total"], 0);
}

TEST_F(EndpointServerTest, AnAcceptedIdIsAnsweredIdempotentlyOrRefusedWithAnotherBody) {
  const auto body = batch_body("postgres", "postgres-0-5-6", {{"e5", "m1"}, {"e6", "m2"}});
  const auto first = signed_headers(body);
  ASSERT_EQ(refusal(body, first).first, 200);
  // The same request again (a replay within the tolerance, or a retry whose answer was lost):
  // answered 200, nothing stored twice.
  auto again = post("postgres", body, first);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(Json::parse(again->body)["duplicates"], 2);
  EXPECT_EQ(Json::parse(again->body)["batch_seen_before"], true);
  // The same id with another body, even validly signed: refused, nothing stored.
  const auto forged = batch_body("postgres", "postgres-0-5-6", {{"e5", "m1"}, {"e-new", "m3"}});
  auto [status, reason] = refusal(forged, signed_headers(forged));
  EXPECT_EQ(status, 409);
  EXPECT_NE(reason.find("accepted before with another body"), std::string::npos) << reason;
  EXPECT_EQ(Json::parse(client_->Get("/v1/sources/postgres/changes", reader_)->body)["total"], 2);
}

class EndpointRotationTest : public EndpointServerTest {
 protected:
  void configure(ServerOptions& options) override {
    options.signing_secret = "whsec_bmV3LXNlY3JldA==";
    options.signing_secret_previous = "s3cret";
    options.timestamp_tolerance = std::chrono::seconds(60);
  }
};

TEST_F(EndpointRotationTest, EitherSecretPassesAndTheToleranceIsConfigurable) {
  const auto body = batch_body("postgres", "postgres-0-1-1", {{"e1", "m1"}});
  EXPECT_EQ(refusal(body, signed_headers(body)).first, 200);  // the previous secret
  const auto next = batch_body("postgres", "postgres-0-2-2", {{"e2", "m1"}});
  EXPECT_EQ(refusal(next, signed_headers(next, wire::unix_seconds_now(), {"whsec_bmV3LXNlY3JldA=="})).first, 200);
  const auto late = batch_body("postgres", "postgres-0-3-3", {{"e3", "m1"}});
  auto [status, reason] = refusal(late, signed_headers(late, wire::unix_seconds_now() - 61));
  EXPECT_EQ(status, 401);
  EXPECT_NE(reason.find("the tolerance is 60 s"), std::string::npos) << reason;
}

class EndpointLegacyTest : public EndpointServerTest {
 protected:
  void configure(ServerOptions& options) override { options.signature_scheme = "legacy"; }
};

TEST_F(EndpointLegacyTest, TheDeprecatedHeaderStillWorksWhenChosen) {
  const auto body = batch_body("postgres", "postgres-0-1-1", {{"e1", "m1"}});
  EXPECT_EQ(refusal(body, {{"X-MeterSync-Signature", wire::signature_header("s3cret", body)}}).first, 200);
  EXPECT_EQ(refusal(body + " ", {{"X-MeterSync-Signature", wire::signature_header("s3cret", body)}}),
            std::pair(401, std::string("X-MeterSync-Signature does not match the body")));
  EXPECT_EQ(refusal(body, signed_headers(body)).first, 401);  // standard headers only
}

TEST_F(EndpointServerTest, ReadsNeedTheToken) {
  EXPECT_EQ(client_->Get("/v1/sources/postgres/changes")->status, 401);
  EXPECT_EQ(client_->Get("/v1/sources/postgres/meters", {{"Authorization", "Bearer nope"}})->status,
            401);
  EXPECT_EQ(client_->Get("/admin/faults")->status, 401);
}

TEST_F(EndpointServerTest, InjectsFaultsPerSource) {
  auto set = client_->Put("/admin/faults/postgres", reader_, "status:429:retry_after=3:count=1",
                          "text/plain");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200) << set->body;
  auto body = batch_body("postgres", "postgres-0-0", {{"e1", "m1"}});
  auto limited = post("postgres", body);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "3");
  EXPECT_EQ(post("postgres", body)->status, 200);  // count=1 used up

  client_->Put("/admin/faults/postgres", reader_, "close", "text/plain");
  auto broken = post("postgres", body);
  EXPECT_FALSE(broken && broken->status == 200);
  // Another source is not affected.
  EXPECT_EQ(post("mysql", batch_body("mysql", "mysql-0-0", {{"x", "m"}}))->status, 200);
  EXPECT_EQ(client_->Delete("/admin/faults/postgres", reader_)->status, 200);
  EXPECT_EQ(post("postgres", body)->status, 200);
  EXPECT_EQ(client_->Put("/admin/faults/postgres", reader_, "bogus", "text/plain")->status, 400);
}

TEST_F(EndpointServerTest, StreamsNewChanges) {
  std::string received;
  std::thread reader([&] {
    httplib::Client stream("127.0.0.1", server_->port());
    stream.set_read_timeout(20, 0);
    stream.Get("/v1/sources/postgres/stream?after=0", reader_,
               [&](const char* data, size_t length) {
                 received.append(data, length);
                 return received.find("\"id\":\"e2\"") == std::string::npos;
               });
  });
  ASSERT_EQ(post("postgres", batch_body("postgres", "b1", {{"e1", "m1"}}))->status, 200);
  ASSERT_EQ(post("mysql", batch_body("mysql", "b1", {{"x1", "m1"}}))->status, 200);
  ASSERT_EQ(post("postgres", batch_body("postgres", "b2", {{"e2", "m1"}}))->status, 200);
  reader.join();
  EXPECT_NE(received.find("event: change\ndata: {"), std::string::npos) << received;
  EXPECT_NE(received.find("\"id\":\"e1\""), std::string::npos) << received;
  EXPECT_NE(received.find("\"id\":\"e2\""), std::string::npos);
  EXPECT_EQ(received.find("\"id\":\"x1\""), std::string::npos);
}

}  // namespace
}  // namespace metersync::endpoint

namespace metersync::endpoint {
namespace {

std::string meter_event(const std::string& id, const std::string& op, const std::string& meter,
                        const std::string& serial, const std::string& status) {
  return Json{{"id", id}, {"op", op}, {"committed_at", "2026-11-24T19:43:00.123Z"},
              {"position", id},
              {"meter", {{"sourceSystem", "postgres"}, {"sourceMeterId", meter},
                         {"serialNumber", serial}, {"status", status}}},
              {"before", nullptr}, {"after", nullptr}}
      .dump();
}

std::string batch_of(const std::string& batch_id, const std::vector<std::string>& events) {
  Json list = Json::array();
  for (const auto& e : events) list.push_back(Json::parse(e));
  return Json{{"source", "postgres"}, {"batch_id", batch_id}, {"events", list}}.dump();
}

TEST_F(EndpointServerTest, PagesNeedTheTokenAndTheLoginSetsAnHttpOnlyCookie) {
  httplib::Headers html = {{"Accept", "text/html"}};
  auto page = client_->Get("/", html);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 401);
  EXPECT_NE(page->body.find("name=\"token\""), std::string::npos);

  auto wrong = client_->Post("/login", "token=nope&next=/", "application/x-www-form-urlencoded");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_FALSE(wrong->has_header("Set-Cookie"));

  // An address of another site is not followed after the sign-in.
  auto right = client_->Post("/login", "token=reader&next=//evil.example/",
                             "application/x-www-form-urlencoded");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 303);
  EXPECT_EQ(right->get_header_value("Location"), "/");
  const std::string cookie = right->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);

  httplib::Headers with_cookie = {{"Cookie", cookie.substr(0, cookie.find(';'))}};
  auto overview = client_->Get("/", with_cookie);
  ASSERT_TRUE(overview);
  EXPECT_EQ(overview->status, 200);
  EXPECT_NE(overview->get_header_value("Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);
  auto json = client_->Get("/v1/overview", with_cookie);
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 200);
  EXPECT_EQ(client_->Get("/v1/overview", {{"Cookie", "metersync_read=00"}})->status, 401);
  EXPECT_EQ(client_->Get("/assets/app.js")->status, 200);
}

TEST_F(EndpointServerTest, UnknownSourcesAndMetersAnswerAReadableEscapedPage) {
  httplib::Headers reader_html = {{"Authorization", "Bearer reader"}, {"Accept", "text/html"}};
  auto source = client_->Get("/sources/%3Cscript%3E", reader_html);
  ASSERT_TRUE(source);
  EXPECT_EQ(source->status, 404);
  EXPECT_NE(source->body.find("&quot;&lt;script&gt;&quot;"), std::string::npos);
  EXPECT_EQ(source->body.find("<script>"), std::string::npos);
  auto meter = client_->Get("/sources/postgres/meters/%22%3E%3Cimg%20onerror%3Dx%3E", reader_html);
  ASSERT_TRUE(meter);
  EXPECT_EQ(meter->status, 404);
  EXPECT_NE(meter->body.find("&quot;&gt;&lt;img onerror=x&gt;"), std::string::npos);
  auto elsewhere = client_->Get("/no/such/page", reader_html);
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 404);
  EXPECT_NE(elsewhere->body.find("Not found"), std::string::npos);
}

TEST_F(EndpointServerTest, EventsComeNewestFirstWithTheirChangedColumnsAndFilters) {
  ASSERT_EQ(post("postgres", batch_of("b1", {meter_event("e1", "create", "m1", "S", "active"),
                                             meter_event("e2", "create", "m2", "T", "active"),
                                             meter_event("e3", "update", "m1", "S", "retired")}))
                ->status,
            200);
  ASSERT_EQ(post("postgres", batch_of("b1", {meter_event("e1", "create", "m1", "S", "active"),
                                             meter_event("e2", "create", "m2", "T", "active"),
                                             meter_event("e3", "update", "m1", "S", "retired")}))
                ->status,
            200);
  auto res = client_->Get("/v1/sources/postgres/events?limit=2", reader_);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto page = Json::parse(res->body);
  ASSERT_EQ(page["events"].size(), 2U);
  EXPECT_EQ(page["events"][0]["event"]["id"], "e3");
  EXPECT_EQ(page["events"][0]["changed"], Json::array({"status"}));
  EXPECT_TRUE(page["events"][1]["changed"].is_null());  // m2's first version
  EXPECT_TRUE(page["has_more"]);
  auto rest = Json::parse(client_->Get(("/v1/sources/postgres/events?before=" +
                                        page["next_before"].get<std::string>()).c_str(),
                                       reader_)->body);
  ASSERT_EQ(rest["events"].size(), 1U);
  EXPECT_EQ(rest["events"][0]["event"]["id"], "e1");

  auto updates = Json::parse(
      client_->Get("/v1/sources/postgres/events?op=update&meter_id=m1", reader_)->body);
  ASSERT_EQ(updates["events"].size(), 1U);

  // The time range: received in [from, to), UTC.
  auto received = [&](const std::string& query) {
    auto answer = client_->Get(("/v1/sources/postgres/events?" + query).c_str(), reader_);
    return answer->status == 200 ? Json::parse(answer->body)["events"].size() : std::size_t{999};
  };
  EXPECT_EQ(received("from=2000-01-01T00:00Z"), 3U);
  EXPECT_EQ(received("from=2000-01-01T00:00Z&to=2000-01-02T00:00:00.000Z"), 0U);
  EXPECT_EQ(received("from=2999-01-01T00:00:00Z"), 0U);
  EXPECT_EQ(received("to=2999-01-01T00:00Z&op=create"), 2U);
  const std::string stamp = rest["events"][0]["received_at"];
  EXPECT_EQ(received("from=" + stamp + "&to=" + stamp), 0U) << "to is exclusive";
  EXPECT_EQ(client_->Get("/v1/sources/postgres/events?from=yesterday", reader_)->status, 400);
  EXPECT_EQ(client_->Get("/v1/sources/postgres/events?to=2026-12-06T10:00", reader_)->status, 400)
      << "a time without its zone is refused, not guessed";
  auto history = Json::parse(client_->Get("/v1/sources/postgres/meters/m1/history", reader_)->body);
  ASSERT_EQ(history["events"].size(), 2U);
  EXPECT_EQ(history["events"][0]["event"]["op"], "create");
  EXPECT_EQ(history["events"][1]["event"]["op"], "update");
  EXPECT_EQ(client_->Get("/v1/sources/postgres/meters/nope/history", reader_)->status, 404);

  auto overview = Json::parse(client_->Get("/v1/overview", reader_)->body);
  const auto& postgres = overview["sources"][3];
  EXPECT_EQ(postgres["source"], "postgres");
  EXPECT_EQ(postgres["events"], 3);
  EXPECT_EQ(postgres["duplicates"], 3);
  EXPECT_EQ(postgres["per_window"].back(), 3);
  EXPECT_EQ(overview["signature"], "standard");
}

class EndpointOpenReadsTest : public EndpointServerTest {
  void configure(ServerOptions& options) override {
    options.read_token.clear();
    options.open_reads = true;
  }
};

TEST_F(EndpointOpenReadsTest, ReadsAndPagesNeedNoTokenAndSaySo) {
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  auto overview = Json::parse(client_->Get("/v1/overview")->body);
  EXPECT_EQ(overview["read_token"], false);
  EXPECT_EQ(client_->Get("/v1/sources/postgres/changes")->status, 200);
  EXPECT_EQ(client_->Get("/admin/faults")->status, 401);  // faults still need a token
}

}  // namespace
}  // namespace metersync::endpoint
