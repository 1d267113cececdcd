#include "verify/verifier.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <set>

#include "verify/parallel.hpp"

namespace metersync::verify {
namespace {

constexpr size_t kUnmappableKept = 100;

}  // namespace

std::string_view kind_name(Difference::Kind kind) {
  switch (kind) {
    case Difference::Kind::Missing: return "missing";
    case Difference::Kind::ExtraLive: return "extra_live";
    case Difference::Kind::Differing: return "differing";
  }
  return "?";
}

std::vector<Difference> diff_rows(const std::map<std::string, ComparedRow>& source,
                                  const std::map<std::string, ComparedRow>& meter_master,
                                  const std::vector<std::string>& column_names) {
  std::vector<Difference> out;
  auto s = source.begin();
  auto m = meter_master.begin();
  while (s != source.end() || m != meter_master.end()) {
    if (m == meter_master.end() || (s != source.end() && s->first < m->first)) {
      out.push_back({Difference::Kind::Missing, s->first, {}, {}});
      ++s;
    } else if (s == source.end() || m->first < s->first) {
      out.push_back({Difference::Kind::ExtraLive, m->first, {}, {}});
      ++m;
    } else {
      Difference d{Difference::Kind::Differing, s->first, {}, {}};
      const auto& a = s->second.values;
      const auto& b = m->second.values;
      for (size_t i = 1; i < a.size() && i < b.size(); ++i)
        if (a[i] != b[i])
          d.columns.push_back({i < column_names.size() ? column_names[i] : std::to_string(i), a[i], b[i]});
      if (!d.columns.empty()) out.push_back(std::move(d));
      ++s;
      ++m;
    }
  }
  return out;
}

Verifier::Verifier(SourceTable& source, MeterMasterRows& meter_master, VerifyOptions options)
    : source_(source), meter_master_(meter_master), options_(std::move(options)) {}

Result<void> Verifier::first_pass(std::vector<BucketDigest>& digests, std::shared_future<uint32_t> buckets,
                                  SourceReport& report) {
  source_.restart();
  ++report.source_passes;
  struct Hashed {
    uint32_t key = 0;
    uint64_t row = 0;
  };
  std::vector<Hashed> waiting;  // hashed before the bucket count was known
  uint32_t count = 0;
  const auto fold = [&](const Hashed& h) { digests[h.key % count].add(h.row); };
  const auto known = [&] {
    if (count == 0 && buckets.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      count = buckets.get();
      digests.assign(count, BucketDigest{});
      for (const Hashed& h : waiting) fold(h);
      waiting = {};
    }
    return count != 0;
  };
  while (true) {
    auto page = source_.next_page();
    if (!page) return std::unexpected(page.error());
    if (page->empty()) break;
    // The two MD5s of a row are as costly as its mapping: they are computed on every core.
    std::vector<Hashed> hashed(page->size());
    for_each_slice(page->size(), [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i)
        if (const auto& mapped = (*page)[i].mapped)
          hashed[i] = {key_hash(mapped->key(), options_.encoding), row_hash(*mapped, options_.encoding)};
    });
    const bool fold_now = known();
    for (size_t i = 0; i < page->size(); ++i) {
      const SourceRow& row = (*page)[i];
      if (!row.mapped) {
        ++report.unmappable_rows;
        if (report.unmappable.size() < kUnmappableKept)
          report.unmappable.push_back({row.source_key, row.failure});
        continue;
      }
      ++report.source_rows;
      if (fold_now) fold(hashed[i]);
      else waiting.push_back(hashed[i]);
    }
  }
  buckets.wait();
  known();
  return {};
}

Result<std::map<std::string, Difference>> Verifier::compare_buckets(
    const std::vector<uint32_t>& buckets, SourceReport& report, const std::function<void()>& between) {
  std::map<std::string, Difference> found;
  // Buckets hold ~16 rows each: a group of buckets keeps about max_rows_in_memory rows.
  const int64_t rows = std::max<int64_t>({report.source_rows, report.meter_master_rows, 1});
  const auto per_group = static_cast<size_t>(std::max<int64_t>(
      1, options_.max_rows_in_memory * static_cast<int64_t>(buckets_) / rows));
  for (size_t first = 0; first < buckets.size(); first += per_group) {
    const std::vector<uint32_t> group(buckets.begin() + static_cast<std::ptrdiff_t>(first),
                                      buckets.begin() + static_cast<std::ptrdiff_t>(
                                                            std::min(buckets.size(), first + per_group)));
    const std::set<uint32_t> wanted(group.begin(), group.end());
    std::map<std::string, ComparedRow> source_rows;
    std::map<std::string, std::string> source_keys;
    source_.restart();
    ++report.source_passes;
    while (true) {
      auto page = source_.next_page();
      if (!page) return std::unexpected(page.error());
      if (page->empty()) break;
      for (SourceRow& row : *page)
        if (row.mapped && wanted.contains(bucket_of(row.mapped->key(), options_.encoding, buckets_))) {
          source_keys[row.mapped->key()] = row.source_key;
          std::string key = row.mapped->key();
          source_rows.insert_or_assign(std::move(key), std::move(*row.mapped));
        }
    }
    if (between) between();
    auto compared = compare(source_rows, source_keys, group, nullptr, report);
    if (!compared) return std::unexpected(compared.error());
    for (auto& [key, d] : *compared) found.insert_or_assign(key, std::move(d));
  }
  return found;
}

Result<std::map<std::string, Difference>> Verifier::compare(
    const std::map<std::string, ComparedRow>& source_rows, const std::map<std::string, std::string>& source_keys,
    const std::vector<uint32_t>& buckets, const std::set<std::string>* only, SourceReport& report) {
  std::map<std::string, ComparedRow> meter_master_rows;
  for (size_t at = 0; at < buckets.size(); at += 1000) {  // IN lists of at most 1,000 buckets
    const std::vector<uint32_t> part(buckets.begin() + static_cast<std::ptrdiff_t>(at),
                                     buckets.begin() + static_cast<std::ptrdiff_t>(std::min(buckets.size(), at + 1000)));
    auto rows_read = meter_master_.rows(buckets_, part);
    if (!rows_read) return std::unexpected(rows_read.error());
    report.meter_master_rows_read += static_cast<int64_t>(rows_read->size());
    for (ComparedRow& row : *rows_read) {
      std::string key = row.key();
      if (only == nullptr || only->contains(key)) meter_master_rows.insert_or_assign(std::move(key), std::move(row));
    }
  }
  std::map<std::string, Difference> found;
  for (Difference& d : diff_rows(source_rows, meter_master_rows, options_.column_names)) {
    if (const auto k = source_keys.find(d.key); k != source_keys.end()) d.source_key = k->second;
    std::string key = d.key;
    found.insert_or_assign(std::move(key), std::move(d));
  }
  return found;
}

Result<std::map<std::string, Difference>> Verifier::recheck(const std::map<std::string, Difference>& keys,
                                                           SourceReport& report,
                                                           const std::function<void()>& between) {
  std::set<uint32_t> buckets;
  std::set<std::string> only;
  bool all_have_source_rows = true;
  for (const auto& [key, d] : keys) {
    buckets.insert(bucket_of(key, options_.encoding, buckets_));
    only.insert(key);
    if (d.source_key.empty()) all_have_source_rows = false;
  }
  if (!all_have_source_rows) {
    auto again = compare_buckets({buckets.begin(), buckets.end()}, report, between);
    if (!again) return again;
    std::map<std::string, Difference> out;
    for (auto& [key, d] : *again)
      if (only.contains(key)) out.insert_or_assign(key, std::move(d));
    return out;
  }
  std::map<std::string, ComparedRow> source_rows;
  std::map<std::string, std::string> source_keys;
  std::vector<std::string> wanted;
  wanted.reserve(keys.size());
  for (const auto& [key, d] : keys) wanted.push_back(d.source_key);
  for (size_t at = 0; at < wanted.size(); at += 500) {
    const std::vector<std::string> part(wanted.begin() + static_cast<std::ptrdiff_t>(at),
                                        wanted.begin() + static_cast<std::ptrdiff_t>(std::min(wanted.size(), at + 500)));
    auto rows = source_.rows_with_keys(part);
    if (!rows) return std::unexpected(rows.error());
    report.source_rows_looked_up += static_cast<int64_t>(rows->size());
    for (SourceRow& row : *rows) {
      if (!row.mapped || !only.contains(row.mapped->key())) continue;
      source_keys[row.mapped->key()] = row.source_key;
      std::string key = row.mapped->key();
      source_rows.insert_or_assign(std::move(key), std::move(*row.mapped));
    }
  }
  if (between) between();
  return compare(source_rows, source_keys, {buckets.begin(), buckets.end()}, &only, report);
}

Result<std::map<std::string, Difference>> Verifier::compare_again(const std::vector<Difference>& keys,
                                                                 SourceReport& report,
                                                                 const std::function<void()>& between) {
  std::map<std::string, Difference> wanted;
  for (const auto& d : keys) wanted.insert_or_assign(d.key, d);
  if (wanted.empty()) return wanted;
  return recheck(wanted, report, between);
}

SourceReport Verifier::run(const std::string& source_name) {
  const auto started = std::chrono::steady_clock::now();
  SourceReport report;
  report.source = source_name;
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  const auto finish = [&](std::string error = {}) {
    report.error = std::move(error);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };

  // Meter Master counts, then computes its digests in its database, while metersync reads and
  // maps the source: the two take about as long, and they need neither the other's result nor
  // its connection. The count fixes the bucket count the source pass folds its rows into.
  std::promise<uint32_t> bucket_count;
  std::optional<Error> count_error;
  auto stored_later = std::async(std::launch::async, [&]() -> Result<std::map<uint32_t, BucketDigest>> {
    Result<int64_t> live = 0;
    try {
      live = meter_master_.live_rows();
    } catch (...) {
      bucket_count.set_value(bucket_count_for(0));  // the source pass must not wait for ever
      throw;
    }
    if (!live) {
      count_error = live.error();
      bucket_count.set_value(bucket_count_for(0));  // the source pass ends; the run reports the error
      return std::unexpected(live.error());
    }
    report.meter_master_rows = *live;
    buckets_ = bucket_count_for(*live);
    bucket_count.set_value(buckets_);
    const auto phase = std::chrono::steady_clock::now();
    auto digests = meter_master_.digests(buckets_);
    report.digest_seconds = since(phase);
    return digests;
  });
  std::vector<BucketDigest> computed;
  const auto phase = std::chrono::steady_clock::now();
  auto read = first_pass(computed, bucket_count.get_future().share(), report);
  report.first_pass_seconds = since(phase);
  auto stored = stored_later.get();
  report.buckets = buckets_;
  if (count_error) return finish("Meter Master: " + count_error->describe());
  if (!stored) return finish("Meter Master: " + stored.error().describe());
  if (!read) return finish("source: " + read.error().describe());

  std::vector<uint32_t> differing;
  for (uint32_t bucket = 0; bucket < buckets_; ++bucket) {
    const auto found = stored->find(bucket);
    const BucketDigest theirs = found == stored->end() ? BucketDigest{} : found->second;
    if (!(theirs == computed[bucket])) differing.push_back(bucket);
  }
  report.differing_buckets = static_cast<uint32_t>(differing.size());
  if (differing.empty()) return finish();

  auto first = compare_buckets(differing, report);
  if (!first) return finish(first.error().describe());
  if (first->empty() || !options_.catch_up) {
    for (auto& [key, d] : *first) report.differences.push_back(std::move(d));
    return finish();
  }

  // Re-check rounds: each reads the source, waits until the pipeline has applied what the
  // topic held at that moment, then reads Meter Master, so Meter Master is never older than
  // the source read; a key is reported only when it differed in every round.
  std::map<std::string, Difference> current = std::move(*first);
  const size_t first_count = current.size();
  report.caught_up = true;
  for (int round = 2; round <= options_.rounds && !current.empty(); ++round) {
    bool caught_up = true;
    std::optional<Error> wait_error;
    auto next = recheck(current, report, [&] {
      auto waited = options_.catch_up();
      if (!waited) wait_error = waited.error();
      else caught_up = *waited;
    });
    if (wait_error) return finish("waiting for the pipeline: " + wait_error->describe());
    if (!next) return finish(next.error().describe());
    report.caught_up = *report.caught_up && caught_up;
    std::map<std::string, Difference> still;
    for (auto& [key, d] : *next)
      if (current.contains(key)) still.insert_or_assign(key, std::move(d));
    current = std::move(still);
  }
  for (auto& [key, d] : current) report.differences.push_back(std::move(d));
  report.settled_in_flight = static_cast<int64_t>(first_count - current.size());
  return finish();
}

}  // namespace metersync::verify
