// UTF-8 <-> UTF-16 for ODBC's wide calls (SQLWCHAR is 16 bits with unixODBC and the
// Windows driver manager alike), so NVARCHAR text never passes through a locale.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace metersync::sink {

// nullopt on malformed UTF-8 (overlong forms, surrogates, truncated sequences).
std::optional<std::u16string> utf8_to_utf16(std::string_view utf8);
// nullopt on an unpaired surrogate.
std::optional<std::string> utf16_to_utf8(std::u16string_view utf16);

}  // namespace metersync::sink
