#include "sink/dialect.hpp"
#include "sink/sqlserver_dialect.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace metersync::sink {
namespace {

using config::Dialect;

std::size_t markers(const std::string& sql) {
  // Counts `?` outside string literals.
  std::size_t count = 0;
  bool in_literal = false;
  for (const char c : sql) {
    if (c == '\'') in_literal = !in_literal;
    if (c == '?' && !in_literal) ++count;
  }
  return count;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> all_statements(const sink::Dialect& d) {
  std::vector<std::string> out = d.session_setup();
  for (auto list : {d.create_tables()}) out.insert(out.end(), list.begin(), list.end());
  for (auto s : {d.begin_sql(), d.commit_sql(), d.rollback_sql(), d.lock_sql(),
                 d.offsets_upsert_all_sql(2), d.truncate_watermark_sql(), d.truncate_sql(),
                 d.offsets_select_sql(), d.records_applied_sql(), d.columns_query()}) {
    if (!s.empty()) out.push_back(s);
  }
  if (const auto* staged = d.stage()) {
    for (auto list : {staged->prepare_stage(), staged->apply_stage({.full = 1, .key_only = 1}),
                      staged->apply_stage({.full = 1, .inserted = 1})})
      out.insert(out.end(), list.begin(), list.end());
    for (auto s : {staged->stage_insert(3), staged->stage_truncated_sql(),
                   staged->stage_json_sql(1, 0), staged->stage_json_sql(0, 1),
                   staged->lock_or_raise_sql(0)})
      out.push_back(s);
  }
  if (const auto* documents = d.documents()) {
    out.push_back(documents->upsert_document_sql());
    out.push_back(documents->flag_document_sql());
  }
  return out;
}

TEST(Identifiers, ConfiguredNamesAreValidated) {
  EXPECT_NO_THROW(sink::Dialect::create(Dialect::Postgres, {"", "Meter_Master2", "offsets"}));
  for (const std::string bad : {"Meter Master", "x;DROP", "1abc", "a]b", "a\"b", "a`b", "ä"}) {
    try {
      sink::Dialect::create(Dialect::SqlServer, {"dbo", bad, "offsets"});
      ADD_FAILURE() << bad << " accepted";
    } catch (const ConfigError& error) {
      EXPECT_TRUE(contains(error.what(), "sink.table")) << error.what();
    }
  }
  EXPECT_THROW(sink::Dialect::create(Dialect::MariaDb, {"db-1"}), ConfigError);
  EXPECT_THROW(sink::Dialect::create(Dialect::MariaDb, {"db", "t", ""}), ConfigError);
  EXPECT_THROW(sink::Dialect::create(Dialect::MariaDb, {"db", "t", std::string(65, 'a')}),
               ConfigError);
  try {
    sink::Dialect::create(Dialect::Postgres, {"", "t", "o", "trunc-1"});
    ADD_FAILURE() << "trunc-1 accepted";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "sink.truncates_table")) << error.what();
  }
}

TEST(SqlServerDialect, DdlIsGuardedAndNamesAreQuoted) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"meters", "MM", "Offs"});
  const auto ddl = d->create_tables();
  ASSERT_EQ(ddl.size(), 3u);
  EXPECT_EQ(
      ddl[0].rfind("IF OBJECT_ID(N'meters.MM', N'U') IS NULL\nCREATE TABLE [meters].[MM] (", 0), 0u)
      << ddl[0];
  EXPECT_TRUE(contains(ddl[0], "  LastReadingAt      DATETIME2(6)   NULL,\n"));
  EXPECT_TRUE(contains(ddl[0], "  IsDeleted          BIT            NOT NULL DEFAULT 0,\n"));
  EXPECT_TRUE(contains(ddl[0], "CONSTRAINT [PK_MM] PRIMARY KEY (SourceSystem, SourceMeterId)"));
  EXPECT_EQ(
      ddl[1].rfind("IF OBJECT_ID(N'meters.Offs', N'U') IS NULL\nCREATE TABLE [meters].[Offs]", 0),
      0u);
  EXPECT_TRUE(contains(ddl[1], "[records_applied] BIGINT NOT NULL DEFAULT 0"));
  EXPECT_EQ(ddl[2].rfind("IF OBJECT_ID(N'meters.MeterSyncTruncates', N'U') IS NULL\n"
                         "CREATE TABLE [meters].[MeterSyncTruncates]",
                         0),
            0u)
      << ddl[2];
  EXPECT_TRUE(contains(ddl[2], "[SourcePosition] VARCHAR(100) NOT NULL"));
  EXPECT_TRUE(contains(ddl[2], "[SourceCommittedAt] DATETIME2(3) NOT NULL"));
  EXPECT_TRUE(contains(ddl[2], "CONSTRAINT [PK_MeterSyncTruncates] PRIMARY KEY ([SourceSystem])"));
}

TEST(SqlServerDialect, TruncateWatermarkOnlyMovesForwardAndFlagsOlderStagedRows) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo", "MM", "Offs", "Trunc"});
  const std::string watermark = d->truncate_watermark_sql();
  EXPECT_EQ(markers(watermark), 3u);
  EXPECT_TRUE(contains(watermark,
                       "DECLARE @system VARCHAR(16) = ?, @position VARCHAR(100) = ?, "
                       "@committed DATETIME2(3) = ?;"));
  EXPECT_TRUE(contains(watermark, "UPDATE [dbo].[Trunc] SET [SourcePosition] = @position"));
  EXPECT_TRUE(contains(watermark,
                       "WHERE [SourceSystem] = @system AND [SourcePosition] COLLATE "
                       "Latin1_General_BIN2 < @position COLLATE Latin1_General_BIN2;"));
  EXPECT_TRUE(contains(watermark,
                       "IF NOT EXISTS (SELECT 1 FROM [dbo].[Trunc] WHERE [SourceSystem] = "
                       "@system)\n  INSERT INTO [dbo].[Trunc]"));
  EXPECT_FALSE(contains(watermark, "MERGE"));
  const std::string stage = d->stage()->stage_truncated_sql();
  EXPECT_EQ(markers(stage), 0u);
  EXPECT_EQ(stage,
            "UPDATE s SET [IsDeleted] = 1\nFROM #MeterSyncStage AS s\nINNER JOIN [dbo].[Trunc] "
            "AS w ON w.[SourceSystem] = s.[SourceSystem]\nWHERE s.[ChangeKind] = 'U' AND "
            "s.[SourcePosition] COLLATE Latin1_General_BIN2 < w.[SourcePosition] COLLATE "
            "Latin1_General_BIN2;");
}

TEST(SqlServerDialect, ApplyIsUpdateJoinThenInsertWhereNotExistsUnlessEveryRowWasUpdated) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo"});
  const auto apply = d->stage()->apply_stage({.full = 3, .inserted = 1, .key_only = 1});
  ASSERT_EQ(apply.size(), 2u);
  EXPECT_EQ(apply[0].rfind("UPDATE t SET", 0), 0u);
  EXPECT_TRUE(contains(apply[0], "FROM [dbo].[MeterMaster] AS t\nINNER JOIN #MeterSyncStage AS s"));
  EXPECT_TRUE(
      contains(apply[0],
               "WHERE s.[ChangeKind] = 'U' AND t.[SourcePosition] COLLATE Latin1_General_BIN2 < "
               "s.[SourcePosition] COLLATE Latin1_General_BIN2;"));
  EXPECT_TRUE(contains(apply[0], "[SyncedAt] = SYSUTCDATETIME()"));
  EXPECT_FALSE(contains(apply[0], "\n  [SourceSystem] = s.")) << "keys are never updated";
  // The INSERT of new keys follows the UPDATE in the same statement, skipped when the UPDATE
  // wrote every staged full row.
  EXPECT_TRUE(contains(apply[0],
                       "Latin1_General_BIN2;\nIF @@ROWCOUNT < (SELECT COUNT(*) FROM #MeterSyncStage "
                       "WHERE [ChangeKind] = 'U')\nBEGIN\nINSERT INTO [dbo].[MeterMaster] ("));
  EXPECT_TRUE(apply[0].ends_with("\nEND;"));
  EXPECT_TRUE(contains(
      apply[0],
      "WHERE s.[ChangeKind] = 'U' AND NOT EXISTS (SELECT 1 FROM [dbo].[MeterMaster] AS t"));
  EXPECT_TRUE(contains(apply[1], "[IsDeleted] = 1"));
  EXPECT_TRUE(contains(apply[1], "WHERE s.[ChangeKind] = 'K' AND"));
  EXPECT_FALSE(contains(apply[1], "[SerialNumber]")) << "a key-only delete keeps the stored values";
}

TEST(SqlServerDialect, ASegmentOfNewKeysIsInsertedAsItIsUnlessSomeKeyIsStored) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo"});
  const auto usual = d->stage()->apply_stage({.full = 4, .inserted = 2, .key_only = 1});
  const auto apply = d->stage()->apply_stage({.full = 4, .inserted = 3, .key_only = 1});
  ASSERT_EQ(usual.size(), 2u);
  ASSERT_EQ(apply.size(), 2u);
  // The usual pair, split at the test between them.
  const std::string test =
      "IF @@ROWCOUNT < (SELECT COUNT(*) FROM #MeterSyncStage WHERE [ChangeKind] = 'U')\nBEGIN\n";
  const std::string end = "\nEND;";
  const std::size_t usual_at = usual[0].find(test);
  ASSERT_NE(usual_at, std::string::npos);
  ASSERT_TRUE(usual[0].ends_with(end));
  const std::string update = usual[0].substr(0, usual_at - 1);
  const std::string insert =
      usual[0].substr(usual_at + test.size(), usual[0].size() - end.size() - usual_at - test.size());
  const std::string not_exists = " AND NOT EXISTS (";
  ASSERT_NE(insert.find(not_exists), std::string::npos);
  const std::string plain = insert.substr(0, insert.find(not_exists)) + ";";
  // First every staged full row as it is, XACT_ABORT off for that statement alone; on a
  // duplicate key the same pair swapped around the same test, on any other error the error.
  EXPECT_EQ(apply[0], "SET XACT_ABORT OFF;\nBEGIN TRY\n" + plain +
                          "\nSET XACT_ABORT ON;\nEND TRY\nBEGIN CATCH\nSET XACT_ABORT ON;\n"
                          "IF ERROR_NUMBER() NOT IN (2601, 2627) BEGIN THROW; END;\n" +
                          insert + "\n" + test + update + end + "\nEND CATCH;");
  EXPECT_EQ(apply[1], usual[1]) << "the key-only flag is the same";
  // Only what the segment has rows for: no flag statement without key-only deletes, no
  // upsert without full rows.
  EXPECT_EQ(d->stage()->apply_stage({.full = 4, .inserted = 3}), std::vector<std::string>{apply[0]});
  EXPECT_EQ(d->stage()->apply_stage({.key_only = 2}), std::vector<std::string>{usual[1]});
}

TEST(SqlServerDialect, EveryTransactionTurnsXactAbortOnAgain) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo"});
  EXPECT_EQ(d->begin_sql(), "SET XACT_ABORT ON;\nBEGIN TRANSACTION;");
}

TEST(SqlServerDialect, JsonStageAndTheLockPieceOfABatch) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo"});
  const StageStatements& sqlserver = *d->stage();
  for (const bool key_only : {false, true}) {
    const std::string sql = sqlserver.stage_json_sql(key_only ? 0 : 1, key_only ? 1 : 0);
    EXPECT_EQ(markers(sql), 1u);
    EXPECT_TRUE(contains(sql, key_only ? "FROM (VALUES (?, 'K')) AS d([document], [kind])\n"
                                       : "FROM (VALUES (?, 'U')) AS d([document], [kind])\n"));
    EXPECT_TRUE(contains(sql, "CROSS APPLY OPENJSON(d.[document]) WITH ("));
    EXPECT_TRUE(contains(sql, "j.[SourcePosition], d.[kind]\nFROM"));
    // Text in, typed stage column out: the INSERT refuses what does not fit.
    EXPECT_TRUE(contains(sql, "[Multiplier] NVARCHAR(4000) '$[7]'"));
    EXPECT_TRUE(contains(sql, "[IsDeleted] BIT '$[12]'"));
    EXPECT_TRUE(contains(sql, "[SourcePosition] NVARCHAR(4000) '$[14]'"));
  }
  // Every document of a segment in one statement, full rows first: the server compiles
  // one statement however many documents there are.
  const std::string many = sqlserver.stage_json_sql(3, 2);
  EXPECT_EQ(markers(many), 5u);
  EXPECT_TRUE(contains(many, "(VALUES (?, 'U'), (?, 'U'), (?, 'U'), (?, 'K'), (?, 'K')) AS d"));
  // Two lock pieces in one batch declare different variables.
  EXPECT_TRUE(contains(sqlserver.lock_or_raise_sql(0), "DECLARE @metersync_lock_0 INT;"));
  EXPECT_TRUE(contains(sqlserver.lock_or_raise_sql(1), "DECLARE @metersync_lock_1 INT;"));
  EXPECT_TRUE(contains(sqlserver.lock_or_raise_sql(1), "IF @metersync_lock_1 < 0 THROW 51001,"));
  EXPECT_EQ(markers(sqlserver.lock_or_raise_sql(0)), 1u);
}

TEST(SqlServerDialect, TransactionsLocksAndParameters) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo"});
  EXPECT_TRUE(d->explicit_transactions());
  EXPECT_EQ(d->rollback_sql(), "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;");
  EXPECT_EQ(d->session_setup(),
            (std::vector<std::string>{"SET XACT_ABORT ON;", "SET NOCOUNT ON;"}));
  EXPECT_TRUE(contains(d->lock_sql(), "sp_getapplock @Resource = ?"));
  EXPECT_EQ(markers(d->lock_sql()), 1u);
  EXPECT_EQ(d->stage()->max_stage_rows(), 131u);
  EXPECT_EQ(markers(d->stage()->stage_insert(131)), 2096u);
  EXPECT_EQ(markers(d->truncate_sql()), 4u);
  // Offsets through a table variable: no scalar DECLAREs that a second piece of the same
  // batch could repeat.
  EXPECT_EQ(markers(d->offsets_upsert_all_sql(2)), 10u);
  EXPECT_TRUE(contains(d->offsets_upsert_all_sql(2), "DECLARE @metersync_offsets TABLE"));
  EXPECT_TRUE(contains(d->offsets_upsert_all_sql(2), "WHERE NOT EXISTS"));
  // Offsets only move forward: a batch retried after a lost COMMIT acknowledgement is a no-op.
  EXPECT_TRUE(contains(d->offsets_upsert_all_sql(2), "AND o.[next_offset] < v.[next_offset]"));
  EXPECT_EQ(markers(d->offsets_select_sql()), 2u);
  EXPECT_EQ(markers(d->records_applied_sql()), 1u);
  EXPECT_TRUE(contains(d->stage()->prepare_stage()[1],
                       "[SourceMeterId] NVARCHAR(64) COLLATE DATABASE_DEFAULT NOT NULL"));
}

TEST(SqlServerDialect, OnlyWideBindingForNvarchar) {
  const auto d = sink::Dialect::create(Dialect::SqlServer, {"dbo"});
  for (const Column& column : stage_columns()) {
    EXPECT_EQ(d->bind_wide(column), column.type == ColumnType::NVarchar) << column.name;
  }
}

TEST(PostgresDialect, QuotedMixedCaseAndOnConflictGuard) {
  const auto d = sink::Dialect::create(Dialect::Postgres, {"public"});
  EXPECT_FALSE(d->explicit_transactions());
  // Writers of one source serialize on a transaction-scoped advisory lock, waited for 30 s
  // at most; nothing to release after the transaction.
  EXPECT_EQ(d->lock_sql(),
            "SELECT 0 AS lock_status FROM pg_advisory_xact_lock(hashtextextended(CAST(? AS text), 0))");
  EXPECT_EQ(markers(d->lock_sql()), 1u);
  EXPECT_TRUE(d->unlock_sql().empty());
  EXPECT_EQ(d->session_setup(), (std::vector<std::string>{"SET lock_timeout = '30s'"}));
  const auto ddl = d->create_tables();
  EXPECT_EQ(ddl[0].rfind("CREATE TABLE IF NOT EXISTS \"public\".\"MeterMaster\" (", 0), 0u);
  EXPECT_TRUE(contains(ddl[0], "\"Multiplier\" NUMERIC(9,4) NOT NULL"));
  EXPECT_TRUE(contains(ddl[0], "\"LastReadingAt\" TIMESTAMP(6) NULL"));
  EXPECT_TRUE(contains(ddl[0], "\"IsDeleted\" BOOLEAN NOT NULL DEFAULT FALSE"));
  EXPECT_TRUE(contains(ddl[0], "\"SourcePosition\" VARCHAR(100) COLLATE \"C\" NOT NULL"));
  // No stage table: one statement per document of full rows, one per document of
  // key-only deletes, each reading the one bound JSON document.
  ASSERT_NE(d->documents(), nullptr);
  EXPECT_EQ(d->stage(), nullptr);
  const std::string upsert = d->documents()->upsert_document_sql();
  EXPECT_EQ(markers(upsert), 1u);
  EXPECT_TRUE(contains(upsert, "FROM jsonb_array_elements(CAST(? AS jsonb)) AS e"));
  EXPECT_TRUE(contains(upsert, "ON CONFLICT (\"SourceSystem\", \"SourceMeterId\") DO UPDATE SET"));
  EXPECT_TRUE(contains(
      upsert,
      "WHERE t.\"SourcePosition\" COLLATE \"C\" < EXCLUDED.\"SourcePosition\" COLLATE \"C\""));
  EXPECT_TRUE(contains(upsert, "clock_timestamp() AT TIME ZONE 'UTC'"));
  // Exact types from text; text itself is never CAST to VARCHAR(n), which would cut it.
  EXPECT_TRUE(contains(upsert, "CAST(e ->> 8 AS NUMERIC(18,3)) AS \"LastReadingValue\""));
  EXPECT_TRUE(contains(upsert, "CAST(e ->> 9 AS TIMESTAMP(6)) AS \"LastReadingAt\""));
  EXPECT_TRUE(contains(upsert, "e ->> 2 AS \"SerialNumber\""));
  EXPECT_FALSE(contains(upsert, "AS VARCHAR("));
  // The truncate watermark is read in the same statement.
  EXPECT_TRUE(contains(upsert, "LEFT JOIN \"public\".\"MeterSyncTruncates\" AS w ON"));
  EXPECT_TRUE(contains(upsert,
                       "s.\"IsDeleted\" OR COALESCE(s.\"SourcePosition\" COLLATE \"C\" < "
                       "w.\"SourcePosition\" COLLATE \"C\", FALSE)"));
  const std::string flag = d->documents()->flag_document_sql();
  EXPECT_EQ(markers(flag), 1u);
  EXPECT_TRUE(contains(flag, "\"IsDeleted\" = TRUE"));
  EXPECT_TRUE(
      contains(flag, "t.\"SourcePosition\" COLLATE \"C\" < s.\"SourcePosition\" COLLATE \"C\""));
  EXPECT_EQ(markers(d->offsets_upsert_all_sql(3)), 15u);
  EXPECT_EQ(d->driver_defaults().at(0).first, "Protocol");
  EXPECT_TRUE(
      contains(d->offsets_upsert_all_sql(1),
               "\"records_applied\" = o.\"records_applied\" + EXCLUDED.\"records_applied\""));
  EXPECT_TRUE(contains(d->offsets_upsert_all_sql(1),
                       "WHERE o.\"next_offset\" < EXCLUDED.\"next_offset\""));
  ASSERT_EQ(ddl.size(), 3u);
  EXPECT_TRUE(contains(ddl[2], "CREATE TABLE IF NOT EXISTS \"public\".\"MeterSyncTruncates\""));
  EXPECT_TRUE(contains(ddl[2], "\"SourcePosition\" VARCHAR(100) COLLATE \"C\" NOT NULL"));
  const std::string watermark = d->truncate_watermark_sql();
  EXPECT_EQ(markers(watermark), 3u);
  EXPECT_TRUE(contains(watermark,
                       "ON CONFLICT (\"SourceSystem\") DO UPDATE SET \"SourcePosition\" = "
                       "EXCLUDED.\"SourcePosition\""));
  EXPECT_TRUE(contains(watermark,
                       "WHERE w.\"SourcePosition\" COLLATE \"C\" < EXCLUDED.\"SourcePosition\" "
                       "COLLATE \"C\""));
}

TEST(MariaDbDialect, WriterLockIsASessionLockReleasedAfterTheTransaction) {
  const auto d = sink::Dialect::create(Dialect::MariaDb, {"metersync"});
  // GET_LOCK: 1 granted, 0 timed out, NULL error -> 0, -1, -1 (negative: not granted);
  // the name hashed into MariaDB's 64 characters.
  EXPECT_EQ(d->lock_sql(),
            "SELECT COALESCE(GET_LOCK(CONCAT('metersync:', MD5(?)), 30), 0) - 1 AS lock_status");
  EXPECT_EQ(markers(d->lock_sql()), 1u);
  // It belongs to the session, so the sink releases it after every commit and rollback.
  EXPECT_EQ(d->unlock_sql(), "SELECT RELEASE_ALL_LOCKS()");
}

TEST(MariaDbDialect, OnDuplicateKeyAssignsThePositionLast) {
  const auto d = sink::Dialect::create(Dialect::MariaDb, {"metersync"});
  const auto ddl = d->create_tables();
  EXPECT_TRUE(contains(ddl[0], "CREATE TABLE IF NOT EXISTS `metersync`.`MeterMaster`"));
  EXPECT_TRUE(contains(ddl[0], "`LastReadingAt` DATETIME(6) NULL"));
  EXPECT_TRUE(contains(ddl[0], "COLLATE=utf8mb4_bin"));
  ASSERT_NE(d->documents(), nullptr);
  EXPECT_EQ(d->stage(), nullptr);
  const std::string upsert = d->documents()->upsert_document_sql();
  EXPECT_EQ(markers(upsert), 1u);
  // JSON_TABLE columns are utf8mb4 text one character longer than the table's, so the
  // strict INSERT, not JSON_TABLE, refuses a value that does not fit.
  EXPECT_TRUE(contains(upsert, "FROM JSON_TABLE(?, '$[*]' COLUMNS ("));
  EXPECT_TRUE(contains(
      upsert, "`SourceMeterId` VARCHAR(65) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$[1]'"));
  EXPECT_TRUE(contains(upsert, "`IsDeleted` INT PATH '$[12]'"));
  EXPECT_TRUE(contains(upsert, "LEFT JOIN `metersync`.`MeterSyncTruncates` AS w ON"));
  EXPECT_TRUE(contains(upsert,
                       "s.`IsDeleted` OR COALESCE(CAST(s.`SourcePosition` AS BINARY) < "
                       "CAST(w.`SourcePosition` AS BINARY), 0)"));
  const auto odku = upsert.find("ON DUPLICATE KEY UPDATE");
  ASSERT_NE(odku, std::string::npos);
  // Every assignment reads the stored position, so it must be the last one written.
  const auto last_assignment = upsert.rfind("\n  ");
  EXPECT_EQ(upsert.find("`metersync`.`MeterMaster`.`SourcePosition` = IF(", odku),
            last_assignment + 3);
  EXPECT_TRUE(contains(upsert,
                       "CAST(`metersync`.`MeterMaster`.`SourcePosition` AS BINARY) < "
                       "CAST(VALUES(`SourcePosition`) AS BINARY)"));
  EXPECT_TRUE(contains(d->documents()->flag_document_sql(),
                       "UPDATE `metersync`.`MeterMaster` AS t INNER JOIN JSON_TABLE(?, '$[*]'"));
  EXPECT_EQ(markers(d->documents()->flag_document_sql()), 1u);
  EXPECT_EQ(markers(d->offsets_upsert_all_sql(2)), 10u);
  EXPECT_TRUE(contains(d->offsets_upsert_all_sql(2),
                       "`next_offset` = GREATEST(`next_offset`, VALUES(`next_offset`))"));
  EXPECT_TRUE(d->driver_defaults().empty());
  EXPECT_TRUE(contains(d->truncate_sql(), "UTC_TIMESTAMP(6)"));
  ASSERT_EQ(ddl.size(), 3u);
  EXPECT_TRUE(contains(ddl[2], "CREATE TABLE IF NOT EXISTS `metersync`.`MeterSyncTruncates`"));
  const std::string watermark = d->truncate_watermark_sql();
  EXPECT_EQ(markers(watermark), 3u);
  // The guard reads the stored position, so the position is assigned last.
  EXPECT_TRUE(contains(watermark,
                       ", `SourcePosition` = IF(CAST(`SourcePosition` AS BINARY) < "
                       "CAST(VALUES(`SourcePosition`) AS BINARY), VALUES(`SourcePosition`), "
                       "`SourcePosition`)"));
  EXPECT_EQ(watermark.rfind("`SourcePosition` = IF("),
            watermark.find(", `SourcePosition` = IF(") + 2);
}

TEST(DriverDefaults, PsqlOdbcGetsTransactionLevelRollbackUnlessConfigured) {
  const auto pg = sink::Dialect::create(Dialect::Postgres, {"public"});
  EXPECT_EQ(with_driver_defaults("Driver={PostgreSQL Unicode};Server=h;Port=5432", *pg),
            "Driver={PostgreSQL Unicode};Server=h;Port=5432;Protocol=7.4-1");
  EXPECT_EQ(with_driver_defaults("Driver={PostgreSQL Unicode};Server=h;", *pg),
            "Driver={PostgreSQL Unicode};Server=h;Protocol=7.4-1");
  // Named by the configuration (any case, spaces after ';'): left as it is.
  EXPECT_EQ(with_driver_defaults("Driver={PostgreSQL Unicode}; protocol=7.4-2", *pg),
            "Driver={PostgreSQL Unicode}; protocol=7.4-2");
  EXPECT_EQ(with_driver_defaults("PROTOCOL=7.4-0;Driver=x", *pg), "PROTOCOL=7.4-0;Driver=x");
  // Only a whole keyword counts: "MyProtocol=" is another one.
  EXPECT_EQ(with_driver_defaults("Driver=x;MyProtocol=1", *pg),
            "Driver=x;MyProtocol=1;Protocol=7.4-1");
  for (const Dialect id : {Dialect::SqlServer, Dialect::MariaDb}) {
    const auto d = sink::Dialect::create(id, {"s"});
    EXPECT_EQ(with_driver_defaults("Driver=x;Server=h", *d), "Driver=x;Server=h") << d->name();
  }
}

TEST(AllDialects, NoMergeNoCreateOrAlterAndOnlyBoundValues) {
  for (const Dialect id : {Dialect::SqlServer, Dialect::Postgres, Dialect::MariaDb}) {
    const auto d = sink::Dialect::create(id, {"s1", "T1", "O1"});
    for (const std::string& sql : all_statements(*d)) {
      EXPECT_FALSE(contains(sql, "MERGE")) << sql;
      EXPECT_FALSE(contains(sql, "CREATE OR ALTER")) << sql;
      EXPECT_FALSE(contains(sql, "SERIALIZABLE")) << sql;
    }
    EXPECT_EQ(markers(d->truncate_sql()), 4u) << d->name();
    EXPECT_EQ(markers(d->truncate_watermark_sql()), 3u) << d->name();
    // Exactly one way for a segment to reach the table.
    EXPECT_NE(d->documents() == nullptr, d->stage() == nullptr) << d->name();
    if (const auto* documents = d->documents()) {
      EXPECT_EQ(markers(documents->upsert_document_sql()), 1u) << d->name();
      EXPECT_EQ(markers(documents->flag_document_sql()), 1u) << d->name();
    }
    if (const auto* staged = d->stage()) {
      EXPECT_EQ(markers(staged->stage_truncated_sql()), 0u) << d->name();
      EXPECT_EQ(markers(staged->stage_insert(1)), stage_columns().size()) << d->name();
      EXPECT_EQ(markers(staged->stage_json_sql(1, 0)), 1u) << d->name();
      EXPECT_EQ(markers(staged->stage_json_sql(4, 3)), 7u) << d->name();
    }
    EXPECT_TRUE(contains(d->truncates_table(), "MeterSyncTruncates")) << d->name();
    EXPECT_EQ(markers(d->offsets_upsert_all_sql(4)), 20u) << d->name();
    EXPECT_TRUE(contains(d->meter_table(), "T1")) << d->name();
  }
}

}  // namespace
}  // namespace metersync::sink
