// UTF-8 <-> UTF-16 for ODBC's wide calls (SQLWCHAR is 16 bits with unixODBC and the
// Windows driver manager alike), so NVARCHAR text never passes through a locale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace metersync::sink {

// Length of the valid UTF-8 sequence starting at text[i] (1 to 4), its code point in `code`;
// 0 when it is not one: a bad lead byte, truncated, overlong, a surrogate or beyond U+10FFFF.
// One rule for everything the sink sends as text, bound or inside a staged document.
std::size_t utf8_sequence(std::string_view text, std::size_t i, uint32_t& code);

// nullopt on malformed UTF-8 (overlong forms, surrogates, truncated sequences).
std::optional<std::u16string> utf8_to_utf16(std::string_view utf8);
// nullopt on an unpaired surrogate.
std::optional<std::string> utf16_to_utf8(std::u16string_view utf16);

}  // namespace metersync::sink
