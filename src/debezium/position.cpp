#include "debezium/position.hpp"

#include <array>
#include <charconv>

namespace metersync::debezium {
namespace {

constexpr size_t kMaxPositionLength = 100;  // Meter Master's SourcePosition is VARCHAR(100)

void append_decimal(std::string& out, uint64_t value, int width) {
  std::array<char, 24> text{};
  auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value);
  const auto length = static_cast<int>(end - text.data());
  if (length < width) out.append(static_cast<size_t>(width - length), '0');
  out.append(text.data(), end);
}

void append_hex8(std::string& out, uint32_t value) {
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(value >> shift) & 0xF]);
}

std::unexpected<std::string> missing(std::string_view field) {
  return std::unexpected("source." + std::string(field) + " is missing");
}

// A non-negative integer that must fit `width` decimal digits.
bool append_bounded(std::string& out, int64_t value, int width) {
  if (value < 0) return false;
  uint64_t limit = 1;
  for (int i = 0; i < width; ++i) limit *= 10;
  if (static_cast<uint64_t>(value) >= limit) return false;
  append_decimal(out, static_cast<uint64_t>(value), width);
  return true;
}

// A binlog file name as the server writes it ("mysql-bin.000003"): printable ASCII without
// '/', the separator of the position's parts, so that two positions never read alike.
bool binlog_file_name(std::string_view file) {
  for (char c : file) {
    if (c <= ' ' || c > '~' || c == '/') return false;
  }
  return true;
}

// A field's text for an error message: control and non-ASCII bytes as \xNN.
std::string printable(std::string_view text) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (char c : text.substr(0, 64)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7E) {
      out += "\\x";
      out.push_back(kDigits[byte >> 4]);
      out.push_back(kDigits[byte & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  if (text.size() > 64) out += "...";
  return out;
}

// SQL Server LSN text as Debezium's Lsn#toString writes it: 10 bytes in hex,
// "xxxxxxxx:xxxxxxxx:xxxx" (lower case there); written upper case so one case sorts.
bool append_sqlserver_lsn(std::string& out, std::string_view lsn) {
  if (lsn.size() != 22 || lsn[8] != ':' || lsn[17] != ':') return false;
  for (size_t i = 0; i < lsn.size(); ++i) {
    char c = lsn[i];
    if (i == 8 || i == 17) {
      out.push_back(':');
      continue;
    }
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    const bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
    out.push_back(c);
  }
  return true;
}

// Oracle SCNs arrive as decimal strings (Scn#toString; they may exceed 2^63).
bool append_scn(std::string& out, std::string_view scn) {
  if (scn.empty() || scn.size() > 20) return false;
  for (char c : scn) {
    if (c < '0' || c > '9') return false;
  }
  out.append(20 - scn.size(), '0');
  out.append(scn);
  return true;
}

}  // namespace

std::optional<uint64_t> last_sequence_lsn(std::string_view sequence) {
  const size_t close = sequence.rfind('"');
  if (close == std::string_view::npos || close == 0) return std::nullopt;
  const size_t open = sequence.rfind('"', close - 1);
  if (open == std::string_view::npos) return std::nullopt;
  // Nothing but the closing bracket may follow the last element.
  const std::string_view rest = sequence.substr(close + 1);
  if (rest.find_first_not_of(" ]") != std::string_view::npos) return std::nullopt;
  const std::string_view digits = sequence.substr(open + 1, close - open - 1);
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::expected<Position, std::string> encode_position(Connector connector,
                                                     const SourceCoordinates& source) {
  Position position;
  std::string& out = position.text;
  out.reserve(64);
  switch (connector) {
    case Connector::Postgres: {
      // Snapshot reads sort before every streamed change ("S/..." < "W/..."). A change's
      // LSN is where it was written, not where its transaction committed: a transaction
      // that wrote before the slot's consistent point and committed after it is streamed
      // with an LSN below the snapshot's, yet it is newer than the snapshot row. Debezium
      // gives no commit LSN per event, so the phase carries that order.
      uint64_t lsn = 0;
      if (source.lsn) {
        // An LSN is unsigned in PostgreSQL; Debezium writes it as int64, so a negative value
        // is a damaged event. Cast, it would become the highest position there is and every
        // later change of that meter would be ignored as stale.
        if (*source.lsn < 0) {
          return std::unexpected("source.lsn " + std::to_string(*source.lsn) + " is negative");
        }
        out.append(source.snapshot || source.incremental_snapshot ? "S/" : "W/");
        lsn = static_cast<uint64_t>(*source.lsn);
      } else if (!source.incremental_snapshot) {
        return missing("lsn");
      } else if (const auto window = source.sequence ? last_sequence_lsn(*source.sequence) : std::nullopt) {
        // An incremental-snapshot read carries no LSN of its own (PostgresSourceInfoStructMaker),
        // but its `sequence` says where the stream stood when the read's window closed.
        // Debezium's watermarks drop the read when the key changed inside the window, so
        // the read is newer than every change of the key streamed before it: it sorts as
        // a streamed change at the window's LSN and replaces the stored row (what an
        // ad-hoc snapshot, and `verify --repair`, are for). Left behind: a change written
        // before the window closed and committed after it, whose LSN is below the
        // window's (docs/verify.md, "What repair cannot do").
        out.append("W/");
        lsn = *window;
      } else {
        // No window position either: sort first, so the read fills rows the stream has
        // not written and never rolls a streamed row back.
        out.append("S/");
      }
      append_hex8(out, static_cast<uint32_t>(lsn >> 32));
      out.push_back('/');
      append_hex8(out, static_cast<uint32_t>(lsn));
      break;
    }
    case Connector::MySql:
    case Connector::MariaDb: {
      if (!source.file || source.file->empty()) return missing("file");
      if (!binlog_file_name(*source.file)) {
        return std::unexpected("source.file '" + printable(*source.file) +
                               "' is not a binlog file name (printable ASCII, no '/')");
      }
      if (!source.pos) return missing("pos");
      if (!source.row) return missing("row");
      out.append(*source.file);
      out.push_back('/');
      if (!append_bounded(out, *source.pos, 20)) {
        return std::unexpected("source.pos " + std::to_string(*source.pos) + " is negative");
      }
      out.push_back('/');
      if (!append_bounded(out, *source.row, 10)) {
        return std::unexpected("source.row " + std::to_string(*source.row) +
                               " is not a row number (0..9999999999)");
      }
      break;
    }
    case Connector::SqlServer: {
      if (!source.commit_lsn) return missing("commit_lsn");
      if (!append_sqlserver_lsn(out, *source.commit_lsn)) {
        return std::unexpected("source.commit_lsn '" + std::string(*source.commit_lsn) +
                               "' is not an LSN like 0000002d:00000f58:0003");
      }
      out.push_back('/');
      // Snapshot reads have no change LSN and no serial: they sort before every change
      // committed at the same LSN.
      if (source.change_lsn) {
        if (!append_sqlserver_lsn(out, *source.change_lsn)) {
          return std::unexpected("source.change_lsn '" + std::string(*source.change_lsn) +
                                 "' is not an LSN like 0000002d:00000f58:0003");
        }
      } else {
        out.append("00000000:00000000:0000");
      }
      out.push_back('/');
      const auto serial = source.event_serial_no.value_or(0);
      if (!append_bounded(out, serial, 10)) {
        return std::unexpected("source.event_serial_no " + std::to_string(serial) +
                               " is out of range (0..9999999999)");
      }
      break;
    }
    case Connector::Oracle: {
      if (!source.scn) return missing("scn");
      // Snapshot reads have no commit SCN: the snapshot's SCN is the point they reflect.
      const std::string_view commit = source.commit_scn ? *source.commit_scn : *source.scn;
      if (!append_scn(out, commit)) {
        return std::unexpected("source.commit_scn '" + std::string(commit) +
                               "' is not an SCN (up to 20 decimal digits)");
      }
      out.push_back('/');
      if (!append_scn(out, *source.scn)) {
        return std::unexpected("source.scn '" + std::string(*source.scn) +
                               "' is not an SCN (up to 20 decimal digits)");
      }
      out.push_back('/');
      const auto ssn = source.ssn.value_or(0);
      if (!append_bounded(out, ssn, 10)) {
        return std::unexpected("source.ssn " + std::to_string(ssn) +
                               " is out of range (0..9999999999)");
      }
      break;
    }
  }
  if (out.size() > kMaxPositionLength) {
    return std::unexpected("position '" + out + "' is longer than " +
                           std::to_string(kMaxPositionLength) + " characters");
  }
  return position;
}

}  // namespace metersync::debezium
