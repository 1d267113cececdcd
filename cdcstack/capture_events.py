"""Captures real Debezium messages from the running stack as decoder fixtures.

For each local source it inserts, updates and deletes one meter, reads the resulting events
(create, update, delete and the tombstone) from the change topic, and picks snapshot reads of
chosen seed rows from the start of the topic. Each message value is written pretty-printed as
<name>.json and its key as <name>.key.json under tests/fixtures/debezium/captured/<source>/.

    ./stack up && .local/venv/bin/python cdcstack/capture_events.py
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
import pymysql  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402

import stackenv  # noqa: E402

OUT = stackenv.REPO_ROOT / "tests" / "fixtures" / "debezium" / "captured"
WAIT_S = 120.0


def consumer(env, topic: str, from_start: bool) -> Consumer:
    c = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": f"capture-{uuid.uuid4()}",
                  "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=30).topics[topic]
    parts = []
    for p in sorted(md.partitions):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        parts.append(TopicPartition(topic, p, lo if from_start else hi))
    c.assign(parts)
    return c


def collect(c: Consumer, want, enough) -> list:
    found: list = []
    deadline = time.monotonic() + WAIT_S
    while not enough(found):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {WAIT_S:.0f}s; found {len(found)} messages")
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        if want(m):
            found.append(m)
    return found


def write(source: str, name: str, msg) -> None:
    d = OUT / source
    d.mkdir(parents=True, exist_ok=True)
    key = json.loads(msg.key())
    (d / f"{name}.key.json").write_text(json.dumps(key, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if msg.value() is not None:
        value = json.loads(msg.value())
        (d / f"{name}.json").write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"  {source}/{name}: {msg.topic()} partition {msg.partition()} offset {msg.offset()}")


def key_field(msg, field: str):
    return json.loads(msg.key())["payload"][field] if msg.key() else None


def capture_postgres(env) -> None:
    topic = env.get("PG_TOPIC", "postgres.public.meter")
    # Seed edge rows (cdcstack/rows.py): 5 = max decimals, 10 = NUMERIC of scale 26,
    # 15 = 9999-12-31 dates, 19 = location without "lon", 40 = unicode serial.
    edges = {str(uuid.UUID(int=0xE0_0000 + i, version=4)): name for i, name in
             ((5, "snapshot_edge_max"), (10, "snapshot_edge_scale26"), (15, "snapshot_edge_far_future"),
              (19, "snapshot_edge_location_lat_only"), (40, "snapshot_edge_unicode"))}
    c = consumer(env, topic, from_start=True)
    try:
        got = collect(c, lambda m: m.value() is not None and key_field(m, "meter_id") in edges,
                      lambda f: len({key_field(m, "meter_id") for m in f}) == len(edges))
    finally:
        c.close()
    seen = set()
    for m in got:
        k = key_field(m, "meter_id")
        if k not in seen and json.loads(m.value())["payload"]["op"] == "r":
            seen.add(k)
            write("postgres", edges[k], m)

    meter_id = uuid.UUID("0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e")
    with psycopg.connect(**stackenv.pg_connect_kwargs(env), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("DELETE FROM public.meter WHERE meter_id = %s", (meter_id,))  # a rerun starts clean
        c = consumer(env, topic, from_start=False)
        conn.execute(
            "INSERT INTO public.meter (meter_id, serial_number, kind, manufacturer, active, installed_on,"
            " multiplier, last_reading, last_reading_at, location) VALUES (%s, 'CAPTURE-PG-Zähler-001', 'electric',"
            " 'Landis+Gyr', true, '2019-04-01', 40.0, 1234.5678, '2026-11-27 08:15:30.654321+00',"
            " '{\"lat\": 51.501234567, \"lon\": -0.1415}')", (meter_id,))
        conn.execute("UPDATE public.meter SET last_reading = 1300.25, last_reading_at = '2026-11-27 09:15:30.000001+00',"
                     " active = false WHERE meter_id = %s", (meter_id,))
        conn.execute("UPDATE public.meter SET removed_at = '2026-11-27 10:00:00+00' WHERE meter_id = %s", (meter_id,))
        conn.execute("DELETE FROM public.meter WHERE meter_id = %s", (meter_id,))
    try:
        got = collect(c, lambda m: key_field(m, "meter_id") == str(meter_id), lambda f: len(f) >= 5)
    finally:
        c.close()
    for name, m in zip(("create", "update", "update_removed", "delete", "tombstone"), got):
        write("postgres", name, m)


def capture_mariadb(env) -> None:
    topic = env.get("MARIADB_TOPIC", "mysql.meterdb.meters")
    conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(env), autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, serial FROM meters WHERE serial IN ('EDGE-MDB-004', 'EDGE-MDB-011',"
                        " 'EDGE-MDB-016', 'EDGE-MDB-020') OR serial LIKE 'Zähler%%'")
            names = {"EDGE-MDB-004": "snapshot_edge_max", "EDGE-MDB-011": "snapshot_edge_datetime_min",
                     "EDGE-MDB-016": "snapshot_edge_timestamp_max", "EDGE-MDB-020": "snapshot_edge_rounding"}
            edges = {int(i): names.get(s, "snapshot_edge_unicode") for i, s in cur.fetchall()}

        def mid(m):
            import base64
            v = key_field(m, "id")
            return None if v is None else int.from_bytes(base64.b64decode(v), "big", signed=True)

        c = consumer(env, topic, from_start=True)
        try:
            got = collect(c, lambda m: m.value() is not None and mid(m) in edges,
                          lambda f: len({mid(m) for m in f}) == len(edges))
        finally:
            c.close()
        seen = set()
        for m in got:
            if mid(m) not in seen and json.loads(m.value())["payload"]["op"] == "r":
                seen.add(mid(m))
                write("mariadb", edges[mid(m)], m)

        c = consumer(env, topic, from_start=False)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO meters (serial, type, manufacturer, status, installed_at, multiplier, last_reading,"
                        " last_reading_at, latitude, longitude) VALUES ('CAPTURE-MDB-电表-001', 'gas', 'Kamstrup',"
                        " 'active', '2018-06-15 13:45:00', 10.0, 8765.4321, '2026-11-27 08:15:30.654321',"
                        " 48.8583701, 2.2944813)")
            new_id = cur.lastrowid
            cur.execute("UPDATE meters SET last_reading = 8800.125, status = 'inactive',"
                        " last_reading_at = '2026-11-27 09:15:30.000001' WHERE id = %s", (new_id,))
            cur.execute("DELETE FROM meters WHERE id = %s", (new_id,))
        try:
            got = collect(c, lambda m: mid(m) == new_id, lambda f: len(f) >= 4)
        finally:
            c.close()
        for name, m in zip(("create", "update", "delete", "tombstone"), got):
            write("mariadb", name, m)
    finally:
        conn.close()


def main() -> int:
    env = stackenv.load()
    capture_postgres(env)
    capture_mariadb(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
