"""The SQL Server pipeline keeps going when its connection is lost (opt-in, like the rest of the SQL
Server suite; see docs/sqlserver.md).

metersync's connection to the server goes through a relay the test cuts (CuttableRelay): every open
connection is dropped and new ones are refused while changes keep arriving, with no server message at
all (the case FreeTDS first reports as HY000 "Unknown error"). The pipeline must report the outage
and retry, never fail for good, commit nothing meanwhile, and once the link is back apply every
change exactly once. Ending the session on the server (KILL) is covered by the sink's server suite
(LostConnectionIsTransientAndTheNextCallReconnects/sqlserver); a server restart was run by hand
(docs/sqlserver.md).
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from metersync_harness import CuttableRelay, wait_until
from sqlserver_suite_support import CONNECTION, SKIP_REASON, SqlServerEvents, produce, progress, \
    tds_meter_master, tds_offsets
from test_sqlserver_e2e import CATCH_UP_S, CONNECTION_VAR, _init, _running, suite  # noqa: F401 (suite: the fixture)

pytestmark = pytest.mark.skipif(not CONNECTION, reason=SKIP_REASON)

KEYS = 3000


@pytest.mark.parametrize("stage", ["json", "rows"])
def test_a_cut_link_is_retried_and_nothing_is_lost_or_doubled(suite, stage):
    port = re.search(r"(?i)\bPort=(\d+)", CONNECTION)
    assert port, "METERSYNC_SQLSERVER_ODBC names no Port= to put the relay in front of"
    relay = CuttableRelay(int(port.group(1)))
    try:
        topic = suite.topic("mssql.MeterDB.dbo.Meters", partitions=3)
        ms = suite.metersync(f"cut_{stage}", "sqlserver", {"mssql": topic},
                             sink_settings={"sqlserver_stage": stage})
        ms.env[CONNECTION_VAR] = re.sub(r"(?i)\bPort=\d+", f"Port={relay.port}", CONNECTION)
        _init(ms)

        def applied() -> int:
            return sum(int(r["records_applied"]) for r in tds_offsets(suite.tds, ms.names.offsets_table))

        events = SqlServerEvents(first_lsn=0x1000)
        produce(suite.bootstrap, topic, [events.create(meter_id=k, serial=f"SN-a-{k}", multiplier=Decimal("1.5"))
                                         for k in range(1, KEYS + 1)])
        ms.start()
        wait_until(lambda: _running(ms) or applied() == KEYS, CATCH_UP_S, "the first changes to land",
                   interval=0.5)

        relay.cut()
        before = progress(tds_offsets(suite.tds, ms.names.offsets_table))
        produce(suite.bootstrap, topic, [events.create(meter_id=k, serial=f"SN-b-{k}", multiplier=Decimal("2.5"))
                                         for k in range(1, KEYS + 1)])
        status = ms.wait_for_status(lambda s: s["sources"]["mssql"]["retries"] > 0
                                    and s["sources"]["mssql"]["state"] == "retrying", CATCH_UP_S,
                                    "the pipeline to report the lost link and retry")
        assert status["sources"]["mssql"]["last_error"], status
        # Nothing committed while the link is cut (read on the test's own connection).
        assert progress(tds_offsets(suite.tds, ms.names.offsets_table)) == before
        assert ms.running(), ms.log_tail()

        relay.restore()
        wait_until(lambda: _running(ms) or applied() == 2 * KEYS, CATCH_UP_S,
                   "every change made during the cut to land", interval=0.5)
        ms.wait_for_status(lambda s: s["sources"]["mssql"]["state"] == "running", CATCH_UP_S,
                           "the pipeline running again")
        rows = tds_meter_master(suite.tds, ms.names.table)
        assert len(rows) == KEYS
        assert all(r["SerialNumber"] == f"SN-b-{k[1]}" and r["Multiplier"] == Decimal("2.5")
                   for k, r in rows.items())
        # Exactly once: the offsets table counts each record once.
        assert applied() == 2 * KEYS
        assert "failed" not in {s["state"] for s in ms.status()["sources"].values()}
        assert ms.stop() == 0, ms.log_tail()
    finally:
        relay.close()
