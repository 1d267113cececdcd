// The compared form of a Meter Master row and its digest, computed the same way by
// metersync (for mapped source rows) and by the Meter Master database (meter_master_sql.hpp),
// so that the two sides can be compared bucket by bucket without moving rows.
//
// A row's compared form is its key and the canonical text of every column the source's
// mapping fills (SourceMeterId first, then table order); the columns metersync sets itself
// (IsDeleted, SourceCommittedAt, SourcePosition, SyncedAt) are not compared: they say when
// and from where a version came, which a source table read cannot know.
//
//   canonical text   text as is; decimals with exactly the column's scale ("1.5000");
//                    dates "2026-11-24"; timestamps "2026-11-24 19:43:00.123456"
//   digest text      per column "v<text>" or "n" for NULL, joined by U+001F
//   row hash         the first 7 bytes of MD5(digest text), big-endian: 56 bits, so a sum
//                    over a million rows stays exact in every database's integer arithmetic
//   bucket           the first 4 bytes of MD5(key), big-endian, modulo the bucket count
//   bucket digest    (number of rows, sum of their row hashes)
//
// MD5 runs over the text's bytes as the database holds it: UTF-8 on PostgreSQL and MariaDB,
// UTF-16LE for SQL Server's NVARCHAR (Encoding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/meter_row.hpp"

namespace metersync::verify {

enum class Encoding { Utf8, Utf16Le };
Encoding encoding_of(config::Dialect dialect);

// The columns verify compares for a source: those its mapping has a rule for, in table
// order, SourceMeterId first.
std::vector<const config::TargetColumn*> compared_columns(const config::SourceConfig& source);

// One row in compared form: `values[i]` is the canonical text of `columns[i]` (nullopt for
// NULL); values[0] is the key.
struct ComparedRow {
  std::vector<std::optional<std::string>> values;
  // Never NULL: SourceMeterId is NOT NULL on both sides.
  const std::string& key() const {
    static const std::string none;
    const auto& first = values.front();
    return first ? *first : none;
  }
  bool operator==(const ComparedRow&) const = default;
};

std::optional<std::string> canonical_value(const MeterRow& row, const config::TargetColumn& column);
ComparedRow compared_row(const MeterRow& row,
                         const std::vector<const config::TargetColumn*>& columns);

std::string digest_text(const ComparedRow& row);
uint64_t row_hash(const ComparedRow& row, Encoding encoding);
uint32_t bucket_of(std::string_view key, Encoding encoding, uint32_t buckets);
// The first 4 bytes of MD5(key), big-endian: bucket_of is this modulo the bucket count.
uint32_t key_hash(std::string_view key, Encoding encoding);

// About 16 live rows per bucket, a power of two between 64 and 1,048,576.
uint32_t bucket_count_for(int64_t rows);

// Exact sums of 56-bit hashes (a GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 HashSum;

struct BucketDigest {
  int64_t rows = 0;
  HashSum hash_sum = 0;
  bool operator==(const BucketDigest&) const = default;
  void add(uint64_t hash) {
    ++rows;
    hash_sum += hash;
  }
};

// A database's SUM as it prints it (an integer of up to 38 digits); nullopt when it is not.
std::optional<HashSum> parse_sum(std::string_view text);
std::string sum_text(HashSum sum);

}  // namespace metersync::verify
