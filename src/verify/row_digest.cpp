#include "verify/row_digest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <bit>
#include <memory>
#include <stdexcept>

#include "sink/utf16.hpp"

namespace metersync::verify {
namespace {

using Md5 = std::array<unsigned char, 16>;

// OpenSSL 3 looks the algorithm up again on every EVP_Digest(EVP_md5(), …) call, which cost as
// much as hashing a row's text: the method is fetched once, and each thread keeps its context.
const EVP_MD* md5_method() {
  static EVP_MD* const method = EVP_MD_fetch(nullptr, "MD5", nullptr);
  if (method == nullptr) throw std::runtime_error("verify: OpenSSL has no MD5");
  return method;
}

EVP_MD_CTX* md5_context() {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                    &EVP_MD_CTX_free);
  if (!context) throw std::runtime_error("verify: OpenSSL could not make a digest context");
  return context.get();
}

Md5 md5_of(std::string_view utf8, Encoding encoding) {
  std::string bytes;
  std::string_view input = utf8;
  if (encoding == Encoding::Utf16Le) {
    // The text is valid UTF-8 (it passed the mapping or came from the database); what
    // SQL Server hashes for an NVARCHAR is its UTF-16LE bytes.
    const auto wide = sink::utf8_to_utf16(utf8);
    if (!wide) throw std::invalid_argument("verify: text is not valid UTF-8");
    bytes.reserve(wide->size() * 2);
    for (char16_t unit : *wide) {
      bytes.push_back(static_cast<char>(unit & 0xFF));
      bytes.push_back(static_cast<char>(unit >> 8));
    }
    input = bytes;
  }
  Md5 out{};
  unsigned int length = 0;
  EVP_MD_CTX* context = md5_context();
  if (EVP_DigestInit_ex2(context, md5_method(), nullptr) != 1 ||
      EVP_DigestUpdate(context, input.data(), input.size()) != 1 ||
      EVP_DigestFinal_ex(context, out.data(), &length) != 1)
    throw std::runtime_error("verify: OpenSSL refused MD5");
  return out;
}

uint64_t big_endian(const Md5& digest, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | digest[i];
  return value;
}

}  // namespace

Encoding encoding_of(config::Dialect dialect) {
  return dialect == config::Dialect::SqlServer ? Encoding::Utf16Le : Encoding::Utf8;
}

std::vector<const config::TargetColumn*> compared_columns(const config::SourceConfig& source) {
  std::vector<const config::TargetColumn*> columns;
  for (const auto& target : config::target_columns())
    if (source.mapping.find(target.name) != nullptr) columns.push_back(&target);
  return columns;
}

std::optional<std::string> canonical_value(const MeterRow& row, const config::TargetColumn& column) {
  const std::string_view name = column.name;
  const auto timestamp_text = [](const std::optional<Timestamp>& ts) -> std::optional<std::string> {
    if (!ts) return std::nullopt;
    // to_iso(6): "2026-11-24T19:43:00.123456Z" -> "2026-11-24 19:43:00.123456"
    std::string text = ts->to_iso(6);
    if (const auto t = text.find('T'); t != std::string::npos) text[t] = ' ';
    if (!text.empty() && text.back() == 'Z') text.pop_back();
    return text;
  };
  const auto decimal_text = [](const std::optional<Decimal>& d) -> std::optional<std::string> {
    if (!d) return std::nullopt;
    return d->to_string();
  };
  if (name == "SourceMeterId") return row.source_meter_id;
  if (name == "SerialNumber") return row.serial_number;
  if (name == "MeterType") return row.meter_type;
  if (name == "Manufacturer") return row.manufacturer;
  if (name == "Status") return row.status;
  if (name == "InstallDate")
    return row.install_date ? std::optional<std::string>(row.install_date->to_iso()) : std::nullopt;
  if (name == "Multiplier") return row.multiplier.to_string();
  if (name == "LastReadingValue") return decimal_text(row.last_reading_value);
  if (name == "LastReadingAt") return timestamp_text(row.last_reading_at);
  if (name == "Latitude") return decimal_text(row.latitude);
  if (name == "Longitude") return decimal_text(row.longitude);
  throw std::invalid_argument("verify: " + std::string(name) + " is not a mapped column");
}

ComparedRow compared_row(const MeterRow& row,
                         const std::vector<const config::TargetColumn*>& columns) {
  ComparedRow out;
  out.values.reserve(columns.size());
  for (const auto* column : columns) out.values.push_back(canonical_value(row, *column));
  return out;
}

std::string digest_text(const ComparedRow& row) {
  std::string text;
  for (size_t i = 0; i < row.values.size(); ++i) {
    if (i > 0) text.push_back('\x1f');
    if (const auto& value = row.values[i]; value.has_value()) {
      text.push_back('v');
      text += value.value();
    } else {
      text.push_back('n');
    }
  }
  return text;
}

uint64_t row_hash(const ComparedRow& row, Encoding encoding) {
  return big_endian(md5_of(digest_text(row), encoding), 7);
}

uint32_t key_hash(std::string_view key, Encoding encoding) {
  return static_cast<uint32_t>(big_endian(md5_of(key, encoding), 4));
}

uint32_t bucket_of(std::string_view key, Encoding encoding, uint32_t buckets) {
  return key_hash(key, encoding) % buckets;
}

uint32_t bucket_count_for(int64_t rows) {
  const uint64_t wanted = rows <= 0 ? 1 : static_cast<uint64_t>(rows) / 16;
  return static_cast<uint32_t>(std::clamp<uint64_t>(std::bit_ceil(std::max<uint64_t>(wanted, 1)),
                                                    64, 1u << 20));
}

std::optional<HashSum> parse_sum(std::string_view text) {
  // A DECIMAL SUM may print as "123" or "123.0" depending on the driver; only an integer
  // value is accepted.
  if (const auto point = text.find('.'); point != std::string_view::npos) {
    if (text.substr(point + 1).find_first_not_of('0') != std::string_view::npos)
      return std::nullopt;
    text = text.substr(0, point);
  }
  if (text.empty() || text.size() > 38) return std::nullopt;
  HashSum value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

std::string sum_text(HashSum sum) {
  if (sum == 0) return "0";
  std::string text;
  while (sum > 0) {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(sum % 10)));
    sum /= 10;
  }
  return text;
}

}  // namespace metersync::verify
