"""A record too large to dead-letter whole leaves both destinations moving (issue 15).

The dead-letter producer used to keep librdkafka's default message.max.bytes (1,000,000) while a
topic accepts up to 1,048,588 bytes: a 1,040,015-byte poison on a source topic could not be
dead-lettered, the error was fatal and the pipeline stopped for good. Now the producer is sized
from the dead-letter topic (its max.message.bytes, or the broker's message.max.bytes before the
topic exists), and a record that still does not fit goes as a reference.

Two poisons go onto postgres.public.meter, each followed by a real change that must still reach
Meter Master and the endpoint:
- the issue's 1,040,015 bytes: it fits a default topic, so both destinations dead-letter it whole;
- 2,500,000 bytes, after raising the source topic's max.message.bytes (put back at the end): no
  dead-letter topic takes it, so each destination dead-letters a reference: no value, the
  original's size in `metersync.original.size` and `metersync.value.omitted` saying where the
  original is.
"""
from __future__ import annotations

import uuid

import pytest

from metersync_harness import meter_master, wait_until
from test_dispatch_endpoint import rig  # noqa: F401  (the fixture: endpoint services and metersync)
from test_metersync_poison import _dead_letters, _insert_pg_meter

PG_TOPIC = "postgres.public.meter"
DLQ_TOPICS = (PG_TOPIC + ".dlq", PG_TOPIC + ".endpoint.dlq")
WAIT_S = 600
ISSUE_SIZE = 1_040_015
LARGE_SIZE = 2_500_000


def _produce_large(bootstrap: str, key: bytes, value: bytes) -> tuple[int, int]:
    from confluent_kafka import Producer
    delivered = {}
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "message.max.bytes": 8_000_000})
    p.produce(PG_TOPIC, key=key, value=value,
              on_delivery=lambda err, msg: delivered.update(err=err, partition=msg.partition(),
                                                            offset=msg.offset()))
    assert p.flush(60) == 0, "large record not acknowledged"
    assert delivered.get("err") is None, delivered
    return delivered["partition"], delivered["offset"]


def _set_topic_limit(bootstrap: str, value: str | None) -> None:
    """Sets (or, None, removes) the source topic's max.message.bytes override."""
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
    admin = AdminClient({"bootstrap.servers": bootstrap})
    op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
    entry = ConfigEntry("max.message.bytes", value or "", incremental_operation=op)
    resource = ConfigResource(ResourceType.TOPIC, PG_TOPIC, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def _poison(size: int) -> tuple[bytes, bytes]:
    marker = uuid.uuid4().hex.encode()
    head = b'{"payload": not JSON ' + marker + b" "
    return b'{"poison": "' + marker + b'"}', head + b"x" * (size - len(head))


def _arrives_everywhere(endpoints, ms, sink, meter_id: str, what: str) -> None:
    def arrived():
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        if ("postgres", meter_id) not in meter_master(sink, ms.names):
            return False
        return any(e["meter"] and e["meter"]["sourceMeterId"] == meter_id
                   for e in endpoints["postgres"].history("postgres"))
    wait_until(arrived, WAIT_S, what, interval=3)


@pytest.fixture
def topic_limit(stack):
    yield lambda value: _set_topic_limit(stack["KAFKA_BOOTSTRAP"], value)
    _set_topic_limit(stack["KAFKA_BOOTSTRAP"], None)


def test_a_record_too_large_for_the_dead_letter_topic_leaves_both_destinations_moving(stack, rig, topic_limit):
    endpoints, ms, _, sink = rig
    bootstrap = stack["KAFKA_BOOTSTRAP"]

    issue_key, issue_value = _poison(ISSUE_SIZE)
    issue_at = _produce_large(bootstrap, issue_key, issue_value)
    ms.start()
    after_issue = _insert_pg_meter(stack)
    _arrives_everywhere(endpoints, ms, sink, after_issue, "the change after the 1,040,015-byte poison")
    for topic in DLQ_TOPICS:
        msg, headers = _dead_letters(bootstrap, topic, {issue_at: "decode"})[issue_at]
        assert msg.key() == issue_key and msg.value() == issue_value, f"{topic}: not dead-lettered whole"
        assert headers["metersync.error.stage"] == "decode", headers
        assert headers["metersync.original.size"] == str(ISSUE_SIZE), headers
        assert "metersync.value.omitted" not in headers, headers

    topic_limit("4000000")
    large_key, large_value = _poison(LARGE_SIZE)
    large_at = _produce_large(bootstrap, large_key, large_value)
    after_large = _insert_pg_meter(stack)
    _arrives_everywhere(endpoints, ms, sink, after_large, "the change after the 2,500,000-byte poison")
    for topic in DLQ_TOPICS:
        msg, headers = _dead_letters(bootstrap, topic, {large_at: "decode"})[large_at]
        assert msg.value() is None, f"{topic}: a reference carries no value"
        assert msg.key() == large_key, f"{topic}: the key fits and is kept"
        assert headers["metersync.error.stage"] == "decode", headers
        assert headers["metersync.error.reason"].strip(), headers
        assert headers["metersync.original.size"] == str(LARGE_SIZE), headers
        omitted = headers["metersync.value.omitted"]
        assert f"does not fit {topic}" in omitted, omitted
        assert f"the original is at {PG_TOPIC} partition {large_at[0]} offset {large_at[1]}" in omitted, omitted

    status = ms.wait_for_status(lambda s: s["sources"]["postgres"]["records_dead_lettered"] >= 2, WAIT_S,
                                "both poisons counted as dead letters")
    assert status["sources"]["postgres"]["state"] == "running", status
    assert ms.stop() == 0, ms.log_tail()
