"""/readyz and Kafka Connect, on the real stack: a connector whose task fails for real holds back
its own source's destinations and no other, and the endpoints report their lag for every
partition from the start.

The PostgreSQL connector is broken the way a wrong configuration breaks it: its configuration
names a publication that does not exist (Connect validates the new configuration, the task
restarts with it and ends FAILED, having read nothing). Its original configuration is put back
exactly at the end, whatever happens, so the other tests find the stack as it was.
"""
from __future__ import annotations

import re
import time

import pytest
import requests

from metersync_harness import wait_until
from test_dispatch_endpoint import TOPICS, rig  # noqa: F401  (rig is a fixture)
from test_operate import readyz, verdicts, wait_ready

CONNECTOR = "postgres-meter-source"
POLL_MS = 1000
STALL_MS = 3000
# From Connect saying FAILED to /readyz saying so: one poll period, the one-second tick, and
# room for a loaded 2-core machine.
NOT_READY_WITHIN_S = POLL_MS / 1000 + 1 + 8
WAIT_S = 600


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setenv("METERSYNC_CONNECT_POLL_MS", str(POLL_MS))
    monkeypatch.setenv("METERSYNC_STALL_AFTER_MS", str(STALL_MS))


def connector_state(url: str) -> tuple[str, list[tuple[int, str]]]:
    s = requests.get(f"{url}/connectors/{CONNECTOR}/status", timeout=10).json()
    return s["connector"]["state"], [(t["id"], t["state"]) for t in s.get("tasks", [])]


def all_running(url: str) -> bool:
    state, tasks = connector_state(url)
    return state == "RUNNING" and bool(tasks) and all(t == "RUNNING" for _, t in tasks)


def put_config(url: str, config: dict) -> None:
    r = requests.put(f"{url}/connectors/{CONNECTOR}/config", json=config, timeout=60)
    assert r.status_code in (200, 201), r.text


def restore(url: str, original: dict) -> None:
    """The original configuration, exactly, and its task running again."""
    if requests.get(f"{url}/connectors/{CONNECTOR}/config", timeout=10).json() != original:
        put_config(url, original)
    try:
        wait_until(lambda: all_running(url), 30, "the connector to run again", interval=0.5)
    except AssertionError:
        # A task that failed before the configuration came back stays FAILED until restarted.
        requests.post(f"{url}/connectors/{CONNECTOR}/restart?includeTasks=true&onlyFailed=true",
                      timeout=30).raise_for_status()
        wait_until(lambda: all_running(url), 60, "the connector to run again after a restart", interval=0.5)
    assert requests.get(f"{url}/connectors/{CONNECTOR}/config", timeout=10).json() == original


def sample(text: str, metric: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(metric + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def endpoint_lag_partitions(text: str, source: str) -> dict[int, float]:
    found = {}
    for m in re.finditer(r'^metersync_consumer_lag_records\{([^}]*)\} (\S+)$', text, flags=re.MULTILINE):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("source") == source and labels.get("destination") == "endpoint":
            found[int(labels["partition"])] = float(m.group(2))
    return found


def commit_endpoint_groups_at_the_end(stack, ms) -> dict[str, dict[int, int]]:
    """Commits each endpoint group's offsets at the topic's end before metersync starts: its
    dispatchers then have nothing to read, settle nothing, and their lag must still be known
    for every partition (from the committed offsets) from the start."""
    from confluent_kafka import Consumer, TopicPartition
    ends = {}
    for source, topic in TOPICS.items():
        c = Consumer({"bootstrap.servers": stack["KAFKA_BOOTSTRAP"],
                      "group.id": f"{ms.names.group(source)}-endpoint", "enable.auto.commit": False})
        try:
            partitions = sorted(c.list_topics(topic, timeout=30).topics[topic].partitions)
            ends[source] = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
            c.commit(offsets=[TopicPartition(topic, p, o) for p, o in ends[source].items()], asynchronous=False)
        finally:
            c.close()
    return ends


def test_a_failed_connector_task_holds_back_its_source_only_and_endpoint_lag_is_known_at_once(quick, stack, rig):
    endpoints, ms, recorders, sink = rig
    url = stack["CONNECT_URL"]
    original = requests.get(f"{url}/connectors/{CONNECTOR}/config", timeout=10).json()
    assert all_running(url), "the stack's connector must run before the test"
    ends = commit_endpoint_groups_at_the_end(stack, ms)

    ms.start()
    started = time.monotonic()
    # Every partition's endpoint lag, although the dispatchers settle nothing: from the
    # group's committed offsets. Records written meanwhile by anyone may add to it.
    def every_partition():
        status, text = ms.get("/metrics")
        return status == 200 and all(set(endpoint_lag_partitions(text, s)) == set(ends[s]) for s in TOPICS) and text
    text = wait_until(every_partition, 60, "endpoint lag series for every partition", interval=0.5)
    lag_known_after = time.monotonic() - started
    for source in TOPICS:
        lags = endpoint_lag_partitions(text, source)
        assert all(v >= 0 for v in lags.values()), lags
        assert sum(lags.values()) < sum(ends[source].values()), \
            f"{source}: the lag counts from the committed offsets, not the topic's beginning: {lags}"
        assert sample(text, "metersync_consumer_lag_seconds", source=source, destination="endpoint") is not None
    print(f"endpoint lag for every partition {lag_known_after:.1f}s after start")

    wait_ready(ms, "ready before the connector breaks")
    status, body = readyz(ms)
    assert {c["source"]: c["state"] for c in body["connectors"]} == {"postgres": "running", "mysql": "running"}, body

    try:
        # A publication that does not exist: Connect accepts the configuration (its validation
        # does not look at publications), the task restarts with it and fails.
        put_config(url, {**original, "publication.name": "metersync_it_no_such_publication"})
        wait_until(lambda: any(t == "FAILED" for _, t in connector_state(url)[1]), 60,
                   "the connector's task to fail", interval=0.2)
        failed_at = time.monotonic()
        wait_until(lambda: readyz(ms)[0] == 503, NOT_READY_WITHIN_S, "/readyz to answer 503", interval=0.2)
        took = time.monotonic() - failed_at
        print(f"/readyz 503 {took:.1f}s after Connect said FAILED")
        status, body = readyz(ms)
        v = verdicts(body)
        for destination in ("meter_master", "endpoint"):
            d = v[("postgres", destination)]
            assert not d["ready"], body
            assert d["reason"].startswith(f"connector {CONNECTOR} task 0 is FAILED ("), d
            assert d["since"], d
            assert v[("mysql", destination)]["ready"], ("the other source stays ready", body)
        connectors = {c["source"]: c for c in body["connectors"]}
        assert connectors["postgres"]["state"] == "failed" and connectors["postgres"]["since"], body
        assert connectors["mysql"]["state"] == "running", body
        _, text = ms.get("/metrics")
        assert sample(text, "metersync_connector_up", source="postgres") == 0
        assert sample(text, "metersync_connector_up", source="mysql") == 1

        # Repaired: the original configuration restarts the task with the real publication.
        put_config(url, original)
        wait_until(lambda: all_running(url), 60, "the connector to run again", interval=0.5)
        wait_ready(ms, "ready again once the connector runs")
        _, text = ms.get("/metrics")
        assert sample(text, "metersync_connector_up", source="postgres") == 1
    finally:
        restore(url, original)
    assert ms.stop() == 0, ms.log_tail()
