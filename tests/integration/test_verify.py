"""`metersync verify` against the real stack (PostgreSQL and MariaDB sources, Meter Master on
PostgreSQL): after a random workload and catch-up it reports no difference; each planted divergence
(a Meter Master row deleted, a value changed, an extra live row, a source row changed while metersync
is stopped) is reported by key and column, and nothing else; a workload running during verify causes
no false positive. Every planted change is undone at the end (the source tables are shared).
"""
from __future__ import annotations

import json
import random
import subprocess
import threading

import pytest

import loadgen
from metersync_harness import MeterSync, Names, binary, drop_sink_tables, offsets, sink_connect, wait_until

TOPICS = {"postgres": "postgres.public.meter", "mysql": "mysql.meterdb.meters"}
CATCH_UP_S = 600


@pytest.fixture
def sink(stack):
    conn = sink_connect(stack)
    yield conn
    conn.close()


@pytest.fixture
def metersync(stack, sink, tmp_path):
    names = Names.fresh()
    ms = MeterSync(stack, names, tmp_path)
    yield ms
    ms.close()
    drop_sink_tables(sink, names)


def _verify(ms: MeterSync, *args: str, timeout: float = 300) -> tuple[int, dict]:
    r = subprocess.run([str(binary()), "--config", str(ms.config), "verify", "--json", *args],
                       env=ms.env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    try:
        report = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"verify printed no JSON (exit {r.returncode}):\n{r.stdout}\n{r.stderr}") from None
    return r.returncode, report


def _high_watermarks(env, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": "it-watermarks"})
    try:
        partitions = c.list_topics(topic, timeout=30).topics[topic].partitions
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
    finally:
        c.close()


def _caught_up(env, sink, ms: MeterSync) -> None:
    def covered():
        assert ms.running(), f"metersync exited; log:\n{ms.log_tail()}"
        stored = {(r["topic"], r["partition"]): r["next_offset"] for r in offsets(sink, ms.names)}
        return all(stored.get((t, p), 0) >= high
                   for t in TOPICS.values() for p, high in _high_watermarks(env, t).items() if high > 0)
    wait_until(covered, CATCH_UP_S, "metersync to cover both topics", interval=2)


def _found(report: dict) -> set[tuple]:
    """(source, kind, key, columns) of every difference."""
    out = set()
    for s in report["sources"]:
        assert s["verified"], s
        for d in s["differences"]:
            out.add((s["source"], d["kind"], d["key"], tuple(sorted(c["column"] for c in d["columns"]))))
    return out


def _live_keys(sink, ms: MeterSync, system: str) -> list[str]:
    return [r[0] for r in sink.execute(
        f'SELECT "SourceMeterId" FROM public."{ms.names.table}" WHERE "SourceSystem" = %s AND NOT "IsDeleted" '
        f'ORDER BY "SourceMeterId"', (system,)).fetchall()]


def test_verify_reports_exactly_the_planted_divergences(stack, sink, metersync, mariadb_conn):
    seed = random.randrange(1 << 30)
    metersync.start()
    loadgen.run_many(["postgres", "mariadb"], stack, rate=0, count=400, seed=seed, working_set=80, batch=1)
    _caught_up(stack, sink, metersync)

    code, report = _verify(metersync)
    assert code == 0 and report["equal"], f"workload seed {seed}: {json.dumps(report, indent=1)[:4000]}"
    for s in report["sources"]:
        assert s["source_rows"] == s["meter_master_rows"] > 0, s
        assert s["differing_buckets"] == 0 and s["meter_master_rows_read"] == 0, s

    table = f'public."{metersync.names.table}"'
    pg_keys = _live_keys(sink, metersync, "postgres")
    my_keys = _live_keys(sink, metersync, "mysql")
    deleted, extra = pg_keys[0], "verify-extra-live"
    changed, source_changed = my_keys[0], my_keys[1]
    saved = sink.execute(f'SELECT * FROM {table} WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                         ("postgres", deleted)).fetchone()
    columns = [d.name for d in sink.execute(f"SELECT * FROM {table} LIMIT 0").description]
    old_serial = sink.execute(f'SELECT "SerialNumber" FROM {table} WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                              ("mysql", changed)).fetchone()[0]
    with mariadb_conn.cursor() as cur:
        cur.execute("SELECT manufacturer FROM meters WHERE id = %s", (int(source_changed),))
        old_manufacturer = cur.fetchone()[0]
    try:
        sink.execute(f'DELETE FROM {table} WHERE "SourceSystem" = %s AND "SourceMeterId" = %s', ("postgres", deleted))
        sink.execute(f'UPDATE {table} SET "SerialNumber" = %s WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                     ("hand edit", "mysql", changed))
        sink.execute(f'INSERT INTO {table} ("SourceSystem", "SourceMeterId", "SerialNumber", "MeterType", "Status", '
                     f'"Multiplier", "IsDeleted", "SourceCommittedAt", "SourcePosition", "SyncedAt") '
                     f"VALUES ('postgres', %s, 'X', 'gas', 'active', 1, false, now(), 'x', now())", (extra,))
        assert metersync.stop() == 0
        with mariadb_conn.cursor() as cur:  # a change the stopped pipeline has not applied
            cur.execute("UPDATE meters SET manufacturer = %s WHERE id = %s", ("verify planted", int(source_changed)))

        code, report = _verify(metersync, "--catch-up-timeout", "3")
        assert code == 1 and not report["equal"]
        assert _found(report) == {
            ("postgres", "missing", deleted, ()),
            ("postgres", "extra_live", extra, ()),
            ("mysql", "differing", changed, ("SerialNumber",)),
            ("mysql", "differing", source_changed, ("Manufacturer",)),
        }, json.dumps(report, indent=1)[:4000]
        mysql = next(s for s in report["sources"] if s["source"] == "mysql")
        assert mysql["caught_up"] is False  # the pipeline was stopped: said so
        diff = next(d for d in mysql["differences"] if d["key"] == source_changed)
        assert diff["columns"] == [{"column": "Manufacturer", "source": "verify planted",
                                    "meter_master": old_manufacturer}]
    finally:
        with mariadb_conn.cursor() as cur:
            cur.execute("UPDATE meters SET manufacturer = %s WHERE id = %s", (old_manufacturer, int(source_changed)))
        sink.execute(f'DELETE FROM {table} WHERE "SourceSystem" = %s AND "SourceMeterId" = %s', ("postgres", extra))
        sink.execute(f'UPDATE {table} SET "SerialNumber" = %s WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                     (old_serial, "mysql", changed))
        if saved is not None:
            sink.execute(f"INSERT INTO {table} ({', '.join(chr(34) + c + chr(34) for c in columns)}) "
                         f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT DO NOTHING", saved)

    # Restored, and the pipeline running again: nothing differs.
    metersync.start()
    _caught_up(stack, sink, metersync)
    code, report = _verify(metersync)
    assert code == 0 and report["equal"], json.dumps(report, indent=1)[:4000]


def test_no_false_positives_while_a_workload_runs(stack, sink, metersync):
    seed = random.randrange(1 << 30)
    metersync.start()
    _caught_up(stack, sink, metersync)
    stop = threading.Event()
    load = threading.Thread(target=loadgen.run_many, args=(["postgres", "mariadb"], stack),
                            kwargs=dict(rate=40, duration=120, seed=seed, working_set=150, batch=1, stop=stop))
    load.start()
    try:
        code, report = _verify(metersync, "--catch-up-timeout", "60")
    finally:
        stop.set()
        load.join(timeout=60)
    assert code == 0 and report["equal"], f"workload seed {seed}: {json.dumps(report, indent=1)[:4000]}"


def test_a_source_that_cannot_be_reached_is_reported_and_the_others_verified(stack, sink, metersync):
    metersync.start()
    _caught_up(stack, sink, metersync)
    metersync.stop()
    metersync.env["PG_SOURCE_ODBC"] = ("Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;"
                                       "Database=meterdb;Uid=x;Pwd=x")
    code, report = _verify(metersync, "--catch-up-timeout", "3")
    assert code == 1
    by_source = {s["source"]: s for s in report["sources"]}
    assert not by_source["postgres"]["verified"]
    assert "postgres.connection" in by_source["postgres"]["error"]
    assert by_source["mysql"]["verified"] and by_source["mysql"]["equal"], by_source["mysql"]


# ---- verify --repair -------------------------------------------------------------------------

CONNECTORS = {"postgres": "postgres-meter-source", "mysql": "mariadb-meter-source"}


def _connect(env, method: str, path: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"{env['CONNECT_URL']}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _set_connector(env, source: str, state: str) -> None:
    """Pauses or resumes a connector through Connect's REST API and waits until it says so."""
    name = CONNECTORS[source]
    code, body = _connect(env, "PUT", f"/connectors/{name}/{'pause' if state == 'PAUSED' else 'resume'}")
    assert code in (200, 202, 204), (code, body)

    def reached():
        code, body = _connect(env, "GET", f"/connectors/{name}/status")
        status = json.loads(body) if code == 200 else {}
        return status.get("connector", {}).get("state") == state and all(
            t.get("state") == state for t in status.get("tasks", []))
    wait_until(reached, 120, f"{name} {state}", interval=1)


def _pg_superuser(env):
    import psycopg
    return psycopg.connect(host=env["PG_HOST"], port=int(env["PG_PORT"]), user="postgres", password="postgres",
                           dbname=env["PG_SOURCE_DB"], autocommit=True)


def _mariadb_root():
    import pymysql
    from stackctl.mariadb import mariadb_socket
    return pymysql.connect(unix_socket=str(mariadb_socket()), user="root", password="", database="meterdb",
                           autocommit=True)


def _row(sink, ms: MeterSync, system: str, key: str) -> dict | None:
    cur = sink.execute(f'SELECT * FROM public."{ms.names.table}" WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                       (system, key))
    row = cur.fetchone()
    return None if row is None else dict(zip([d.name for d in cur.description], row))


def test_repair_fixes_each_planted_divergence_through_debezium(stack, sink, metersync):
    """Each kind of divergence, on both sources: a Meter Master row deleted, a value changed, an
    extra live row, and a source change the connector never captured (made with the connector
    paused and its log not carrying it). `--repair` signals Debezium for the first kinds and
    sends delete records for the extra rows; then verify reports zero."""
    seed = random.randrange(1 << 30)
    metersync.start()
    loadgen.run_many(["postgres", "mariadb"], stack, rate=0, count=200, seed=seed, working_set=60, batch=1)
    _caught_up(stack, sink, metersync)
    code, report = _verify(metersync)
    assert code == 0 and report["equal"], f"workload seed {seed}: {json.dumps(report, indent=1)[:4000]}"

    table = f'public."{metersync.names.table}"'
    pg_keys = _live_keys(sink, metersync, "postgres")
    my_keys = _live_keys(sink, metersync, "mysql")
    pg_deleted, pg_changed, pg_uncaptured = pg_keys[0], pg_keys[1], pg_keys[2]
    my_deleted, my_changed, my_uncaptured = my_keys[0], my_keys[1], my_keys[2]
    pg_extra, my_extra = "00000000-0000-4000-8000-00000ee0e0e0", "990000001"
    # An extra live row as a lost delete leaves it: the position of a change older than the
    # verify read (the delete record's position must be newer to replace it).
    positions = {s: _row(sink, metersync, s, k)["SourcePosition"] for s, k in (("postgres", pg_keys[3]), ("mysql", my_keys[3]))}
    pg_root, my_root = _pg_superuser(stack), _mariadb_root()
    old_pg = pg_root.execute("SELECT manufacturer FROM public.meter WHERE meter_id = %s", (pg_uncaptured,)).fetchone()[0]
    with my_root.cursor() as cur:
        cur.execute("SELECT manufacturer FROM meters WHERE id = %s", (int(my_uncaptured),))
        old_my = cur.fetchone()[0]
    try:
        for system, deleted, changed, extra in (("postgres", pg_deleted, pg_changed, pg_extra),
                                                ("mysql", my_deleted, my_changed, my_extra)):
            sink.execute(f'DELETE FROM {table} WHERE "SourceSystem" = %s AND "SourceMeterId" = %s', (system, deleted))
            sink.execute(f'UPDATE {table} SET "SerialNumber" = %s WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                         ("hand edit", system, changed))
            sink.execute(f'INSERT INTO {table} ("SourceSystem", "SourceMeterId", "SerialNumber", "MeterType", "Status", '
                         f'"Multiplier", "IsDeleted", "SourceCommittedAt", "SourcePosition", "SyncedAt") '
                         f"VALUES (%s, %s, 'X', 'gas', 'active', 1, false, now(), %s, now())",
                         (system, extra, positions[system]))
        # Changes made while capture is off and that its log does not carry: the connectors
        # paused, PostgreSQL's table out of the publication, MariaDB's session without binlog.
        for source in CONNECTORS:
            _set_connector(stack, source, "PAUSED")
        try:
            pg_root.execute("ALTER PUBLICATION metersync_pub DROP TABLE public.meter")
            try:
                pg_root.execute("UPDATE public.meter SET manufacturer = 'uncaptured' WHERE meter_id = %s", (pg_uncaptured,))
            finally:
                pg_root.execute("ALTER PUBLICATION metersync_pub ADD TABLE public.meter")
            with my_root.cursor() as cur:
                cur.execute("SET SESSION sql_log_bin = 0")
                cur.execute("UPDATE meters SET manufacturer = 'uncaptured' WHERE id = %s", (int(my_uncaptured),))
                cur.execute("SET SESSION sql_log_bin = 1")
        finally:
            for source in CONNECTORS:
                _set_connector(stack, source, "RUNNING")

        planted = {
            ("postgres", "missing", pg_deleted, ()), ("postgres", "differing", pg_changed, ("SerialNumber",)),
            ("postgres", "extra_live", pg_extra, ()), ("postgres", "differing", pg_uncaptured, ("Manufacturer",)),
            ("mysql", "missing", my_deleted, ()), ("mysql", "differing", my_changed, ("SerialNumber",)),
            ("mysql", "extra_live", my_extra, ()), ("mysql", "differing", my_uncaptured, ("Manufacturer",)),
        }
        code, report = _verify(metersync, "--catch-up-timeout", "60")
        assert code == 1 and _found(report) == planted, json.dumps(report, indent=1)[:6000]

        code, report = _verify(metersync, "--repair", "--repair-timeout", "240", timeout=600)
        assert code == 0 and report["equal"], json.dumps(report, indent=1)[:6000]
        repaired = set()
        for s in report["sources"]:
            r = s["repair"]
            assert r["not_attempted"] == [] and not r["timed_out"], r
            assert r["keys_signalled"] == 3 and r["delete_records"] == 1 and r["signals"] == 1, r
            print(f"repair {s['source']}: {r['seconds']:.1f} s from the signal to the keys verified equal")
            repaired |= {(s["source"], d["kind"], d["key"]) for d in r["repaired"]}
        assert repaired == {(s, k, key) for s, k, key, _ in planted}

        # Through the pipeline: the extra rows are flagged deleted by the delete records, the
        # edited rows carry the incremental read's position, newer than the stream's before it.
        for system, extra in (("postgres", pg_extra), ("mysql", my_extra)):
            row = _row(sink, metersync, system, extra)
            assert row["IsDeleted"] and row["SourcePosition"] > positions[system], row
        assert _row(sink, metersync, "postgres", pg_changed)["SourcePosition"].startswith("W/")
        assert _row(sink, metersync, "postgres", pg_uncaptured)["Manufacturer"] == "uncaptured"

        code, report = _verify(metersync)
        assert code == 0 and report["equal"], json.dumps(report, indent=1)[:4000]
    finally:
        pg_root.execute("UPDATE public.meter SET manufacturer = %s WHERE meter_id = %s", (old_pg, pg_uncaptured))
        with my_root.cursor() as cur:
            cur.execute("UPDATE meters SET manufacturer = %s WHERE id = %s", (old_my, int(my_uncaptured)))
        pg_root.close()
        my_root.close()


def test_a_delete_record_never_replaces_a_newer_row(stack, sink, metersync):
    """The delete record carries the source's position at the verify read; the sink's stale-position
    guard refuses it for a Meter Master row newer than that (here a position beyond any the source
    has reached), so the row stays as it is and is reported still differing."""
    metersync.start()
    _caught_up(stack, sink, metersync)
    table = f'public."{metersync.names.table}"'
    key = "00000000-0000-4000-8000-00000ee0e0e1"
    sink.execute(f'INSERT INTO {table} ("SourceSystem", "SourceMeterId", "SerialNumber", "MeterType", "Status", '
                 f'"Multiplier", "IsDeleted", "SourceCommittedAt", "SourcePosition", "SyncedAt") '
                 f"VALUES ('postgres', %s, 'X', 'gas', 'active', 1, false, now(), 'W/FFFFFFFF/FFFFFFFF', now())", (key,))
    try:
        code, report = _verify(metersync, "--source", "postgres", "--repair", "--repair-timeout", "15")
        assert code == 1, report
        source = report["sources"][0]
        assert source["repair"]["delete_records"] == 1 and source["repair"]["repaired"] == [], source
        assert source["repair"]["timed_out"]
        assert [(d["kind"], d["key"]) for d in source["differences"]] == [("extra_live", key)]
        row = _row(sink, metersync, "postgres", key)
        assert not row["IsDeleted"] and row["SourcePosition"] == "W/FFFFFFFF/FFFFFFFF", row
    finally:
        sink.execute(f'DELETE FROM {table} WHERE "SourceSystem" = %s AND "SourceMeterId" = %s', ("postgres", key))


# ---- verify.every_ms inside run ---------------------------------------------------------------

def _metric(text: str, name: str, source: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f'{name}{{source="{source}"}} '):
            return float(line.split()[-1])
    return None


def test_periodic_verify_shows_its_result_in_status_and_metrics(stack, sink, metersync):
    with open(metersync.config, "a") as f:
        f.write("\nverify:\n  every_ms: 3000\n")
    metersync.start()
    _caught_up(stack, sink, metersync)
    started = __import__("time").time()

    def verified(status, want: dict[str, int]):
        v = status.get("verify", {})
        return all(s in v and v[s]["verified"] and v[s]["differences"] == n and v[s]["ended_at"] >= iso
                   for s, n in want.items())
    iso = __import__("datetime").datetime.fromtimestamp(started, __import__("datetime").timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    metersync.wait_for_status(lambda s: verified(s, {"postgres": 0, "mysql": 0}), 300, "a periodic verify of both")
    code, text = metersync.get("/metrics")
    assert code == 200
    for source in ("postgres", "mysql"):
        assert _metric(text, "metersync_verify_differences", source) == 0, text
        assert _metric(text, "metersync_verify_failed", source) == 0
        assert _metric(text, "metersync_verify_last_run_timestamp_seconds", source) >= started - 1

    table = f'public."{metersync.names.table}"'
    key = _live_keys(sink, metersync, "mysql")[0]
    old = _row(sink, metersync, "mysql", key)["SerialNumber"]
    sink.execute(f'UPDATE {table} SET "SerialNumber" = %s WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                 ("hand edit", "mysql", key))
    try:
        iso = __import__("datetime").datetime.now(__import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        status = metersync.wait_for_status(lambda s: verified(s, {"mysql": 1}), 300, "the hand edit found")
        assert not status["verify"]["mysql"]["equal"]
        code, text = metersync.get("/metrics")
        assert _metric(text, "metersync_verify_differences", "mysql") == 1, text
        assert metersync.running()
    finally:
        sink.execute(f'UPDATE {table} SET "SerialNumber" = %s WHERE "SourceSystem" = %s AND "SourceMeterId" = %s',
                     (old, "mysql", key))
    assert metersync.stop() == 0
