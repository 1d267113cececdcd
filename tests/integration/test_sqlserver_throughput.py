"""Throughput of the sink's SQL Server path through the real `metersync` binary (opt-in, like the
rest of the SQL Server suite; see docs/sqlserver.md). It prints changes per second and asserts only
outcomes (every change applied once, the rows of the last newer version), never a time.

Three phases on one topic of this test's own, 20,000 changes each, every change a different key
within its batch (so folding saves nothing): new keys (INSERT path), newer versions of those keys
(UPDATE path), then older versions (the stale-position guard: nothing changes). The same phases run
with the PostgreSQL dialect on the stack's PostgreSQL for comparison.
"""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sqlserver_suite_support import CONNECTION, SKIP_REASON, SqlServerEvents, produce, settled, tds_meter_master, \
    tds_offsets
from metersync_harness import meter_master, offsets, sink_connect, wait_until
from test_sqlserver_e2e import CATCH_UP_S, Suite, _init, _running

pytestmark = pytest.mark.skipif(not CONNECTION, reason=SKIP_REASON)

KEYS = 20_000


@pytest.fixture
def suite(stack, tmp_path):
    s = Suite(stack, tmp_path)
    try:
        yield s
    finally:
        s.close()


def _phase(events: SqlServerEvents, tag: str) -> list[tuple[bytes, bytes]]:
    return [events.create(meter_id=k, serial=f"SN-{tag}-{k}", multiplier=Decimal("2.5"),
                          last_read_kwh=Decimal(k) / 1000) for k in range(1, KEYS + 1)]


@pytest.mark.parametrize("dialect", ["sqlserver", "postgres"])
def test_sqlserver_path_throughput(suite, dialect):
    topic = suite.topic("mssql.MeterDB.dbo.Meters", partitions=1)
    ms = suite.metersync("bench", dialect, {"mssql": topic})
    if dialect == "sqlserver":
        _init(ms)
        read_offsets = lambda: tds_offsets(suite.tds, ms.names.offsets_table)  # noqa: E731
        read_rows = lambda: tds_meter_master(suite.tds, ms.names.table)  # noqa: E731
    else:
        pg = sink_connect(suite.env)
        read_offsets = lambda: offsets(pg, ms.names)  # noqa: E731
        read_rows = lambda: meter_master(pg, ms.names)  # noqa: E731

    def applied() -> int:
        return settled(read_offsets, lambda: None)[0].get(topic, ({}, 0))[1]

    newer = SqlServerEvents(first_lsn=0x100000)
    older = SqlServerEvents(first_lsn=0x10)
    phases = [("new keys", _phase(newer, "new")), ("updates", _phase(newer, "upd")),
              ("stale", _phase(older, "old"))]
    lines = []
    total = 0
    for i, (name, records) in enumerate(phases):
        produce(suite.bootstrap, topic, records)  # before the clock: the phase measures applying only
        total += len(records)
        started = time.monotonic()
        if i == 0:
            ms.start()

        def done():
            _running(ms)
            return applied() == total

        wait_until(done, CATCH_UP_S, f"{name}: {total} records applied", interval=0.2)
        elapsed = time.monotonic() - started
        lines.append(f"{dialect} {name}: {len(records)} changes in {elapsed:.1f}s = {len(records) / elapsed:.0f} "
                     f"changes/s" + (" (includes the process start)" if i == 0 else ""))
    rows = read_rows()
    assert len(rows) == KEYS
    assert all(r["SerialNumber"] == f"SN-upd-{k[1]}" and not r["IsDeleted"] for k, r in rows.items())
    print("\n" + "\n".join(lines))
    assert ms.stop() == 0, ms.log_tail()
    if dialect == "postgres":
        pg.close()
