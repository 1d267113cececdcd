"""The real stack end to end: a change in PostgreSQL or MariaDB arrives as a Debezium change event
on its topic, read with a real Kafka client, with the right op, before, after and source position."""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from decimal import Decimal

PG_TOPIC = "postgres.public.meter"
MARIADB_TOPIC = "mysql.meterdb.meters"


def decimal_of(encoded: str, scale: int) -> Decimal:
    """org.apache.kafka.connect.data.Decimal: base64 of the big-endian two's-complement unscaled value."""
    unscaled = int.from_bytes(base64.b64decode(encoded), "big", signed=True)
    return Decimal(unscaled).scaleb(-scale)


def variable_decimal_of(v: dict) -> Decimal:
    """io.debezium.data.VariableScaleDecimal (unconstrained NUMERIC): {"scale": s, "value": base64}."""
    return decimal_of(v["value"], v["scale"])


def field_schema(event, part: str, name: str) -> dict:
    """The Connect schema of column `name` inside the envelope's `before`/`after` struct."""
    envelope = event.value["schema"]
    struct = next(f for f in envelope["fields"] if f["field"] == part)
    return next(f for f in struct["fields"] if f["field"] == name)


def pg_lsn(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def test_postgres_insert_update_delete_arrive_in_order(stack, pg_conn, kafka_consumer, read_events):
    consumer = kafka_consumer(PG_TOPIC)
    meter_id = uuid.uuid4()
    serial = f"IT-PG-{meter_id.hex[:10]}-Zähler"
    pg_conn.execute(
        "INSERT INTO public.meter (meter_id, serial_number, kind, manufacturer, installed_on, multiplier,"
        " last_reading, last_reading_at, location) VALUES (%s, %s, 'gas', 'Itron', '1969-12-31', 2.5,"
        " 12345.67891, '2026-11-27 10:11:12.123456+00', '{\"lat\": 51.5, \"lon\": -0.125}')",
        (meter_id, serial))
    pg_conn.execute("UPDATE public.meter SET last_reading = 42.125, active = false WHERE meter_id = %s", (meter_id,))
    pg_conn.execute("DELETE FROM public.meter WHERE meter_id = %s", (meter_id,))
    wal_after = pg_lsn(pg_conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])

    events = read_events(consumer, lambda e: e.key["payload"]["meter_id"] == str(meter_id),
                         lambda evs: len(evs) >= 4)
    create, update, delete, tombstone = events[:4]

    assert [create.op, update.op, delete.op] == ["c", "u", "d"]
    assert tombstone.tombstone and tombstone.key["payload"] == {"meter_id": str(meter_id)}
    # One key, one partition: the order survives the 3-partition topic.
    assert len({e.partition for e in events}) == 1
    assert [e.offset for e in events] == sorted(e.offset for e in events)

    after = create.payload["after"]
    assert create.payload["before"] is None
    assert after["meter_id"] == str(meter_id)
    assert after["serial_number"] == serial
    assert (after["kind"], after["manufacturer"], after["active"]) == ("gas", "Itron", True)
    assert after["removed_at"] is None
    # DATE: days since the epoch (io.debezium.time.Date); 1969-12-31 is day -1.
    assert field_schema(create, "after", "installed_on")["name"] == "io.debezium.time.Date"
    assert after["installed_on"] == -1
    mult_schema = field_schema(create, "after", "multiplier")
    assert mult_schema["name"] == "org.apache.kafka.connect.data.Decimal"
    assert decimal_of(after["multiplier"], int(mult_schema["parameters"]["scale"])) == Decimal("2.5000")
    assert variable_decimal_of(after["last_reading"]) == Decimal("12345.67891")
    # TIMESTAMPTZ keeps its microseconds as an ISO string in UTC.
    assert field_schema(create, "after", "last_reading_at")["name"] == "io.debezium.time.ZonedTimestamp"
    assert after["last_reading_at"] == "2026-11-27T10:11:12.123456Z"
    assert json.loads(after["location"]) == {"lat": 51.5, "lon": -0.125}

    # REPLICA IDENTITY FULL: the update and the delete carry the whole before image.
    assert update.payload["before"] == after
    assert variable_decimal_of(update.payload["after"]["last_reading"]) == Decimal("42.125")
    assert update.payload["after"]["active"] is False
    assert delete.payload["before"] == update.payload["after"]
    assert delete.payload["after"] is None

    sources = [e.payload["source"] for e in (create, update, delete)]
    for s in sources:
        assert (s["connector"], s["name"], s["db"], s["schema"], s["table"]) == \
            ("postgresql", "postgres", "meterdb", "public", "meter")
        assert s["snapshot"] == "false"
    lsns = [s["lsn"] for s in sources]
    assert lsns == sorted(lsns) and len(set(lsns)) == 3
    assert lsns[-1] <= wal_after
    tx_ids = [s["txId"] for s in sources]
    assert tx_ids == sorted(tx_ids) and len(set(tx_ids)) == 3
    # source.sequence is ["<last commit lsn>", "<this lsn>"]
    assert json.loads(sources[2]["sequence"])[1] == str(lsns[2])


def test_mariadb_insert_update_delete_arrive_in_order(stack, mariadb_conn, kafka_consumer, read_events):
    consumer = kafka_consumer(MARIADB_TOPIC)
    serial = f"IT-MDB-{uuid.uuid4().hex[:10]}-电表"
    with mariadb_conn.cursor() as cur:
        cur.execute(
            "INSERT INTO meters (serial, type, manufacturer, status, installed_at, multiplier, last_reading,"
            " last_reading_at, latitude, longitude) VALUES (%s, 'water', NULL, 'active', '1969-12-31 13:14:15',"
            " 2.5, 0.0625, '2026-11-27 10:11:12.123456', 51.5, -0.125)", (serial,))
        meter_id = cur.lastrowid
        cur.execute("UPDATE meters SET status = 'removed', last_reading = 99.5 WHERE id = %s", (meter_id,))
        cur.execute("DELETE FROM meters WHERE id = %s", (meter_id,))
        cur.execute("SHOW MASTER STATUS")
        binlog_file, binlog_pos = cur.fetchone()[:2]

    def key_is_ours(e) -> bool:
        # BIGINT UNSIGNED with bigint.unsigned.handling.mode=precise: a scale-0 Decimal.
        return decimal_of(e.key["payload"]["id"], 0) == meter_id

    events = read_events(consumer, key_is_ours, lambda evs: len(evs) >= 4)
    create, update, delete, tombstone = events[:4]

    assert [create.op, update.op, delete.op] == ["c", "u", "d"]
    assert tombstone.tombstone
    assert len({e.partition for e in events}) == 1

    after = create.payload["after"]
    assert create.payload["before"] is None
    assert decimal_of(after["id"], 0) == meter_id
    assert after["serial"] == serial
    assert (after["type"], after["manufacturer"], after["status"]) == ("water", None, "active")
    assert field_schema(create, "after", "type")["name"] == "io.debezium.data.Enum"
    # DATETIME (no fraction): epoch milliseconds (io.debezium.time.Timestamp), before 1970 negative.
    assert field_schema(create, "after", "installed_at")["name"] == "io.debezium.time.Timestamp"
    assert after["installed_at"] == int(dt.datetime(1969, 12, 31, 13, 14, 15,
                                                    tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert decimal_of(after["multiplier"], 4) == Decimal("2.5000")
    assert after["last_reading"] == 0.0625
    # TIMESTAMP(6): ISO string in UTC with the microseconds.
    assert field_schema(create, "after", "last_reading_at")["name"] == "io.debezium.time.ZonedTimestamp"
    assert after["last_reading_at"] == "2026-11-27T10:11:12.123456Z"
    assert (after["latitude"], after["longitude"]) == (51.5, -0.125)

    # binlog_row_image=FULL: complete before images.
    assert update.payload["before"] == after
    assert (update.payload["after"]["status"], update.payload["after"]["last_reading"]) == ("removed", 99.5)
    assert delete.payload["before"] == update.payload["after"]
    assert delete.payload["after"] is None

    sources = [e.payload["source"] for e in (create, update, delete)]
    for s in sources:
        assert (s["connector"], s["name"], s["db"], s["table"]) == ("mariadb", "mysql", "meterdb", "meters")
        assert s["snapshot"] == "false"
        assert s["server_id"] == 1
        assert s["file"] == binlog_file
    positions = [(s["file"], s["pos"], s["row"]) for s in sources]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert all(s["pos"] < binlog_pos for s in sources)
    # MariaDB GTIDs domain-server-sequence: one transaction each, in commit order.
    gtids = [s["gtid"] for s in sources]
    assert all(g.startswith("0-1-") for g in gtids)
    seqs = [int(g.rsplit("-", 1)[1]) for g in gtids]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_snapshot_rows_carry_op_r(stack, kafka_consumer, read_events):
    """The seed is on both topics as snapshot reads (op "r") from the initial snapshot."""
    from confluent_kafka import Consumer, TopicPartition
    for topic in (PG_TOPIC, MARIADB_TOPIC):
        c = Consumer({"bootstrap.servers": stack["KAFKA_BOOTSTRAP"], "group.id": f"it-{uuid.uuid4()}",
                      "enable.auto.commit": False})
        try:
            md = c.list_topics(topic, timeout=30).topics[topic]
            assert len(md.partitions) == 3
            c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
            events = read_events(c, lambda e: e.value is not None, lambda evs: len(evs) >= 50)
        finally:
            c.close()
        assert {e.op for e in events} == {"r"}
        assert all(e.payload["source"]["snapshot"] in ("first", "true", "last", "first_in_data_collection",
                                                       "last_in_data_collection") for e in events)


def test_load_generator_changes_all_arrive(stack, kafka_consumer, read_events):
    """Every operation of a mixed load is on Kafka once: a create per insert, an update per update,
    a delete plus a tombstone per delete, for exactly the keys the generator reports."""
    import loadgen  # cdcstack/ is on sys.path (conftest)

    for target, topic, key_field in (("postgres", PG_TOPIC, "meter_id"), ("mariadb", MARIADB_TOPIC, "id")):
        consumer = kafka_consumer(topic)
        counts = loadgen.run(target, stack, rate=0, count=120, seed=11, working_set=40, batch=5)
        assert counts.ops == 120 and counts.inserts and counts.updates and counts.deletes

        def key_of(e, field=key_field):
            v = e.key["payload"][field]
            return v if field == "meter_id" else str(decimal_of(v, 0))

        keys = set(counts.keys)
        expected = counts.inserts + counts.updates + 2 * counts.deletes
        events = read_events(consumer, lambda e: key_of(e) in keys, lambda evs: len(evs) >= expected)
        ops = [e.op for e in events if not e.tombstone]
        assert (ops.count("c"), ops.count("u"), ops.count("d")) == (counts.inserts, counts.updates, counts.deletes)
        assert sum(e.tombstone for e in events) == counts.deletes
        assert {key_of(e) for e in events} == keys
        # A deleted key's last event is its tombstone.
        last = {}
        for e in events:
            last[key_of(e)] = e
        assert {k for k, e in last.items() if e.tombstone} == counts.deleted
