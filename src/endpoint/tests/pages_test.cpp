// The pages' helpers: escaping, the template, the changed columns, the cookie.
#include "endpoint/pages.hpp"

#include <gtest/gtest.h>

namespace metersync::endpoint {
namespace {

TEST(Pages, EscapesEveryCharacterThatCouldEndTextOrAnAttribute) {
  EXPECT_EQ(html_escape(R"("><img src=x onerror=alert(1)>)"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  EXPECT_EQ(html_escape("<script>a&b</script>'"), "&lt;script&gt;a&amp;b&lt;/script&gt;&#39;");
  EXPECT_EQ(html_escape("Zähler ⚡ 🔌"), "Zähler ⚡ 🔌");  // non-ASCII passes unchanged
}

TEST(Pages, TemplateValuesAreNotScannedForPlaceholders) {
  EXPECT_EQ(fill_template("<t>@TITLE@</t><m>@MAIN@</m> a@b",
                          {{"TITLE", "@MAIN@"}, {"MAIN", "x"}}),
            "<t>@MAIN@</t><m>x</m> a@b");
}

TEST(Pages, EveryPageIsEmbedded) {
  for (const char* name : {"shell.html", "app.css", "app.js"}) {
    auto asset = page_asset(name);
    ASSERT_TRUE(asset) << name;
    EXPECT_FALSE(asset->empty()) << name;
  }
  EXPECT_FALSE(page_asset("missing.js"));
  const std::string page = render_page("missing", "<b>", "<p>ok</p>");
  EXPECT_NE(page.find("data-page=\"missing\""), std::string::npos);
  EXPECT_NE(page.find("<title>&lt;b&gt; ·"), std::string::npos);
  EXPECT_NE(page.find("<p>ok</p>"), std::string::npos);
}

TEST(Pages, ChangedColumnsLeaveOutThePositionAndCommitTime) {
  const auto before = nlohmann::ordered_json::parse(
      R"({"serialNumber":"A","status":"active","sourcePosition":"1","sourceCommittedAt":"t1"})");
  const auto after = nlohmann::ordered_json::parse(
      R"({"serialNumber":"A","status":"retired","sourcePosition":"2","sourceCommittedAt":"t2","multiplier":"2"})");
  EXPECT_EQ(changed_columns(before, after), (std::vector<std::string>{"status", "multiplier"}));
  EXPECT_TRUE(changed_columns(nullptr, after).empty());
}

TEST(Pages, CookieValueFindsItsName) {
  EXPECT_EQ(cookie_value("a=1; metersync_read=6869; b=2", "metersync_read"), "6869");
  EXPECT_EQ(cookie_value("xmetersync_read=1", "metersync_read"), "");
  EXPECT_EQ(cookie_value("", "metersync_read"), "");
  EXPECT_EQ(hex_of("t;k"), "743b6b");
}

TEST(Pages, TimesOfTheRangeFilterTakeTheStoredForm) {
  EXPECT_EQ(utc_millis_of("2026-12-06T14:30Z"), "2026-12-06T14:30:00.000Z");
  EXPECT_EQ(utc_millis_of("2026-12-06T14:30:05Z"), "2026-12-06T14:30:05.000Z");
  EXPECT_EQ(utc_millis_of("2026-12-06T14:30:05.5Z"), "2026-12-06T14:30:05.500Z");
  EXPECT_EQ(utc_millis_of("2026-12-06T14:30:05.123456Z"), "2026-12-06T14:30:05.123Z");
  for (const char* bad : {"", "Z", "2026-12-06T14:30", "2026-12-06 14:30Z", "2026-12-06T14:30:05.Z",
                          "2026-12-06T14:30+01:00", "2026-12-6T14:30Z", "x026-12-06T14:30Z",
                          "2026-12-06T14:30:05.1234567890Z", "2026-12-06T14:30:05.1a3Z"}) {
    EXPECT_FALSE(utc_millis_of(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace metersync::endpoint
