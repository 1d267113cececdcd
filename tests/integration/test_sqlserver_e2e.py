"""The opt-in SQL Server suite: the real `metersync` binary with `sink.dialect: sqlserver` against the
server named by METERSYNC_SQLSERVER_ODBC (see docs/sqlserver.md). Without it every test here is
skipped with a one-line reason.

- `init` creates Meter Master and the offsets table on that server, with the spec's types.
- The SQL Server and Oracle fixture events (produced onto this test's own topics) and a random
  workload on the stack's PostgreSQL and MariaDB (cdcstack/loadgen.py) are applied through the
  SQL Server dialect; Meter Master there equals, row for row and column for column, the
  PostgreSQL Meter Master a second metersync (postgres dialect) built from the same records.
- SIGKILL during SQL Server apply loses and doubles nothing: the offsets table counts every record
  on the topics once, and the rows still equal the PostgreSQL ones.
- A row the server rejects (a CHECK constraint added to this test's table) goes to the dead-letter
  topic; the rest of its batch lands; on both stage paths (JSON document and multi-row INSERTs).
- Non-ASCII NVARCHAR, DECIMAL extremes and DATETIME2 microseconds round-trip exactly.

Each test uses its own topics, consumer groups, dead-letter topics and tables, and removes them.
"""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from decimal import Decimal

import pytest

import loadgen
from metersync_harness import MeterSync, Names, drop_sink_tables, meter_master, offsets, sink_connect, \
    topic_record_counts, wait_until
from sqlserver_suite_support import (CONNECTION, SKIP_REASON, SqlServerEvents, covers, create_topic, delete_groups,
                                     delete_topics, differences, end_offsets, fixture_records, nano_timestamp,
                                     produce, read_all, run_init, settled, tds_connect, tds_drop, tds_meter_master,
                                     tds_offsets, write_suite_config)

pytestmark = pytest.mark.skipif(not CONNECTION, reason=SKIP_REASON)

SHARED_TOPICS = {"postgres": "postgres.public.meter", "mysql": "mysql.meterdb.meters"}
CONNECTION_VAR = "METERSYNC_SUITE_SINK_ODBC"
# Bound for catching up on the topics on a shared 2-core machine (Babelfish applies ~1k changes/s).
CATCH_UP_S = 900


class Suite:
    """One test's Kafka topics, consumer groups, metersync processes and sink tables; close() removes
    them all."""

    def __init__(self, env: dict[str, str], tmp_path):
        self.env = env
        self.bootstrap = env["KAFKA_BOOTSTRAP"]
        self.tmp = tmp_path
        self.suffix = uuid.uuid4().hex[:8]
        self.topics: list[str] = []
        self.groups: list[str] = []
        self.processes: list[MeterSync] = []
        self.tds_tables: list[str] = []
        self.pg_names: list[Names] = []
        self.tds = tds_connect()

    def topic(self, name: str, partitions: int = 3) -> str:
        topic = f"itsql-{self.suffix}.{name}"
        create_topic(self.bootstrap, topic, partitions)
        self.topics.append(topic)
        return topic

    def metersync(self, label: str, dialect: str, topics: dict[str, str],
                  sink_settings: dict[str, str] | None = None) -> MeterSync:
        names = Names(f"{self.suffix}_{label}")
        directory = self.tmp / label
        directory.mkdir()
        dead_letters = {s: f"itsql-{self.suffix}.{label}.{s}.dlq" for s in topics}
        self.topics += dead_letters.values()
        self.groups += [names.group(s) for s in topics]
        connection = CONNECTION if dialect == "sqlserver" else self.env["SINK_ODBC"]
        ms = MeterSync({**self.env, CONNECTION_VAR: connection}, names, directory)
        ms.config = write_suite_config(directory / "suite.yaml", dialect=dialect, connection_var=CONNECTION_VAR,
                                       table=names.table, offsets_table=names.offsets_table,
                                       truncates_table=names.truncates_table,
                                       group_prefix=names.group_prefix, topics=topics,
                                       dead_letter_topics=dead_letters, sink_settings=sink_settings)
        ms.dead_letters = dead_letters
        if dialect == "sqlserver":
            self.tds_tables += [names.table, names.offsets_table, names.truncates_table]
        else:
            self.pg_names.append(names)
        self.processes.append(ms)
        return ms

    def close(self) -> None:
        for ms in self.processes:
            ms.close()
        tds_drop(self.tds, *self.tds_tables)
        self.tds.close()
        if self.pg_names:
            conn = sink_connect(self.env)
            for names in self.pg_names:
                drop_sink_tables(conn, names)
            conn.close()
        delete_groups(self.bootstrap, self.groups)
        delete_topics(self.bootstrap, self.topics)


@pytest.fixture
def suite(stack, tmp_path):
    s = Suite(stack, tmp_path)
    try:
        yield s
    finally:
        s.close()


def _init(ms: MeterSync) -> None:
    r = run_init(ms.config, ms.env)
    assert r.returncode == 0, f"metersync init failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"


def _running(*processes: MeterSync) -> None:
    for ms in processes:
        if not ms.running():
            raise AssertionError(f"metersync ({ms.names.suffix}) exited; log:\n{ms.log_tail()}")


def _tds_state(suite: Suite, ms: MeterSync):
    return settled(lambda: tds_offsets(suite.tds, ms.names.offsets_table),
                   lambda: tds_meter_master(suite.tds, ms.names.table))


def _pg_state(pg, ms: MeterSync):
    return settled(lambda: offsets(pg, ms.names), lambda: meter_master(pg, ms.names))


def _wait_until_same(suite: Suite, tds_ms: MeterSync, pg_ms: MeterSync, ends: dict[str, dict[int, int]]):
    """Waits until both sinks have covered exactly the same records, at least up to `ends`, and
    returns (progress, sqlserver rows, postgres rows, differences) of that instant; the caller
    asserts. Other tests may produce onto the shared topics meanwhile: then the two sinks are
    compared at the next instant they agree."""
    pg = sink_connect(suite.env)
    last = {}
    try:
        def same():
            _running(tds_ms, pg_ms)
            tds_prog, tds_rows = _tds_state(suite, tds_ms)
            pg_prog, pg_rows = _pg_state(pg, pg_ms)
            last.update(tds=tds_prog, pg=pg_prog)
            if tds_prog != pg_prog or not covers(tds_prog, ends):
                return None
            return tds_prog, tds_rows, pg_rows, differences(tds_rows, pg_rows)

        try:
            return wait_until(same, CATCH_UP_S, "both sinks to cover the same records", interval=2)
        except AssertionError as e:
            raise AssertionError(f"{e}; last progress sqlserver {last.get('tds')} postgres {last.get('pg')}\n"
                                 f"sqlserver log:\n{tds_ms.log_tail()}\npostgres log:\n{pg_ms.log_tail()}") from None
    finally:
        pg.close()


def _workload(env, seed: int, count: int, rate: float):
    counts = loadgen.run_many(["postgres", "mariadb"], env, rate=rate, count=count, seed=seed,
                              working_set=100, batch=1)
    for c in counts:
        assert c.inserts > 0 and c.updates > 0 and c.deletes > 0, f"workload too small: {c}"
    return counts


def _fixture_topics(suite: Suite) -> dict[str, str]:
    # One partition each: a truncate event has no key, so on several partitions it would be ordered
    # against the rows of only its own partition, and the two sinks could see different orders.
    topics = {"mssql": suite.topic("mssql.MeterDB.dbo.Meters", partitions=1),
              "oracle": suite.topic("oracle.METERS.METER", partitions=1)}
    produce(suite.bootstrap, topics["mssql"], fixture_records("sqlserver"))
    produce(suite.bootstrap, topics["oracle"], fixture_records("oracle"))
    return topics


# ---------------------------------------------------------------------------------------------

SPEC_COLUMNS = [  # name, type, length/precision, scale, nullable (shared spec: Meter Master, SQL Server)
    ("SourceSystem", "varchar", 16, None, "NO"), ("SourceMeterId", "nvarchar", 64, None, "NO"),
    ("SerialNumber", "nvarchar", 64, None, "NO"), ("MeterType", "varchar", 16, None, "NO"),
    ("Manufacturer", "nvarchar", 100, None, "YES"), ("Status", "varchar", 16, None, "NO"),
    ("InstallDate", "date", None, None, "YES"), ("Multiplier", "decimal", 9, 4, "NO"),
    ("LastReadingValue", "decimal", 18, 3, "YES"), ("LastReadingAt", "datetime2", 6, None, "YES"),
    ("Latitude", "decimal", 9, 6, "YES"), ("Longitude", "decimal", 9, 6, "YES"),
    ("IsDeleted", "bit", None, None, "NO"), ("SourceCommittedAt", "datetime2", 3, None, "NO"),
    ("SourcePosition", "varchar", 100, None, "NO"), ("SyncedAt", "datetime2", 6, None, "NO"),
]


def _columns(conn, table: str) -> list[tuple]:
    rows = conn.cursor().execute(
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, "
        "DATETIME_PRECISION, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = 'dbo' AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", table).fetchall()
    out = []
    for name, dtype, length, precision, scale, dt_precision, nullable in rows:
        dtype = dtype.lower()
        size = length if dtype in ("varchar", "nvarchar") else precision if dtype == "decimal" else \
            dt_precision if dtype == "datetime2" else None
        out.append((name, dtype, None if size is None else int(size),
                    int(scale) if dtype == "decimal" else None, nullable))
    return out


def _primary_key(conn, table: str) -> list[str]:
    rows = conn.cursor().execute(
        "SELECT k.COLUMN_NAME FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS c "
        "JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_NAME = c.CONSTRAINT_NAME "
        "AND k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME "
        "WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = 'dbo' AND c.TABLE_NAME = ? "
        "ORDER BY k.ORDINAL_POSITION", table).fetchall()
    return [r[0] for r in rows]


def test_init_creates_meter_master_and_offsets_table(suite):
    ms = suite.metersync("init", "sqlserver", {"mssql": f"itsql-{suite.suffix}.unused"})
    for _ in range(2):  # the second run finds both tables and checks them
        _init(ms)
    assert _columns(suite.tds, ms.names.table) == SPEC_COLUMNS
    assert [k.lower() for k in _primary_key(suite.tds, ms.names.table)] == ["sourcesystem", "sourcemeterid"]
    offsets_columns = [c[0] for c in _columns(suite.tds, ms.names.offsets_table)]
    assert offsets_columns == ["pipeline", "topic", "partition", "next_offset", "records_applied", "updated_at"]
    assert [k.lower() for k in _primary_key(suite.tds, ms.names.offsets_table)] == \
        ["pipeline", "topic", "partition"]
    assert tds_meter_master(suite.tds, ms.names.table) == {}


def test_fixture_and_workload_events_give_the_postgres_meter_master(suite):
    seed = random.randrange(1 << 30)
    topics = {**SHARED_TOPICS, **_fixture_topics(suite)}
    counts = _workload(suite.env, seed, count=1200, rate=0)
    print(f"workload seed {seed}: " + "; ".join(str(c) for c in counts))
    ends = {t: end_offsets(suite.bootstrap, t) for t in topics.values()}

    tds_ms = suite.metersync("tds", "sqlserver", topics)
    pg_ms = suite.metersync("pg", "postgres", topics)
    _init(tds_ms)
    started = time.monotonic()
    tds_ms.start()
    pg_ms.start()
    prog, tds_rows, pg_rows, diffs = _wait_until_same(suite, tds_ms, pg_ms, ends)
    elapsed = time.monotonic() - started
    records = sum(applied for _, applied in prog.values())
    print(f"SQL Server dialect on this server: {records} records, {len(tds_rows)} Meter Master rows, "
          f"caught up within {elapsed:.1f}s (upper bound, polled every 2s)")

    assert not diffs, f"{len(diffs)} rows differ, first ones:\n" + "\n".join(diffs[:25])
    systems = {k[0] for k in tds_rows}
    assert systems == {"postgres", "mysql", "mssql", "oracle"}, systems
    # The fixtures' story: SQL Server meter 1 updated then deleted (kept, flagged), the edge-value
    # meter live; Oracle's table truncated at the end, so every Oracle row is flagged.
    assert tds_rows[("mssql", "1")]["IsDeleted"] and tds_rows[("mssql", "1")]["Status"] == "inactive"
    edge = tds_rows[("mssql", "2147483647")]
    assert not edge["IsDeleted"] and edge["SerialNumber"] == "Zähler-Ø ✓ 电表 🚀"
    assert all(r["IsDeleted"] for k, r in tds_rows.items() if k[0] == "oracle")
    assert {k[1] for k in tds_rows if k[0] == "oracle"} == {"1001", "4294967296"}
    for c in counts:  # every key the workload touched arrived
        system = "postgres" if c.target == "postgres" else "mysql"
        missing = [k for k in c.keys if (system, k) not in tds_rows]
        assert not missing, f"{system}: {len(missing)} workload keys missing (seed {seed}), e.g. {missing[:5]}"
    assert tds_ms.stop() == 0, tds_ms.log_tail()
    assert pg_ms.stop() == 0, pg_ms.log_tail()


def test_sigkill_during_sqlserver_apply_loses_and_doubles_nothing(suite):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    own = suite.topic("mssql.MeterDB.dbo.Meters")
    events = SqlServerEvents()
    # 4,000 SQL Server changes over 600 meters: many updates of the same keys across batches.
    records = []
    for i in range(4000):
        meter = rng.randrange(1, 601)
        records.append(events.create(meter_id=meter, serial=f"SN-K-{meter:05d}-v{i}", type_code=rng.choice("EWG"),
                                     status_code=rng.choice((1, 2, 3)), multiplier=Decimal(rng.randrange(1, 10**5)),
                                     last_read_kwh=Decimal(rng.randrange(-10**9, 10**9)) / 1000,
                                     last_read_at=nano_timestamp(dt.datetime(2026, 1, 1)) + i * 1_000_123_457))
    produce(suite.bootstrap, own, records)
    topics = {**SHARED_TOPICS, "mssql": own}

    tds_ms = suite.metersync("tds", "sqlserver", topics)
    pg_ms = suite.metersync("pg", "postgres", topics)
    _init(tds_ms)
    results: list = []
    errors: list[BaseException] = []

    def work():
        try:
            results.extend(_workload(suite.env, seed, count=1500, rate=150))
        except BaseException as e:  # reported in the test thread
            errors.append(e)

    pg_ms.start()
    tds_ms.start()
    load = threading.Thread(target=work, name="workload")
    load.start()
    kills = mid_apply = 0
    try:
        while load.is_alive() or kills < 5:
            time.sleep(rng.uniform(0.5, 3.0))
            ends = {t: end_offsets(suite.bootstrap, t) for t in topics.values()}
            behind = not covers(settled(lambda: tds_offsets(suite.tds, tds_ms.names.offsets_table),
                                        lambda: None)[0], ends)
            _running(tds_ms)
            tds_ms.kill()
            kills += 1
            mid_apply += behind
            tds_ms.start()
    finally:
        load.join()
    assert not errors, errors
    print(f"workload seed {seed}, {kills} SIGKILLs ({mid_apply} with records still to apply): "
          + "; ".join(str(r) for r in results))
    assert mid_apply >= 3, f"only {mid_apply} of {kills} kills came while records were still to apply"

    ends = {t: end_offsets(suite.bootstrap, t) for t in topics.values()}
    prog, tds_rows, pg_rows, diffs = _wait_until_same(suite, tds_ms, pg_ms, ends)
    assert not diffs, f"{len(diffs)} rows differ, first ones:\n" + "\n".join(diffs[:25])
    for topic, (parts, applied) in prog.items():
        on_topic = topic_record_counts(suite.bootstrap, topic, parts)
        assert applied == on_topic, f"{topic}: records_applied {applied} but {on_topic} records below {parts}"
    assert prog[own][1] == len(records)
    assert len([k for k in tds_rows if k[0] == "mssql"]) == len({r[0] for r in records})
    assert tds_ms.stop() == 0, tds_ms.log_tail()
    assert pg_ms.stop() == 0, pg_ms.log_tail()


@pytest.mark.parametrize("stage", ["json", "rows"])
def test_row_the_server_rejects_goes_to_the_dead_letter_topic(suite, stage):
    own = suite.topic("mssql.MeterDB.dbo.Meters", partitions=1)
    ms = suite.metersync(f"reject_{stage}", "sqlserver", {"mssql": own}, sink_settings={"sqlserver_stage": stage})
    _init(ms)
    # Mapping accepts any serial that fits NVARCHAR(64); this server refuses one kind of serial.
    suite.tds.cursor().execute(f"ALTER TABLE [dbo].[{ms.names.table}] ADD CONSTRAINT "
                               f"[CK_{ms.names.table}_serial] CHECK (SerialNumber NOT LIKE N'REFUSED-%')")
    events = SqlServerEvents()
    records = [events.create(meter_id=i, serial=(f"REFUSED-{i}" if i == 17 else f"SN-R-{i}"),
                             multiplier=Decimal("1.5")) for i in range(1, 41)]
    where = produce(suite.bootstrap, own, records)

    ms.start()

    def all_applied():
        _running(ms)
        prog = settled(lambda: tds_offsets(suite.tds, ms.names.offsets_table), lambda: None)[0]
        return prog.get(own, ({}, 0))[1] == len(records)

    wait_until(all_applied, CATCH_UP_S, "all 40 records to be applied or dead-lettered", interval=1)
    rows = tds_meter_master(suite.tds, ms.names.table)
    assert sorted(int(k[1]) for k in rows) == [i for i in range(1, 41) if i != 17]
    assert all(r["SerialNumber"] == f"SN-R-{k[1]}" for k, r in rows.items())

    letters = read_all(suite.bootstrap, ms.dead_letters["mssql"], expected=1)
    assert len(letters) == 1, [m.value()[:200] for m in letters]
    letter = letters[0]
    headers = {k: v.decode() for k, v in (letter.headers() or [])}
    assert letter.key() == records[16][0] and letter.value() == records[16][1]
    assert headers["metersync.error.stage"] == "sink", headers
    assert headers["metersync.original.topic"] == own
    assert (int(headers["metersync.original.partition"]), int(headers["metersync.original.offset"])) == where[16]
    assert "check" in headers["metersync.error.reason"].lower(), headers
    status = ms.wait_for_status(lambda s: s["sources"]["mssql"]["records_dead_lettered"] >= 1, 60,
                                "the refused row counted as dead-lettered in the status file")
    assert status["sources"]["mssql"]["records_dead_lettered"] == 1, status
    assert status["sources"]["mssql"]["state"] == "running", status
    assert ms.stop() == 0, ms.log_tail()


def test_non_ascii_decimal_extremes_and_microseconds_round_trip_exactly(suite):
    own = suite.topic("mssql.MeterDB.dbo.Meters", partitions=1)
    ms = suite.metersync("exact", "sqlserver", {"mssql": own})
    _init(ms)
    serial_64 = ("Zähler-Ωμέγα-東京-✓-ЖЁ-ß-" * 4)[:64]
    maker_99 = ("Ångström Ελληνικά 電表 " * 6)[:98] + "🚀"  # 99 characters, 100 UTF-16 code units
    events = SqlServerEvents()
    cases = {
        # meter: (event fields, expected Meter Master columns)
        1: (dict(serial=serial_64, manufacturer=maker_99, multiplier=Decimal("99999.9999"),
                 last_read_kwh=Decimal("999999999999999.999"), lat=Decimal("999.999999"), lon=Decimal("-999.999999"),
                 install_date=dt.date(9999, 12, 31),
                 last_read_at=nano_timestamp(dt.datetime(2026, 11, 27, 21, 30, 15, 123456), extra_nanos=789)),
            dict(SerialNumber=serial_64, Manufacturer=maker_99, Multiplier=Decimal("99999.9999"),
                 LastReadingValue=Decimal("999999999999999.999"), Latitude=Decimal("999.999999"),
                 Longitude=Decimal("-999.999999"), InstallDate=dt.date(9999, 12, 31),
                 LastReadingAt=dt.datetime(2026, 11, 27, 21, 30, 15, 123456))),
        2: (dict(serial="Ø", manufacturer="", multiplier=Decimal("-99999.9999"),
                 last_read_kwh=Decimal("-999999999999999.999"), lat=Decimal("0.000001"), lon=Decimal("-0.000001"),
                 install_date=dt.date(1900, 1, 1), last_read_at=nano_timestamp(dt.datetime(1900, 1, 1, 0, 0, 0, 1))),
            dict(SerialNumber="Ø", Manufacturer="", Multiplier=Decimal("-99999.9999"),
                 LastReadingValue=Decimal("-999999999999999.999"), Latitude=Decimal("0.000001"),
                 Longitude=Decimal("-0.000001"), InstallDate=dt.date(1900, 1, 1),
                 LastReadingAt=dt.datetime(1900, 1, 1, 0, 0, 0, 1))),
        3: (dict(serial="平仮名 ひらがな 🚀", manufacturer=None, multiplier=Decimal("0.0001"),
                 last_read_kwh=Decimal("-0.001"), lat=None, lon=None, install_date=None,
                 last_read_at=nano_timestamp(dt.datetime(2262, 4, 11, 23, 47, 16, 854775), extra_nanos=807)),
            dict(SerialNumber="平仮名 ひらがな 🚀", Manufacturer=None, Multiplier=Decimal("0.0001"),
                 LastReadingValue=Decimal("-0.001"), Latitude=None, Longitude=None, InstallDate=None,
                 LastReadingAt=dt.datetime(2262, 4, 11, 23, 47, 16, 854775))),
    }
    ts_ms = 1764000123456  # 2025-11-24 16:02:03.456 UTC
    produce(suite.bootstrap, own, [events.create(meter_id=m, ts_ms=ts_ms, **fields)
                                   for m, (fields, _) in cases.items()])
    ms.start()

    def landed():
        _running(ms)
        rows = tds_meter_master(suite.tds, ms.names.table)
        return rows if len(rows) == len(cases) else None

    rows = wait_until(landed, CATCH_UP_S, "the three rows on the server", interval=1)
    for meter, (_, want) in cases.items():
        got = rows[("mssql", str(meter))]
        for column, value in want.items():
            assert got[column] == value and type(got[column]) is type(value), (meter, column, got[column], value)
            if isinstance(value, Decimal):
                assert str(got[column]).rstrip("0") == str(value).rstrip("0"), (meter, column, got[column])
        assert got["SourceCommittedAt"] == dt.datetime(2025, 11, 24, 16, 2, 3, 456000), got["SourceCommittedAt"]
    # Read back through a bound parameter as well: the server compares the stored text exactly.
    found = suite.tds.cursor().execute(f"SELECT SourceMeterId FROM [dbo].[{ms.names.table}] "
                                       f"WHERE SerialNumber = ? AND Manufacturer = ?", serial_64, maker_99).fetchall()
    assert [r[0] for r in found] == ["1"]
    assert ms.stop() == 0, ms.log_tail()
