#include "verify/verifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace metersync::verify {
namespace {

const std::vector<std::string> kColumns{"SourceMeterId", "SerialNumber", "Status"};

ComparedRow row(const std::string& key, const std::string& serial, std::optional<std::string> status = "active") {
  return ComparedRow{{key, serial, std::move(status)}};
}

// The source table, in pages of three rows; counts its passes.
class FakeSource : public SourceTable {
 public:
  std::vector<SourceRow> rows;
  size_t at = 0;
  int passes = 0;
  void restart() override {
    at = 0;
    ++passes;
  }
  Result<std::vector<SourceRow>> next_page() override {
    std::vector<SourceRow> page;
    for (; at < rows.size() && page.size() < 3; ++at) page.push_back(rows[at]);
    return page;
  }
  int lookups = 0;
  Result<std::vector<SourceRow>> rows_with_keys(const std::vector<std::string>& keys) override {
    ++lookups;
    std::vector<SourceRow> out;
    for (const auto& r : rows)
      if (std::find(keys.begin(), keys.end(), r.source_key) != keys.end()) out.push_back(r);
    return out;
  }
};

// Meter Master computing digests the way the SQL does, from its rows.
class FakeMeterMaster : public MeterMasterRows {
 public:
  std::vector<ComparedRow> live;
  int64_t rows_read = 0;
  // Set: live_rows() answers only once it returns true (a slow COUNT on a large table).
  std::function<bool()> count_when;
  Result<int64_t> live_rows() override {
    while (count_when && !count_when()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return static_cast<int64_t>(live.size());
  }
  Result<std::map<uint32_t, BucketDigest>> digests(uint32_t buckets) override {
    std::map<uint32_t, BucketDigest> out;
    for (const auto& r : live) out[bucket_of(r.key(), Encoding::Utf8, buckets)].add(row_hash(r, Encoding::Utf8));
    return out;
  }
  Result<std::vector<ComparedRow>> rows(uint32_t buckets, const std::vector<uint32_t>& which) override {
    std::vector<ComparedRow> out;
    for (const auto& r : live)
      if (std::find(which.begin(), which.end(), bucket_of(r.key(), Encoding::Utf8, buckets)) != which.end())
        out.push_back(r);
    rows_read += static_cast<int64_t>(out.size());
    return out;
  }
};

struct Fixture {
  FakeSource source;
  FakeMeterMaster meter_master;
  Fixture() {
    for (int i = 0; i < 200; ++i) {
      const std::string key = std::to_string(i);
      source.rows.push_back({row(key, "S" + key), key, {}});
      meter_master.live.push_back(row(key, "S" + key));
    }
  }
  SourceReport run(std::function<Result<bool>()> catch_up = {}) {
    VerifyOptions options;
    options.column_names = kColumns;
    options.catch_up = std::move(catch_up);
    return Verifier(source, meter_master, options).run("mysql");
  }
};

TEST(Verifier, EqualTablesAreVerifiedFromDigestsAlone) {
  Fixture f;
  const SourceReport report = f.run();
  EXPECT_TRUE(report.equal());
  EXPECT_EQ(report.source_rows, 200);
  EXPECT_EQ(report.differing_buckets, 0u);
  EXPECT_EQ(report.source_passes, 1);
  EXPECT_EQ(f.meter_master.rows_read, 0);
}

TEST(Verifier, RowsReadBeforeMeterMasterCountedAreFoldedOnceItHas) {
  Fixture f;
  // The count answers only after the source was read whole: every row waited for it.
  std::atomic<bool> read_whole = false;
  f.meter_master.count_when = [&] { return read_whole.load(); };
  class Watched : public SourceTable {
   public:
    Watched(FakeSource& inner, std::atomic<bool>& done) : inner_(inner), done_(done) {}
    void restart() override { inner_.restart(); }
    Result<std::vector<SourceRow>> next_page() override {
      auto page = inner_.next_page();
      if (page && page->empty()) done_ = true;
      return page;
    }
    Result<std::vector<SourceRow>> rows_with_keys(const std::vector<std::string>& keys) override {
      return inner_.rows_with_keys(keys);
    }

   private:
    FakeSource& inner_;
    std::atomic<bool>& done_;
  } source(f.source, read_whole);
  f.meter_master.live[20] = row("20", "changed");
  VerifyOptions options;
  options.column_names = kColumns;
  const SourceReport report = Verifier(source, f.meter_master, options).run("mysql");
  EXPECT_EQ(report.error, "");
  EXPECT_EQ(report.source_rows, 200);
  ASSERT_EQ(report.differences.size(), 1u);
  EXPECT_EQ(report.differences[0].key, "20");
  EXPECT_EQ(report.differing_buckets, 1u);
}

TEST(Verifier, ReportsMissingExtraLiveAndDifferingColumns) {
  Fixture f;
  f.meter_master.live.erase(f.meter_master.live.begin() + 5);                 // key 5 missing
  f.meter_master.live.push_back(row("gone", "S-gone"));                       // extra live
  f.meter_master.live[10] = row("11", "S11", std::nullopt);                   // key 11: Status NULL
  f.meter_master.live[20] = row("21", "changed");                             // key 21: serial
  const SourceReport report = f.run();
  ASSERT_EQ(report.differences.size(), 4u);
  std::map<std::string, Difference> by_key;
  for (const auto& d : report.differences) by_key.emplace(d.key, d);
  EXPECT_EQ(by_key.at("5").kind, Difference::Kind::Missing);
  EXPECT_EQ(by_key.at("gone").kind, Difference::Kind::ExtraLive);
  ASSERT_EQ(by_key.at("11").columns.size(), 1u);
  EXPECT_EQ(by_key.at("11").columns[0].column, "Status");
  EXPECT_EQ(by_key.at("11").columns[0].source, "active");
  EXPECT_EQ(by_key.at("11").columns[0].meter_master, std::nullopt);
  ASSERT_EQ(by_key.at("21").columns.size(), 1u);
  EXPECT_EQ(by_key.at("21").columns[0].column, "SerialNumber");
  EXPECT_EQ(by_key.at("21").columns[0].meter_master, "changed");
  EXPECT_FALSE(report.equal());
  // Only the rows of differing buckets crossed over.
  EXPECT_LT(f.meter_master.rows_read, 40);
}

TEST(Verifier, AChangeInFlightThatSettlesIsNotReported) {
  Fixture f;
  f.meter_master.live[3] = row("3", "old");   // the pipeline will catch up
  f.meter_master.live[4] = row("4", "lost");  // stays wrong
  const SourceReport report = f.run([&]() -> Result<bool> {
    f.meter_master.live[3] = row("3", "S3");
    return true;
  });
  ASSERT_EQ(report.differences.size(), 1u);
  EXPECT_EQ(report.differences[0].key, "4");
  EXPECT_EQ(report.settled_in_flight, 1);
  EXPECT_EQ(report.caught_up, true);
  EXPECT_EQ(report.differences[0].source_key, "4");
  // The re-checks looked the two keys up instead of reading the table again.
  EXPECT_EQ(report.source_passes, 2);
  EXPECT_GE(f.source.lookups, 1);
}

TEST(Verifier, AnExtraLiveKeyIsRecheckedThroughTheWholeSource) {
  Fixture f;
  f.meter_master.live.push_back(row("gone", "S-gone"));
  int waits = 0;
  const SourceReport report = f.run([&]() -> Result<bool> {
    ++waits;
    return true;
  });
  ASSERT_EQ(report.differences.size(), 1u);
  EXPECT_EQ(report.differences[0].kind, Difference::Kind::ExtraLive);
  EXPECT_EQ(report.differences[0].source_key, "");
  EXPECT_EQ(waits, 2);
  EXPECT_EQ(report.source_passes, 4);  // digests, rows, two re-checks
  EXPECT_EQ(f.source.lookups, 0);
}

TEST(Verifier, AMissingRowDeletedAtTheSourceMeanwhileSettles) {
  Fixture f;
  f.meter_master.live.erase(f.meter_master.live.begin() + 8);  // key 8 missing
  const SourceReport report = f.run([&]() -> Result<bool> {
    std::erase_if(f.source.rows, [](const SourceRow& r) { return r.source_key == "8"; });
    return true;
  });
  EXPECT_TRUE(report.differences.empty());
  EXPECT_EQ(report.settled_in_flight, 1);
}

TEST(Verifier, AKeyThatStartsDifferingDuringTheWaitIsNotReported) {
  Fixture f;
  f.meter_master.live[4] = row("4", "lost");
  const SourceReport report = f.run([&]() -> Result<bool> {
    f.meter_master.live[7] = row("7", "new");  // differs only in the second look
    return true;
  });
  ASSERT_EQ(report.differences.size(), 1u);
  EXPECT_EQ(report.differences[0].key, "4");
}

TEST(Verifier, UnmappableSourceRowsMakeTheSourceUnequal) {
  Fixture f;
  f.source.rows.push_back({std::nullopt, "999", "MeterType: unknown code 'X'"});
  const SourceReport report = f.run();
  EXPECT_FALSE(report.equal());
  EXPECT_EQ(report.unmappable_rows, 1);
  ASSERT_EQ(report.unmappable.size(), 1u);
  EXPECT_EQ(report.unmappable[0].source_key, "999");
}

TEST(Verifier, ManyDifferingBucketsAreComparedInBoundedGroups) {
  Fixture f;
  f.meter_master.live.clear();  // everything missing
  VerifyOptions options;
  options.column_names = kColumns;
  options.max_rows_in_memory = 50;
  const SourceReport report = Verifier(f.source, f.meter_master, options).run("mysql");
  EXPECT_EQ(report.differences.size(), 200u);
  EXPECT_GE(report.source_passes, 1 + 4);  // 200 rows in groups of about 50
}

TEST(Verifier, ASourceThatCannotBeReadIsAnError) {
  class Broken : public SourceTable {
   public:
    void restart() override {}
    Result<std::vector<SourceRow>> next_page() override {
      return std::unexpected(Error::data(Stage::Sink, "relation \"meter\" does not exist"));
    }
    Result<std::vector<SourceRow>> rows_with_keys(const std::vector<std::string>&) override { return {}; }
  } broken;
  FakeMeterMaster meter_master;
  const SourceReport report = Verifier(broken, meter_master, {}).run("postgres");
  EXPECT_FALSE(report.equal());
  EXPECT_NE(report.error.find("does not exist"), std::string::npos);
}

TEST(DiffRows, MergeJoinsInKeyOrder) {
  const std::map<std::string, ComparedRow> source{{"a", row("a", "1")}, {"c", row("c", "3")}};
  const std::map<std::string, ComparedRow> meter_master{{"b", row("b", "2")}, {"c", row("c", "3")}};
  const auto diffs = diff_rows(source, meter_master, kColumns);
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0].key, "a");
  EXPECT_EQ(diffs[0].kind, Difference::Kind::Missing);
  EXPECT_EQ(diffs[1].key, "b");
  EXPECT_EQ(diffs[1].kind, Difference::Kind::ExtraLive);
}

}  // namespace
}  // namespace metersync::verify
