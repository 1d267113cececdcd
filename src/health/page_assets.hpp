// The operations page's files, compiled into the binary at build time (cmake/embed_pages.cmake,
// as the endpoint service's pages are): pages/operations.html, pages/operations.js, and the
// endpoint pages' stylesheet app.css, shared so both look alike.
#pragma once

#include <optional>
#include <string_view>

namespace metersync::health {

// An embedded file by name ("operations.js"), or nullopt.
std::optional<std::string_view> page_asset(std::string_view name);

}  // namespace metersync::health
