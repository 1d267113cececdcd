#include "sink/utf16.hpp"

namespace metersync::sink {

std::size_t utf8_sequence(std::string_view text, std::size_t i, uint32_t& code) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  uint32_t minimum = 0;
  if (lead < 0x80) {
    code = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    code = lead & 0x1F, length = 2, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    code = lead & 0x0F, length = 3, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    code = lead & 0x07, length = 4, minimum = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

std::optional<std::u16string> utf8_to_utf16(std::string_view utf8) {
  // Written through a pointer into a buffer sized for the worst case (one UTF-16 unit per
  // byte), then cut: the staged JSON document of a batch is megabytes, nearly all ASCII,
  // and push_back per unit was a visible share of the sink's CPU.
  std::u16string out(utf8.size(), u'\0');
  char16_t* to = out.data();
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto byte = static_cast<unsigned char>(utf8[i]);
    if (byte < 0x80) {
      *to++ = static_cast<char16_t>(byte);
      ++i;
      continue;
    }
    uint32_t code = 0;
    const std::size_t length = utf8_sequence(utf8, i, code);
    if (length == 0) return std::nullopt;
    if (code >= 0x10000) {  // 4 bytes in, 2 units out: still within the buffer
      code -= 0x10000;
      *to++ = static_cast<char16_t>(0xD800 + (code >> 10));
      *to++ = static_cast<char16_t>(0xDC00 + (code & 0x3FF));
    } else {
      *to++ = static_cast<char16_t>(code);
    }
    i += length;
  }
  out.resize(static_cast<std::size_t>(to - out.data()));
  return out;
}

std::optional<std::string> utf16_to_utf8(std::u16string_view utf16) {
  std::string out;
  out.reserve(utf16.size());
  for (size_t i = 0; i < utf16.size(); ++i) {
    uint32_t code = utf16[i];
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (i + 1 >= utf16.size()) return std::nullopt;
      const uint32_t low = utf16[i + 1];
      if (low < 0xDC00 || low > 0xDFFF) return std::nullopt;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
      ++i;
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      return std::nullopt;
    }
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }
  return out;
}

}  // namespace metersync::sink
