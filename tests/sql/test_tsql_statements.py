"""The SQL Server statements the sink sends, run through sqlglot's T-SQL parser.

A parser proves syntax only; what also ran over TDS (against Babelfish) is recorded in
docs/sink.md. The statements come from `metersync_sink_sql_dump sqlserver`, whose path is
in METERSYNC_SQL_DUMP (ctest sets it) or found in a build*/ directory of the repository.
"""
import glob
import json
import os
import re
import subprocess

import pytest
import sqlglot
from sqlglot import exp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def built_tool(name):
    """A sink binary: build/ (what ./test builds) first, else the newest build*/ dir."""
    main = os.path.join(ROOT, "build", "src", "sink", name)
    if os.path.exists(main):
        return main
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "src", "sink", name)), key=os.path.getmtime, reverse=True)
    if not found:
        pytest.fail(f"{name} not built: build the project (cmake --build build)")
    return found[0]


def dump_tool():
    return os.environ.get("METERSYNC_SQL_DUMP") or built_tool("metersync_sink_sql_dump")


def statements(dialect="sqlserver"):
    out = subprocess.run([dump_tool(), dialect], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


SQLSERVER = statements()
BY_NAME = {s["name"]: s for s in SQLSERVER}


def strip_literals(sql):
    return re.sub(r"N?'(?:[^']|'')*'", "''", sql)


def markers(sql):
    return strip_literals(sql).count("?")


def test_dump_has_every_statement_kind():
    names = set(BY_NAME)
    for expected in ["begin", "commit", "rollback", "create_table_0", "create_table_1", "create_table_2",
                     "columns_query", "lock", "prepare_stage_0", "prepare_stage_1", "stage_insert_1",
                     "stage_insert_max", "stage_truncated", "apply_stage_0", "apply_stage_1",
                     "truncate_watermark", "truncate", "offsets_upsert_all_1", "offsets_select", "records_applied"]:
        assert expected in names


# T-SQL's THROW: `THROW error_number, message, state;` (Microsoft's THROW reference). sqlglot's
# T-SQL grammar has no THROW, so each one is checked against that grammar here and replaced by
# a statement sqlglot parses (SELECT of the same three values) before the rest is parsed.
THROW = re.compile(r"\bTHROW (\d+), (N'(?:[^']|'')*'), (\d+);")


def without_throw(sql):
    def check(m):
        assert 50000 <= int(m.group(1)) <= 2147483647, "user THROW numbers start at 50000"
        assert 0 <= int(m.group(3)) <= 255
        return f"SELECT {m.group(1)}, {m.group(2)}, {m.group(3)};"
    replaced = THROW.sub(check, sql)
    assert "THROW" not in strip_literals(replaced), "a THROW not of the form THROW n, N'...', s;"
    return replaced


# T-SQL's TRY...CATCH: `BEGIN TRY statements END TRY BEGIN CATCH statements END CATCH`, a CATCH
# right after each TRY, and `THROW;` without arguments (re-raising the error caught) only
# inside a CATCH (Microsoft's TRY...CATCH and THROW references). sqlglot's T-SQL grammar has
# neither, so the construct is checked here and replaced by its two bodies, each then parsed
# like any other statements; a bare THROW by a statement sqlglot parses.
TRY_CATCH = re.compile(r"BEGIN TRY\n(.*?)\nEND TRY\nBEGIN CATCH\n(.*?)\nEND CATCH;", re.S)


def without_try_catch(sql):
    def bodies(m):
        tried, caught = m.group(1), m.group(2)
        assert not re.search(r"\b(TRY|CATCH)\b", strip_literals(tried + caught)), "nested TRY...CATCH"
        assert not re.search(r"\bTHROW;", tried), "THROW; outside a CATCH"
        return tried + "\n" + re.sub(r"\bTHROW;", "SELECT ERROR_NUMBER();", caught)
    replaced = TRY_CATCH.sub(bodies, sql)
    left = strip_literals(replaced)
    assert not re.search(r"\b(TRY|CATCH)\b", left), "a TRY or CATCH outside BEGIN TRY ... END CATCH;"
    assert not re.search(r"\bTHROW;", left), "THROW; outside a CATCH"
    return replaced


def test_try_catch_is_checked_before_it_is_replaced():
    assert without_try_catch("SET A ON;\nBEGIN TRY\nSELECT 1;\nEND TRY\nBEGIN CATCH\nIF 1 = 1 BEGIN THROW; END;\nEND CATCH;") == \
        "SET A ON;\nSELECT 1;\nIF 1 = 1 BEGIN SELECT ERROR_NUMBER(); END;"
    for broken in ["BEGIN TRY\nSELECT 1;\nEND TRY;", "SELECT 1;\nTHROW;",
                   "BEGIN TRY\nTHROW;\nEND TRY\nBEGIN CATCH\nSELECT 1;\nEND CATCH;"]:
        with pytest.raises(AssertionError):
            without_try_catch(broken)


@pytest.mark.parametrize("statement", SQLSERVER, ids=[s["name"] for s in SQLSERVER])
def test_parses_as_tsql(statement):
    # error_level RAISE: any token sqlglot cannot place is an error, not a warning.
    parsed = sqlglot.parse(without_throw(without_try_catch(statement["sql"])), read="tsql",
                           error_level=sqlglot.ErrorLevel.RAISE)
    assert parsed and all(p is not None for p in parsed)
    # A statement sqlglot cannot understand comes back as an opaque Command.
    commands = [p for p in parsed if isinstance(p, exp.Command)]
    assert not commands, f"{statement['name']} was not parsed structurally: {commands}"


@pytest.mark.parametrize("statement", SQLSERVER, ids=[s["name"] for s in SQLSERVER])
def test_parameter_markers_match_and_fit_sql_server_limit(statement):
    assert markers(statement["sql"]) == statement["params"]
    assert statement["params"] <= 2100


@pytest.mark.parametrize("statement", SQLSERVER, ids=[s["name"] for s in SQLSERVER])
def test_only_tsql_that_also_runs_on_babelfish(statement):
    sql = strip_literals(statement["sql"]).upper()
    assert "MERGE" not in sql
    assert "CREATE OR ALTER" not in sql
    assert "SERIALIZABLE" not in sql
    for hint in ["UPDLOCK", "HOLDLOCK", "ROWLOCK", "NOLOCK", "TABLOCK"]:
        assert hint not in sql


def test_ddl_is_guarded_and_matches_spec_types():
    meter = BY_NAME["create_table_0"]["sql"]
    assert meter.startswith("IF OBJECT_ID(N'dbo.MeterMaster', N'U') IS NULL")
    create = sqlglot.parse(meter, read="tsql")[0]
    columns = {c.name: c.args["kind"] for c in create.find_all(exp.ColumnDef)}
    expected = {
        "SourceSystem": "VARCHAR(16)", "SourceMeterId": "NVARCHAR(64)", "SerialNumber": "NVARCHAR(64)",
        "MeterType": "VARCHAR(16)", "Manufacturer": "NVARCHAR(100)", "Status": "VARCHAR(16)",
        "InstallDate": "DATE", "Multiplier": "DECIMAL(9, 4)", "LastReadingValue": "DECIMAL(18, 3)",
        "LastReadingAt": "DATETIME2(6)", "Latitude": "DECIMAL(9, 6)", "Longitude": "DECIMAL(9, 6)",
        "IsDeleted": "BIT", "SourceCommittedAt": "DATETIME2(3)", "SourcePosition": "VARCHAR(100)",
        "SyncedAt": "DATETIME2(6)",
    }
    assert columns == {name: exp.DataType.build(t, dialect="tsql") for name, t in expected.items()}
    assert BY_NAME["create_table_1"]["sql"].startswith("IF OBJECT_ID(N'dbo.MeterSyncOffsets', N'U') IS NULL")
    truncates = BY_NAME["create_table_2"]["sql"]
    assert truncates.startswith("IF OBJECT_ID(N'dbo.MeterSyncTruncates', N'U') IS NULL")
    create = sqlglot.parse(truncates, read="tsql")[0]
    columns = {c.name: c.args["kind"] for c in create.find_all(exp.ColumnDef)}
    assert columns == {name: exp.DataType.build(t, dialect="tsql") for name, t in {
        "SourceSystem": "VARCHAR(16)", "SourcePosition": "VARCHAR(100)", "SourceCommittedAt": "DATETIME2(3)",
        "updated_at": "DATETIME2(6)"}.items()}


def test_stage_insert_uses_the_most_rows_sql_server_allows():
    # 16 staged columns: 131 rows is the most under 2,100 parameters.
    assert BY_NAME["stage_insert_max"]["params"] == 131 * 16
    insert = sqlglot.parse_one(BY_NAME["stage_insert_max"]["sql"], read="tsql")
    assert len(insert.expression.expressions) == 131


def test_updates_carry_the_stale_position_guard():
    for name in ["apply_stage_0", "apply_stage_1", "truncate"]:
        sql = BY_NAME[name]["sql"]
        assert re.search(r"\[SourcePosition\] COLLATE Latin1_General_BIN2 < (s\.\[SourcePosition\]|\?) "
                         r"COLLATE Latin1_General_BIN2", sql), name


def test_new_keys_are_inserted_unless_the_update_wrote_every_staged_row():
    # The INSERT of new keys is conditioned on the UPDATE's @@ROWCOUNT, so both are one
    # statement: nothing may run between them.
    update, insert = BY_NAME["apply_stage_0"]["sql"].split("\nIF @@ROWCOUNT < ", 1)
    assert update.startswith("UPDATE t SET")
    assert insert.startswith("(SELECT COUNT(*) FROM #MeterSyncStage WHERE [ChangeKind] = 'U')\nBEGIN\nINSERT INTO")
    assert "NOT EXISTS" in insert and insert.endswith("\nEND;")
    parsed = sqlglot.parse(BY_NAME["apply_stage_0"]["sql"], read="tsql")
    assert not [p for p in parsed if isinstance(p, exp.Command)]
    assert [type(p) for p in parsed] == [exp.Update, exp.IfBlock]


def test_a_segment_of_new_keys_is_inserted_as_it_is_unless_a_key_is_stored():
    sql = BY_NAME["apply_stage_new_keys_first"]["sql"]
    m = TRY_CATCH.fullmatch(sql.removeprefix("SET XACT_ABORT OFF;\n"))
    assert sql.startswith("SET XACT_ABORT OFF;\n") and m, sql[:200]
    tried, caught = m.group(1), m.group(2)
    # Tried: every staged full row, no probe; XACT_ABORT back on once it is written.
    assert tried.startswith("INSERT INTO [dbo].[MeterMaster]") and "NOT EXISTS" not in tried
    assert tried.endswith("WHERE s.[ChangeKind] = 'U';\nSET XACT_ABORT ON;")
    # Caught: XACT_ABORT on first, then any error but a duplicate key raised again, then the
    # missing keys inserted and the rest updated unless the INSERT wrote every row.
    head, insert = caught.split("\nINSERT INTO ", 1)
    assert head == "SET XACT_ABORT ON;\nIF ERROR_NUMBER() NOT IN (2601, 2627) BEGIN THROW; END;"
    insert, update = insert.split("\nIF @@ROWCOUNT < ", 1)
    assert "NOT EXISTS" in insert
    assert update.startswith("(SELECT COUNT(*) FROM #MeterSyncStage WHERE [ChangeKind] = 'U')\nBEGIN\nUPDATE t SET")
    assert re.search(r"t\.\[SourcePosition\] COLLATE Latin1_General_BIN2 < s\.\[SourcePosition\]", update)
    # Each part on its own: sqlglot reads everything after a T-SQL IF as that IF's body.
    assert [type(p) for p in sqlglot.parse(tried, read="tsql")] == [exp.Insert, exp.Set]
    assert [type(p) for p in sqlglot.parse("INSERT INTO " + insert + "\nIF @@ROWCOUNT < " + update, read="tsql")] == \
        [exp.Insert, exp.IfBlock]


def test_every_transaction_turns_xact_abort_on_again():
    assert BY_NAME["begin"]["sql"] == "SET XACT_ABORT ON;\nBEGIN TRANSACTION;"


def test_truncate_watermark_only_moves_forward_and_older_staged_rows_are_flagged():
    watermark = BY_NAME["truncate_watermark"]["sql"]
    assert BY_NAME["truncate_watermark"]["params"] == 3
    assert re.search(r"WHERE \[SourceSystem\] = @system AND \[SourcePosition\] COLLATE Latin1_General_BIN2 < "
                     r"@position COLLATE Latin1_General_BIN2;", watermark)
    assert "IF NOT EXISTS (SELECT 1 FROM [dbo].[MeterSyncTruncates] WHERE [SourceSystem] = @system)" in watermark
    stage = BY_NAME["stage_truncated"]["sql"]
    assert stage.startswith("UPDATE s SET [IsDeleted] = 1")
    assert re.search(r"s\.\[SourcePosition\] COLLATE Latin1_General_BIN2 < w\.\[SourcePosition\] "
                     r"COLLATE Latin1_General_BIN2", stage)


def test_json_stage_reads_every_document_column_as_text_into_the_typed_stage():
    for name, kinds in [("stage_json_full", ["U"]), ("stage_json_key_only", ["K"]),
                        ("stage_json_both", ["U"] * 20 + ["K"] * 2)]:
        sql = BY_NAME[name]["sql"]
        assert BY_NAME[name]["params"] == len(kinds)
        assert sql.startswith("INSERT INTO #MeterSyncStage (")
        # every document a row of one VALUES list, with its ChangeKind, full rows first
        values = re.search(r"FROM \(VALUES (.*?)\) AS d\(\[document\], \[kind\]\)\n", sql)
        assert values and re.findall(r"\(\?, '(\w)'\)", values.group(1)) == kinds
        assert "CROSS APPLY OPENJSON(d.[document]) WITH (" in sql and ", d.[kind]\nFROM" in sql
        paths = re.findall(r"\[(\w+)\] (NVARCHAR\(4000\)|BIT) '\$\[(\d+)\]'", sql)
        # stage_document.hpp's row: 15 values in the stage's column order, IsDeleted a number
        assert [int(p[2]) for p in paths] == list(range(15))
        assert [p[0] for p in paths if p[1] == "BIT"] == ["IsDeleted"]


def test_one_request_holds_the_whole_json_transaction():
    sql = BY_NAME["transaction_json"]["sql"]
    order = ["BEGIN TRANSACTION;", "sp_getapplock", "THROW 51001", "CREATE TABLE #MeterSyncStage",
             "CROSS APPLY OPENJSON(d.[document])", "UPDATE s SET [IsDeleted] = 1", "UPDATE t SET", "INSERT INTO [dbo].[MeterMaster]",
             "@metersync_offsets", "COMMIT TRANSACTION;"]
    at = [sql.index(piece) for piece in order]
    assert at == sorted(at)
    # every DECLAREd name is declared once in the batch (T-SQL: one scope per batch)
    declared = re.findall(r"DECLARE (@\w+)", sql)
    assert len(declared) == len(set(declared)) == 3


def test_transaction_shape():
    assert BY_NAME["session_setup_0"]["sql"] == "SET XACT_ABORT ON;"
    assert BY_NAME["rollback"]["sql"].startswith("IF @@TRANCOUNT > 0 ROLLBACK")
    assert "sp_getapplock" in BY_NAME["lock"]["sql"] and "@LockOwner = 'Transaction'" in BY_NAME["lock"]["sql"]


@pytest.mark.parametrize("dialect,read", [("postgres", "postgres"), ("mariadb", "mysql")])
def test_other_dialects_parse_too(dialect, read):
    for statement in statements(dialect):
        sql = statement["sql"]
        assert markers(sql) == statement["params"], statement["name"]
        if dialect == "mariadb":
            # sqlglot's MySQL grammar has no character set on JSON_TABLE columns (MariaDB
            # needs it: they would take the server's default, often latin1); the statements
            # themselves run on MariaDB in the sink's real-server suite.
            sql = sql.replace(" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH", " PATH")
        parsed = sqlglot.parse(sql, read=read, error_level=sqlglot.ErrorLevel.RAISE)
        assert parsed and all(p is not None for p in parsed), statement["name"]


def test_writers_of_one_source_serialize_on_every_dialect():
    """A consumer-group hand-over must not interleave a truncate with another writer's open
    batch: each dialect takes a writer lock first in every transaction (docs/sink.md)."""
    assert "sp_getapplock" in BY_NAME["lock"]["sql"] and "unlock" not in BY_NAME
    postgres = {s["name"]: s for s in statements("postgres")}
    assert "pg_advisory_xact_lock(" in postgres["lock"]["sql"] and "unlock" not in postgres
    assert postgres["session_setup_0"]["sql"] == "SET lock_timeout = '30s'"
    mariadb = {s["name"]: s for s in statements("mariadb")}
    assert "GET_LOCK(" in mariadb["lock"]["sql"] and ", 30)" in mariadb["lock"]["sql"]
    # GET_LOCK belongs to the session: the sink releases it after each transaction.
    assert mariadb["unlock"]["sql"] == "SELECT RELEASE_ALL_LOCKS()"
