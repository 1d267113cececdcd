"""The sink becomes unreachable while changes keep arriving: metersync pauses the sources, backs
off and retries, never moves its stored offsets past unwritten rows, and once the database is
reachable again writes everything exactly once.

The sink's ODBC connection goes through a relay the test cuts (CuttableRelay), so the PostgreSQL
server itself keeps running for the sources and for the test's own checks.
"""
from __future__ import annotations

import random
import re

import loadgen
from metersync_harness import (CuttableRelay, DeletedRowShadow, MeterSync, Names, compare, drop_sink_tables,
                               expected_mariadb, expected_postgres, meter_master, offsets, sink_connect,
                               topic_record_counts, wait_until, Expected)

TOPICS = {"postgres": "postgres.public.meter", "mysql": "mysql.meterdb.meters"}
WAIT_S = 600


def _only(expected: Expected, keys: set) -> Expected:
    return Expected({k: v for k, v in expected.live.items() if k in keys},
                    {k: v for k, v in expected.deleted.items() if k in keys})


def _wait_caught_up(ms: MeterSync) -> None:
    def caught_up():
        s = ms.status()
        return s and all(s["sources"][x]["lag"] == 0 and s["sources"][x]["records_applied"] > 0 for x in TOPICS)
    wait_until(caught_up, WAIT_S, "metersync to catch up with both topics", interval=2)


def _progress(sink, names: Names) -> dict:
    return {(r["pipeline"], r["topic"], r["partition"]): (r["next_offset"], r["records_applied"])
            for r in offsets(sink, names)}


def _load_both_sources(stack):
    """A bounded burst of changes on both sources; returns (seed, counts, shadow of deleted rows)."""
    seed = random.randrange(1 << 30)
    with DeletedRowShadow() as shadow:
        counts = loadgen.run_many(["postgres", "mariadb"], stack, rate=0, count=400, seed=seed, working_set=60)
    return seed, counts, shadow


def _wait_written(stack, sink, names: Names, ms: MeterSync, seed: int, counts, shadow, what: str) -> None:
    """Waits until every key the burst touched is in Meter Master as the sources have it."""
    touched = {("postgres" if c.target == "postgres" else "mysql", k) for c in counts for k in c.keys}
    last = [[]]

    def written():
        mm = {k: v for k, v in meter_master(sink, names).items() if k in touched}
        last[0] = (compare(_only(expected_postgres(stack, shadow), touched), mm, "postgres")
                   + compare(_only(expected_mariadb(stack, shadow), touched), mm, "mysql"))
        return not last[0]
    try:
        wait_until(written, WAIT_S, what, interval=3)
    except AssertionError as e:
        raise AssertionError(f"{e} (seed {seed}): " + "\n".join(last[0][:20]) + "\n" + ms.log_tail())


def _assert_each_record_applied_once(stack, sink, names: Names) -> None:
    """The offsets table covers each record on the topics once: exactly once across the fault."""
    rows = offsets(sink, names)
    for source, topic in TOPICS.items():
        mine = [r for r in rows if r["pipeline"] == names.group(source) and r["topic"] == topic]
        upto = {r["partition"]: r["next_offset"] for r in mine}
        applied = sum(r["records_applied"] for r in mine)
        assert applied == topic_record_counts(stack["KAFKA_BOOTSTRAP"], topic, upto), source


def test_sink_outage_pauses_retries_and_resumes_without_loss(stack, tmp_path):
    relay = CuttableRelay(int(stack["PG_PORT"]))
    odbc = re.sub(r"(?i)\bPort=\d+", f"Port={relay.port}", stack["SINK_ODBC"])
    assert odbc != stack["SINK_ODBC"], "SINK_ODBC names no Port= to redirect"
    names = Names.fresh()
    ms = MeterSync({**stack, "SINK_ODBC": odbc}, names, tmp_path)
    sink = sink_connect(stack)  # the test's own path to the database, never cut
    try:
        ms.start()
        _wait_caught_up(ms)

        relay.cut()
        before = _progress(sink, names)
        seed, counts, shadow = _load_both_sources(stack)

        def retrying():
            s = ms.status()
            return s and all(s["sources"][x]["retries"] > 0 and s["sources"][x]["state"] == "retrying"
                             for x in TOPICS) and s
        status = wait_until(retrying, WAIT_S, "both pipelines to report the sink outage and retry")
        assert all(status["sources"][x]["last_error"] for x in TOPICS), status
        # Nothing was committed while the sink was unreachable.
        assert _progress(sink, names) == before

        relay.restore()
        _wait_written(stack, sink, names, ms, seed, counts, shadow, "the changes made during the outage to land")
        ms.wait_for_status(lambda s: all(s["sources"][x]["state"] == "running" for x in TOPICS),
                           WAIT_S, "both pipelines running again")
        _assert_each_record_applied_once(stack, sink, names)
        assert ms.stop() == 0, ms.log_tail()
    finally:
        ms.close()
        relay.close()
        drop_sink_tables(sink, names)
        sink.close()


def test_a_fatal_sink_error_restarts_the_pipeline_which_resumes_once_fixed(stack, tmp_path):
    """An error no retry in place can clear (here: Meter Master renamed away, 42P01) puts the
    pipelines in `failed` with the reason; the process stays up and starts each pipeline again
    after a back-off, so once the table is back every change lands, exactly once."""
    names = Names.fresh()
    ms = MeterSync(stack, names, tmp_path)
    sink = sink_connect(stack)
    away = f"{names.table}_away"
    try:
        ms.start()
        _wait_caught_up(ms)
        before = _progress(sink, names)

        sink.execute(f'ALTER TABLE public."{names.table}" RENAME TO "{away}"')
        seed, counts, shadow = _load_both_sources(stack)
        for x in TOPICS:
            # `failed` between attempts; each restart counts as a retry.
            ms.wait_for_status(
                lambda s: s["sources"][x]["state"] == "failed" and s["sources"][x]["retries"] >= 2
                and "does not exist" in (s["sources"][x]["last_error"] or ""),
                WAIT_S, f"{x} to fail, restart and fail again")
        assert ms.running(), "the process must stay up while its pipelines restart\n" + ms.log_tail()
        assert _progress(sink, names) == before, "nothing may be committed while Meter Master is missing"

        sink.execute(f'ALTER TABLE public."{away}" RENAME TO "{names.table}"')
        _wait_written(stack, sink, names, ms, seed, counts, shadow,
                      "the changes made while the table was away to land")
        ms.wait_for_status(lambda s: all(s["sources"][x]["state"] == "running" for x in TOPICS),
                           WAIT_S, "both pipelines running again")
        _assert_each_record_applied_once(stack, sink, names)
        assert "starting it again" in ms.log_path.read_text()
        assert ms.stop() == 0, ms.log_tail()
    finally:
        ms.close()
        sink.execute(f'DROP TABLE IF EXISTS public."{away}"')
        drop_sink_tables(sink, names)
        sink.close()
