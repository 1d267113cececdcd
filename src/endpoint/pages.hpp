// The endpoint service's pages (docs/endpoints.md#pages): the helpers the routes use to build
// them. The HTML, CSS and JavaScript live in pages/ and are compiled into the binary
// (embed_pages.cmake), so the service needs nothing beside itself at run time.
//
// Only the pages the server renders itself (login, not found) carry values in their HTML, and
// those are escaped here; the data pages fill themselves from the JSON routes with textContent.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metersync::endpoint {

// An embedded file of pages/ ("app.js"), or nullopt.
std::optional<std::string_view> page_asset(std::string_view name);

// `text` safe as HTML element content and as a double- or single-quoted attribute value.
std::string html_escape(std::string_view text);

// The page shell with its @NAME@ placeholders replaced once each: a value is never scanned for
// placeholders itself. Values must already be HTML (escaped where they hold data).
std::string fill_template(std::string_view shell,
                          const std::vector<std::pair<std::string, std::string>>& values);

// A whole page: `kind` selects what app.js does (overview, source, meter, login, missing).
std::string render_page(std::string_view kind, std::string_view title, std::string_view main_html);

// The columns of `meter` whose values differ from `previous` (both the mapped Meter Master
// row), in `meter`'s order; the position and commit time, which move with every change, are
// left out. Empty when there is no previous version.
std::vector<std::string> changed_columns(const nlohmann::ordered_json& previous,
                                         const nlohmann::ordered_json& meter);

// A UTC time as the time-range filter takes it (YYYY-MM-DDTHH:MM, with :SS and .fff optional,
// then Z) in the form the store keeps received times, YYYY-MM-DDTHH:MM:SS.mmmZ, whose text order
// is the time order; nullopt for anything else.
std::optional<std::string> utc_millis_of(std::string_view text);

// The value of cookie `name` in a Cookie header, or empty.
std::string cookie_value(std::string_view header, std::string_view name);

// Lower-case hex of the bytes: cookies carry the token in this form, which needs no quoting
// whatever characters the token has.
std::string hex_of(std::string_view bytes);

}  // namespace metersync::endpoint
