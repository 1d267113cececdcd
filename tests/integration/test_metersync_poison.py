"""A poison event on a source topic goes to that source's dead-letter topic with headers naming the
error and where it came from; the pipeline goes on, and the other source keeps flowing.

Three poisons are produced onto postgres.public.meter: a value that is not a Debezium envelope
(stage decode), and twice a well-formed envelope whose `kind` is outside Meter Master's MeterType
domain (stage map): once re-serialised by Python, once as Debezium's own bytes with only the
payload's values edited, so its schema block is byte-for-byte the topic's (metersync keeps such a
record without that block while it is in flight, and must still dead-letter it unchanged). All
stay on the topic, so every later consumer of the topic meets them too, as in production.
"""
from __future__ import annotations

import copy
import json
import uuid

import pytest

from metersync_harness import MeterSync, Names, drop_sink_tables, meter_master, sink_connect, wait_until

PG_TOPIC = "postgres.public.meter"
DLQ_TOPIC = PG_TOPIC + ".dlq"
MYSQL_DLQ_TOPIC = "mysql.meterdb.meters.dlq"
WAIT_S = 600


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


def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> tuple[int, int]:
    """Produces one record and returns its (partition, offset) once the broker acknowledged it."""
    from confluent_kafka import Producer
    delivered = {}
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    p.produce(topic, key=key, value=value,
              on_delivery=lambda err, msg: delivered.update(err=err, partition=msg.partition(),
                                                            offset=msg.offset()))
    assert p.flush(30) == 0, "poison not acknowledged"
    assert delivered.get("err") is None, delivered
    return delivered["partition"], delivered["offset"]


def _real_envelope(bootstrap: str) -> tuple[dict, bytes]:
    """One create/snapshot event value from the topic, parsed and as Debezium wrote it (schemas
    included)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        md = c.list_topics(PG_TOPIC, timeout=30).topics[PG_TOPIC]
        c.assign([TopicPartition(PG_TOPIC, p, 0) for p in md.partitions])
        found = wait_until(lambda: _next_create(c), 120, "a create event on " + PG_TOPIC, interval=0)
        return found
    finally:
        c.close()


def _next_create(consumer):
    msg = consumer.poll(1.0)
    if msg is None or msg.error() or msg.value() is None:
        return None
    try:
        value = json.loads(msg.value())
    except ValueError:
        return None  # an earlier poison
    payload = value.get("payload") if isinstance(value, dict) else None
    if not payload or payload.get("op") not in ("c", "r") or not payload.get("after"):
        return None
    if payload["after"].get("kind") not in ("electric", "water", "gas"):
        return None
    if not msg.value().startswith(b'{"schema":'):
        return None  # an earlier run's re-serialised poison
    return value, msg.value()


def _edited_bytes(raw: bytes, after: dict, meter_id: str, kind: str) -> bytes:
    """Debezium's value with the after image's meter_id and kind replaced in place: every other
    byte, the schema block included, stays as the connector wrote it."""
    old_id, old_kind = after["meter_id"].encode(), f'"kind":"{after["kind"]}"'.encode()
    assert raw.count(old_id) == 1 and raw.count(old_kind) == 1, "the after image's values appear once"
    return raw.replace(old_id, meter_id.encode()).replace(old_kind, f'"kind":"{kind}"'.encode())


def _dead_letters(bootstrap: str, topic: str, wanted: dict[tuple[int, int], str]):
    """Reads `topic` from its beginning until a dead letter for every (partition, offset) of `wanted`
    is found; returns them by that key."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}", "enable.auto.commit": False})
    found = {}
    try:
        wait_until(lambda: c.list_topics(topic, timeout=30).topics.get(topic) is not None
                   and not c.list_topics(topic, timeout=30).topics[topic].error, WAIT_S,
                   f"dead-letter topic {topic} to exist", interval=2)
        md = c.list_topics(topic, timeout=30).topics[topic]
        c.assign([TopicPartition(topic, p, 0) for p in md.partitions])

        def poll():
            msg = c.poll(1.0)
            if msg is not None and not msg.error():
                headers = {k: v.decode() for k, v in (msg.headers() or [])}
                where = (int(headers.get("metersync.original.partition", -1)),
                         int(headers.get("metersync.original.offset", -1)))
                if headers.get("metersync.original.topic") == PG_TOPIC and where in wanted:
                    found[where] = (msg, headers)
            return len(found) == len(wanted)

        wait_until(poll, WAIT_S, f"dead letters for {sorted(wanted)} on {topic}", interval=0)
        return found
    finally:
        c.close()


def _insert_pg_meter(env) -> str:
    import psycopg
    import stackenv
    meter_id = str(uuid.uuid4())
    with psycopg.connect(**stackenv.pg_connect_kwargs(env), autocommit=True) as conn:
        conn.execute("INSERT INTO public.meter (meter_id, serial_number, kind, multiplier) "
                     "VALUES (%s, %s, 'gas', 1.5)", (meter_id, f"IT-POISON-AFTER-{meter_id[:8]}"))
    return meter_id


def _insert_mariadb_meter(env) -> str:
    import pymysql
    import stackenv
    conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(env), autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO meters (serial, type, multiplier) VALUES (%s, 'water', 2.0)",
                        (f"IT-POISON-OTHER-{uuid.uuid4().hex[:8]}",))
            return str(cur.lastrowid)
    finally:
        conn.close()


def test_poison_events_go_to_the_dead_letter_topic_and_nothing_stops(stack, sink, metersync):
    bootstrap = stack["KAFKA_BOOTSTRAP"]
    marker = uuid.uuid4().hex

    # Stage decode: not an envelope at all.
    garbage_key = json.dumps({"poison": marker}).encode()
    garbage_value = b'{"payload": this is not JSON ' + marker.encode()
    garbage_at = _produce(bootstrap, PG_TOPIC, garbage_key, garbage_value)

    # Stage map: a faithful envelope of a meter that never existed, with a kind no rule maps.
    real, real_bytes = _real_envelope(bootstrap)
    envelope = copy.deepcopy(real)
    bogus_id = str(uuid.uuid4())
    envelope["payload"]["after"]["meter_id"] = bogus_id
    envelope["payload"]["after"]["kind"] = "steam"
    envelope["payload"]["op"] = "c"
    unmappable_key = json.dumps({"payload": {"meter_id": bogus_id}}).encode()
    unmappable_value = json.dumps(envelope).encode()
    unmappable_at = _produce(bootstrap, PG_TOPIC, unmappable_key, unmappable_value)

    # Stage map again, in Debezium's own bytes.
    verbatim_id = str(uuid.uuid4())
    verbatim_key = json.dumps({"payload": {"meter_id": verbatim_id}}).encode()
    verbatim_value = _edited_bytes(real_bytes, real["payload"]["after"], verbatim_id, "steam")
    verbatim_at = _produce(bootstrap, PG_TOPIC, verbatim_key, verbatim_value)

    metersync.start()
    # Changes made after the poisons, on both sources.
    pg_after = _insert_pg_meter(stack)
    mysql_after = _insert_mariadb_meter(stack)

    def both_arrived():
        if not metersync.running():
            raise AssertionError(f"metersync exited; log:\n{metersync.log_tail()}")
        mm = meter_master(sink, metersync.names)
        return ("postgres", pg_after) in mm and ("mysql", mysql_after) in mm

    wait_until(both_arrived, WAIT_S, "the changes made after the poison, on both sources", interval=2)
    mm = meter_master(sink, metersync.names)
    assert ("postgres", bogus_id) not in mm, "the unmappable poison was written"
    assert ("postgres", verbatim_id) not in mm, "the unmappable poison in Debezium's bytes was written"
    assert mm[("postgres", pg_after)]["MeterType"] == "gas"
    assert mm[("mysql", mysql_after)]["MeterType"] == "water"

    letters = _dead_letters(bootstrap, DLQ_TOPIC, {garbage_at: "decode", unmappable_at: "map", verbatim_at: "map"})
    for where, (stage, key, value) in {garbage_at: ("decode", garbage_key, garbage_value),
                                       unmappable_at: ("map", unmappable_key, unmappable_value),
                                       verbatim_at: ("map", verbatim_key, verbatim_value)}.items():
        msg, headers = letters[where]
        assert msg.key() == key and msg.value() == value, "the dead letter must carry the original record"
        assert headers["metersync.error.stage"] == stage, headers
        assert headers["metersync.error.reason"].strip(), headers
        assert headers["metersync.original.topic"] == PG_TOPIC
        assert int(headers["metersync.original.timestamp"]) > 0
    for where in (unmappable_at, verbatim_at):
        reason = letters[where][1]["metersync.error.reason"]
        assert "steam" in reason or "MeterType" in reason, letters[where][1]

    # Status: both pipelines running; the poisons counted on postgres; mysql untouched by them.
    # The dead letters are acknowledged before the batch holding them commits, and the postgres
    # topic's other partitions may still be catching up, so the count is waited for.
    status = metersync.wait_for_status(lambda s: s["sources"]["postgres"]["records_dead_lettered"] >= 3
                                       and s["sources"]["mysql"]["records_applied"] > 0, WAIT_S,
                                       "the three poisons and mysql's applied records counted in the status file")
    pg, my = status["sources"]["postgres"], status["sources"]["mysql"]
    assert pg["state"] == "running" and my["state"] == "running", status
    assert my["records_applied"] > 0, my
    assert metersync.stop() == 0, metersync.log_tail()
