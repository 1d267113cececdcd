"""Fixtures for tests against the real local stack (./stack).

Every test under tests/integration/ is marked `integration`: select them with `-m integration`,
leave them out with `-m "not integration"`.

- `stack` (session): brings the stack up unless it already runs, yields .local/stack.env as a dict,
  and takes it down at the end only if this session found it completely down.
- `kafka_consumer`: a factory; `kafka_consumer(topic)` returns a confluent-kafka Consumer assigned to
  every partition of `topic` at its current end, so a test sees only what happens after the call.
- `pg_conn`, `mariadb_conn`: autocommit connections to the two source databases (meterdb).
- `read_events`: collects decoded messages for chosen keys from a consumer until a predicate holds.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "cdcstack"))

import stackenv  # noqa: E402

# Bound for waiting on events that must arrive; generous because the machine is shared.
EVENT_WAIT_S = 120.0


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs the real local stack (./stack up)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _stack(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "stack"), *args], cwd=REPO, text=True, capture_output=True,
                          check=False, stdin=subprocess.DEVNULL)


# `./stack status` exit codes: 0 healthy, 1 some service unhealthy, 3 nothing running.
STATUS_DOWN = 3


@pytest.fixture(scope="session")
def stack():
    # Only a stack this session found completely down is this session's to stop: one that is
    # healthy, or half started by someone else's `./stack up`, belongs to whoever started it.
    owned = _stack("status").returncode == STATUS_DOWN
    r = _stack("up")  # a no-op when already up; waits for a concurrent `up` to finish
    if r.returncode != 0:
        if owned:  # leave nothing half started behind
            _stack("down")
        pytest.fail(f"./stack up failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    try:
        yield stackenv.load()
    finally:
        if owned:
            r = _stack("down")
            if r.returncode != 0:
                print(f"./stack down failed:\n{r.stdout}\n{r.stderr}", file=sys.stderr)


@pytest.fixture
def kafka_consumer(stack):
    from confluent_kafka import Consumer, TopicPartition

    consumers = []

    def make(topic: str):
        c = Consumer({
            "bootstrap.servers": stack["KAFKA_BOOTSTRAP"],
            "group.id": f"it-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
        })
        consumers.append(c)
        md = c.list_topics(topic, timeout=30)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            pytest.fail(f"topic {topic} does not exist on {stack['KAFKA_BOOTSTRAP']}: {t and t.error}")
        assignment = []
        for p in sorted(t.partitions):
            _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            assignment.append(TopicPartition(topic, p, high))
        c.assign(assignment)
        return c

    yield make
    for c in consumers:
        c.close()


@pytest.fixture
def pg_conn(stack):
    import psycopg
    conn = psycopg.connect(**stackenv.pg_connect_kwargs(stack), autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    yield conn
    conn.close()


@pytest.fixture
def mariadb_conn(stack):
    import pymysql
    conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(stack), autocommit=True)
    yield conn
    conn.close()


class Event:
    """One Kafka message of a Debezium change topic, JSON-decoded (schemas enabled)."""

    def __init__(self, msg):
        self.topic = msg.topic()
        self.partition = msg.partition()
        self.offset = msg.offset()
        self.raw_key = msg.key()
        self.raw_value = msg.value()
        self.key = json.loads(self.raw_key) if self.raw_key else None
        self.value = json.loads(self.raw_value) if self.raw_value else None

    @property
    def payload(self):
        return None if self.value is None else self.value["payload"]

    @property
    def op(self):
        return None if self.value is None else self.payload["op"]

    @property
    def tombstone(self) -> bool:
        return self.value is None


@pytest.fixture
def read_events():
    def read(consumer, key_of, done, timeout: float = EVENT_WAIT_S) -> list[Event]:
        """Polls until done(events) is true; keeps the events whose key_of(event) is truthy.
        Fails (rather than hangs) when `timeout` passes first."""
        events: list[Event] = []
        deadline = time.monotonic() + timeout
        while not done(events):
            if time.monotonic() > deadline:
                summary = [(e.op, e.key and e.key.get("payload")) for e in events]
                pytest.fail(f"expected change events did not arrive within {timeout:.0f}s; got {summary}")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                pytest.fail(f"Kafka error: {msg.error()}")
            ev = Event(msg)
            if ev.key is not None and key_of(ev):
                events.append(ev)
        return events
    return read
