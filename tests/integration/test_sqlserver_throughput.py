"""Throughput of the sink's SQL Server path through the real `metersync` binary (opt-in, like the
rest of the SQL Server suite; see docs/sqlserver.md). It prints changes per second and asserts only
outcomes (every change applied once, the rows of the last newer version), never a time.

Three phases on one topic of this test's own, 20,000 changes each, every change a different key
within its batch (so folding saves nothing): new keys (INSERT path), newer versions of those keys
(UPDATE path), then older versions (the stale-position guard: nothing changes). The same phases run
with the SQL Server dialect's two stage paths (`sqlserver`: sink.sqlserver_stage left at auto, JSON
where the server answers OPENJSON; `sqlserver-rows`: sink.sqlserver_stage rows, multi-row INSERTs)
and with the PostgreSQL dialect on the stack's PostgreSQL for comparison.

How a phase is timed: its records are produced while metersync is stopped; then metersync starts and
the offsets table's `records_applied` (committed with the rows) is polled every 20 ms. The rate is
the records applied after the first commit seen, over the time from that commit to the last one:
neither the process start nor the first batch is in it. The time from the process start to the last
commit is printed beside it. metersync is stopped (SIGTERM) after each phase.
"""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sqlserver_suite_support import CONNECTION, SKIP_REASON, SqlServerEvents, failing, produce, stage_used, \
    tds_meter_master, timed_drain
from metersync_harness import meter_master, sink_connect
from test_sqlserver_e2e import CATCH_UP_S, _init, _running, suite  # noqa: F401 (suite: the fixture)

pytestmark = pytest.mark.skipif(not CONNECTION, reason=SKIP_REASON)

KEYS = 20_000
POLL_S = 0.02

# variant -> (dialect, sink settings added to the shipped config)
VARIANTS = {
    "sqlserver": ("sqlserver", None),                                # sink.sqlserver_stage: auto (default)
    "sqlserver-rows": ("sqlserver", {"sqlserver_stage": "rows"}),
    "postgres": ("postgres", None),
}


def _phase(events: SqlServerEvents, tag: str) -> list[tuple[bytes, bytes]]:
    return [events.create(meter_id=k, serial=f"SN-{tag}-{k}", multiplier=Decimal("2.5"),
                          last_read_kwh=Decimal(k) / 1000) for k in range(1, KEYS + 1)]


def _alive(ms) -> None:
    _running(ms)
    error = failing(ms.status())
    if error:
        raise AssertionError(f"metersync keeps failing: {error}; log:\n{ms.log_tail()}")


def _logs(ms) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(ms.directory.glob("metersync-*.log")))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sqlserver_path_throughput(suite, variant):
    dialect, sink_settings = VARIANTS[variant]
    topic = suite.topic("mssql.MeterDB.dbo.Meters", partitions=1)
    ms = suite.metersync("bench", dialect, {"mssql": topic}, sink_settings=sink_settings)
    if dialect == "sqlserver":
        _init(ms)
        cur = suite.tds.cursor()
        sql = (f"SELECT COALESCE(SUM(CAST([records_applied] AS BIGINT)), 0) FROM [dbo].[{ms.names.offsets_table}] "
               f"WHERE [topic] = ?")

        def applied() -> int:
            return int(cur.execute(sql, topic).fetchall()[0][0])  # fetchall: FreeTDS allows one pending result per connection
        read_rows = lambda: tds_meter_master(suite.tds, ms.names.table)  # noqa: E731
    else:
        import psycopg
        pg = sink_connect(suite.env)

        def applied() -> int:
            try:
                return int(pg.execute(f'SELECT coalesce(sum(records_applied), 0) FROM public."{ms.names.offsets_table}" '
                                      f'WHERE topic = %s', (topic,)).fetchone()[0])
            except psycopg.errors.UndefinedTable:  # created by metersync when it starts
                return 0
        read_rows = lambda: meter_master(pg, ms.names)  # noqa: E731

    newer = SqlServerEvents(first_lsn=0x100000)
    older = SqlServerEvents(first_lsn=0x10)
    phases = [("new keys", _phase(newer, "new")), ("updates", _phase(newer, "upd")),
              ("stale", _phase(older, "old"))]
    drains: list = []
    total = 0
    for name, records in phases:
        # produced while metersync is stopped: the drain below times applying only
        produce(suite.bootstrap, topic, records)
        before = applied()
        assert before == total, f"{name}: {before} records applied before the phase, expected {total}"
        ms.status_file.unlink(missing_ok=True)  # the previous phase's process wrote it
        drain = timed_drain(ms.start, applied, before, len(records), CATCH_UP_S, alive=lambda: _alive(ms),
                            interval=POLL_S)
        total += len(records)
        assert ms.stop() == 0, ms.log_tail()
        drains.append((name, drain))
        stage = stage_used(_logs(ms), ms.status()) if dialect == "sqlserver" else None
        if sink_settings and stage is not None:
            assert stage == sink_settings["sqlserver_stage"], f"configured {sink_settings}, metersync used {stage}"
        label = f"{dialect}({stage or (sink_settings or {}).get('sqlserver_stage', 'stage not logged')})" \
            if dialect == "sqlserver" else dialect
        print(("\n" if len(drains) == 1 else "") + drain.line(f"{label} {name}"), flush=True)

    # outcomes only: every record applied exactly once, the rows of the newer version
    time.sleep(0.5)
    assert applied() == total == 3 * KEYS
    rows = read_rows()
    assert len(rows) == KEYS
    assert all(r["SerialNumber"] == f"SN-upd-{k[1]}" and not r["IsDeleted"] for k, r in rows.items())
    if dialect == "postgres":
        pg.close()
