#include "endpoint/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <stdexcept>

namespace metersync::endpoint {
namespace {

// A prepared statement, finalized when it leaves scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("SQLite prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int index, int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& bind_null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
  }
  // True while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("SQLite step: ") + sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, column)) : std::string();
  }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw std::runtime_error(std::string("SQLite bind: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::string iso_at(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

std::string now_iso() { return iso_at(std::chrono::system_clock::now()); }

constexpr int kWindowSeconds = 10;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  source      TEXT NOT NULL,
  event_id    TEXT NOT NULL,
  batch_id    TEXT NOT NULL,
  op          TEXT NOT NULL,
  position    TEXT NOT NULL,
  meter_id    TEXT,
  received_at TEXT NOT NULL,
  body        TEXT NOT NULL,
  UNIQUE (source, event_id)
);
CREATE TABLE IF NOT EXISTS batches (
  source      TEXT NOT NULL,
  batch_id    TEXT NOT NULL,
  first_seen  TEXT NOT NULL,
  times_seen  INTEGER NOT NULL,
  body_digest TEXT,
  PRIMARY KEY (source, batch_id)
);
CREATE TABLE IF NOT EXISTS meters (
  source      TEXT NOT NULL,
  meter_id    TEXT NOT NULL,
  seq         INTEGER NOT NULL REFERENCES events (seq),
  position    TEXT NOT NULL,
  PRIMARY KEY (source, meter_id)
);
-- Counted at ingest: the duplicates are dropped, so they cannot be counted afterwards.
CREATE TABLE IF NOT EXISTS refused (
  source      TEXT PRIMARY KEY,
  duplicates  INTEGER NOT NULL
);
-- A meter's history and the overview's rate read these instead of a source's whole history.
CREATE INDEX IF NOT EXISTS events_by_meter ON events (source, meter_id, seq);
CREATE INDEX IF NOT EXISTS events_by_time ON events (source, received_at);
)sql";

}  // namespace

Store::Store(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open the endpoint database " + path + ": " + message +
                             " (check --db and that its directory exists and is writable)");
  }
  sqlite3_busy_timeout(db_, 5000);
  // WAL lets readers of another process (sqlite3 CLI, backups) run beside the writer;
  // synchronous=FULL fsyncs the WAL at every commit, which is what "stored before 2xx" means.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec(kSchema);
  // Databases created before the batches' body digests were kept get the column (NULL for
  // the batches already there).
  bool has_digest = false;
  {
    Statement columns(db_, "PRAGMA table_info(batches)");
    while (columns.step()) has_digest |= columns.text(1) == "body_digest";
  }
  if (!has_digest) exec("ALTER TABLE batches ADD COLUMN body_digest TEXT");
  Statement max(db_, "SELECT COALESCE(MAX(seq), 0) FROM events");
  max.step();
  last_seq_ = max.integer(0);
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("SQLite: " + message);
  }
}

IngestResult Store::ingest(const ReceivedBatch& batch, const std::string& body_digest) {
  std::lock_guard lock(mutex_);
  IngestResult result;
  const std::string received_at = now_iso();
  exec("BEGIN IMMEDIATE");
  try {
    {
      Statement seen(db_,
                     "SELECT body_digest FROM batches WHERE source = ?1 AND batch_id = ?2");
      seen.bind(1, batch.source).bind(2, batch.batch_id);
      result.batch_seen_before = seen.step();
      const std::optional<std::string> known_digest =
          result.batch_seen_before && !seen.is_null(0) ? std::optional(seen.text(0)) : std::nullopt;
      seen.reset();  // no statement may be reading when the transaction ends
      if (known_digest && !body_digest.empty() && *known_digest != body_digest) {
        result.conflicting_body = true;
        exec("ROLLBACK");
        return result;
      }
      Statement note(db_,
                     "INSERT INTO batches (source, batch_id, first_seen, times_seen, body_digest) "
                     "VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (source, batch_id) "
                     "DO UPDATE SET times_seen = times_seen + 1, "
                     "body_digest = COALESCE(batches.body_digest, excluded.body_digest)");
      note.bind(1, batch.source).bind(2, batch.batch_id).bind(3, received_at);
      if (body_digest.empty()) {
        note.bind_null(4);
      } else {
        note.bind(4, body_digest);
      }
      note.step();
    }
    Statement insert(db_,
                     "INSERT INTO events (source, event_id, batch_id, op, position, meter_id, "
                     "received_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                     "ON CONFLICT (source, event_id) DO NOTHING");
    Statement latest(db_,
                     "INSERT INTO meters (source, meter_id, seq, position) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (source, meter_id) DO UPDATE SET seq = excluded.seq, "
                     "position = excluded.position WHERE excluded.position >= meters.position");
    Statement truncate(db_,
                       "UPDATE meters SET seq = ?2, position = ?3 "
                       "WHERE source = ?1 AND position <= ?3");
    for (const auto& event : batch.events) {
      insert.reset();
      insert.bind(1, batch.source).bind(2, event.id).bind(3, batch.batch_id).bind(4, event.op);
      insert.bind(5, event.position);
      if (event.meter_id) {
        insert.bind(6, *event.meter_id);
      } else {
        insert.bind_null(6);
      }
      insert.bind(7, received_at).bind(8, event.json);
      insert.step();
      if (sqlite3_changes(db_) == 0) {
        ++result.duplicates;
        continue;
      }
      ++result.accepted;
      const int64_t seq = sqlite3_last_insert_rowid(db_);
      last_seq_ = seq;
      if (event.meter_id) {
        latest.reset();
        latest.bind(1, batch.source).bind(2, *event.meter_id).bind(3, seq).bind(4, event.position);
        latest.step();
      } else if (event.op == "truncate") {
        // Every meter known so far now points at the truncate event: its state is "gone".
        truncate.reset();
        truncate.bind(1, batch.source).bind(2, seq).bind(3, event.position);
        truncate.step();
      }
    }
    if (result.duplicates > 0) {
      Statement refused(db_,
                        "INSERT INTO refused (source, duplicates) VALUES (?1, ?2) "
                        "ON CONFLICT (source) DO UPDATE SET duplicates = duplicates + ?2");
      refused.bind(1, batch.source).bind(2, static_cast<int64_t>(result.duplicates));
      refused.step();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    Statement max(db_, "SELECT COALESCE(MAX(seq), 0) FROM events");
    max.step();
    last_seq_ = max.integer(0);
    throw;
  }
  stored_.notify_all();
  return result;
}

std::vector<StoredEvent> Store::history(const std::string& source, int64_t after, int limit) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT seq, batch_id, received_at, body FROM events "
                  "WHERE source = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  query.bind(1, source).bind(2, after).bind(3, static_cast<int64_t>(limit));
  std::vector<StoredEvent> events;
  while (query.step()) {
    events.push_back({query.integer(0), query.text(1), query.text(2), query.text(3)});
  }
  return events;
}

std::vector<MeterState> Store::meters(const std::string& source, const std::string& after,
                                      int limit) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT m.meter_id, m.seq, e.received_at, e.body FROM meters m "
                  "JOIN events e ON e.seq = m.seq "
                  "WHERE m.source = ?1 AND m.meter_id > ?2 ORDER BY m.meter_id LIMIT ?3");
  query.bind(1, source).bind(2, after).bind(3, static_cast<int64_t>(limit));
  std::vector<MeterState> meters;
  while (query.step()) {
    meters.push_back({query.text(0), query.integer(1), query.text(2), query.text(3)});
  }
  return meters;
}

std::optional<MeterState> Store::meter(const std::string& source, const std::string& meter_id) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT m.meter_id, m.seq, e.received_at, e.body FROM meters m "
                  "JOIN events e ON e.seq = m.seq WHERE m.source = ?1 AND m.meter_id = ?2");
  query.bind(1, source).bind(2, meter_id);
  if (!query.step()) return std::nullopt;
  return MeterState{query.text(0), query.integer(1), query.text(2), query.text(3)};
}

int64_t Store::event_count(const std::string& source) {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT COUNT(*) FROM events WHERE source = ?1");
  query.bind(1, source);
  query.step();
  return query.integer(0);
}

namespace {

std::vector<StoredEvent> read_events(Statement& query) {
  std::vector<StoredEvent> events;
  while (query.step()) {
    events.push_back({query.integer(0), query.text(1), query.text(2), query.text(3)});
  }
  return events;
}

}  // namespace

std::vector<StoredEvent> Store::recent(const std::string& source, int64_t before, int limit,
                                       const EventFilter& filter) {
  std::lock_guard lock(mutex_);
  // Empty filter members are bound as NULL and match every row.
  Statement query(db_,
                  "SELECT seq, batch_id, received_at, body FROM events "
                  "WHERE source = ?1 AND seq < ?2 AND (?3 IS NULL OR op = ?3) "
                  "AND (?4 IS NULL OR meter_id = ?4) AND (?6 IS NULL OR received_at >= ?6) "
                  "AND (?7 IS NULL OR received_at < ?7) ORDER BY seq DESC LIMIT ?5");
  query.bind(1, source).bind(2, before > 0 ? before : INT64_MAX);
  if (filter.op.empty()) {
    query.bind_null(3);
  } else {
    query.bind(3, filter.op);
  }
  if (filter.meter_id.empty()) {
    query.bind_null(4);
  } else {
    query.bind(4, filter.meter_id);
  }
  query.bind(5, static_cast<int64_t>(limit));
  // received_at is stored as YYYY-MM-DDTHH:MM:SS.mmmZ, so the text order is the time order.
  for (const auto& [index, bound] : {std::pair{6, &filter.received_from}, std::pair{7, &filter.received_to}}) {
    if (bound->empty()) {
      query.bind_null(index);
    } else {
      query.bind(index, *bound);
    }
  }
  return read_events(query);
}

std::vector<StoredEvent> Store::meter_history(const std::string& source,
                                              const std::string& meter_id, int64_t after,
                                              int limit) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT seq, batch_id, received_at, body FROM events "
                  "WHERE source = ?1 AND meter_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4");
  query.bind(1, source).bind(2, meter_id).bind(3, after).bind(4, static_cast<int64_t>(limit));
  return read_events(query);
}

std::optional<StoredEvent> Store::previous_of_meter(const std::string& source,
                                                    const std::string& meter_id, int64_t seq) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT seq, batch_id, received_at, body FROM events "
                  "WHERE source = ?1 AND meter_id = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT 1");
  query.bind(1, source).bind(2, meter_id).bind(3, seq);
  auto events = read_events(query);
  if (events.empty()) return std::nullopt;
  return std::move(events.front());
}

SourceStats Store::stats(const std::string& source, int windows) {
  std::lock_guard lock(mutex_);
  SourceStats stats;
  {
    Statement count(db_, "SELECT COUNT(*), MAX(received_at) FROM events WHERE source = ?1");
    count.bind(1, source);
    count.step();
    stats.events = count.integer(0);
    stats.last_received_at = count.text(1);
  }
  {
    Statement refused(db_, "SELECT duplicates FROM refused WHERE source = ?1");
    refused.bind(1, source);
    if (refused.step()) stats.duplicates = refused.integer(0);
  }
  // received_at is ISO 8601 with milliseconds; its first 18 characters name a 10-second window.
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto first = now - seconds(kWindowSeconds * (windows - 1));
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(windows));
  for (int i = 0; i < windows; ++i) {
    names.push_back(iso_at(first + seconds(kWindowSeconds * i)).substr(0, 18));
  }
  stats.per_window.assign(static_cast<std::size_t>(windows), 0);
  Statement rate(db_,
                 "SELECT substr(received_at, 1, 18) AS w, COUNT(*) FROM events "
                 "WHERE source = ?1 AND received_at >= ?2 GROUP BY w");
  rate.bind(1, source).bind(2, names.front());
  while (rate.step()) {
    auto at = std::find(names.begin(), names.end(), rate.text(0));
    if (at != names.end()) stats.per_window[static_cast<std::size_t>(at - names.begin())] = rate.integer(1);
  }
  return stats;
}

int64_t Store::last_seq() {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

int64_t Store::wait_beyond(int64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  stored_.wait_for(lock, timeout, [&] { return closing_ || last_seq_ > after; });
  return last_seq_;
}

void Store::close_waiters() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  stored_.notify_all();
}

}  // namespace metersync::endpoint
