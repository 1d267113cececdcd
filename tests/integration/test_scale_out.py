"""Several metersync instances on one configuration, against the real stack.

Two, then three processes with the same configuration and their own instance_id share each
source's consumer groups (Meter Master and endpoint) while a mixed workload runs on PostgreSQL
and MariaDB; one is SIGKILLed and started again. The source topics have three partitions each
(the shipped connectors' topic.creation.default.partitions), checked first, so the instances
really split them. Afterwards:

- the partitions of every group were split between the running instances: each partition
  assigned to exactly one of them, every instance holding some (their status files and /metrics);
- Meter Master equals the spec's mapping of both source tables row for row, and the offsets table
  counts every record of both topics exactly once (no batch applied twice by two owners);
- every change reached its endpoint once (after de-duplication by event id) and in order per meter.

Each test has its own sink tables, consumer groups and endpoint services; every process it starts
is ended.
"""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from metersync_harness import (DeletedRowShadow, MeterSync, Names, compare, drop_sink_tables, expected_mariadb,
                               expected_postgres, meter_master, offsets, sink_connect, topic_record_counts,
                               wait_until)
from test_dispatch_endpoint import (INGEST_TOKEN, OPERATIONS, SECRET, TOPICS, EndpointService, TopicRecorder,
                                    _delete_groups, delivery_problems, load)

PARTITIONS = 3
# Bounds: catching up on both topics' history with several processes on a shared 2-core machine,
# and a group settling after a member joins, leaves or is killed (session.timeout.ms is 10 s).
CATCH_UP_S = 600
SETTLE_S = 120


def _partition_count(env, topic: str) -> int:
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})
    return len(admin.list_topics(topic, timeout=30).topics[topic].partitions)


class Cluster:
    """Endpoint services for both sources and up to three metersync instances on one configuration
    (the shipped one, with this test's tables, groups and endpoints), each its own instance_id,
    directory, status file and listener."""

    def __init__(self, stack: dict, tmp_path: Path):
        self.stack = stack
        self.names = Names.fresh()
        self.endpoints = {s: EndpointService(tmp_path, s) for s in TOPICS}
        for e in self.endpoints.values():
            e.start()
        self.env = {**stack, "METERSYNC_ENDPOINT_SECRET": SECRET,
                    "METERSYNC_ENDPOINT_AUTH": f"Bearer {INGEST_TOKEN}"}
        self.tmp_path = tmp_path
        self.instances: list[MeterSync] = []
        self.sink = sink_connect(stack)
        self.recorders = {s: TopicRecorder(stack, s) for s in TOPICS}

    def add(self) -> MeterSync:
        n = len(self.instances) + 1
        directory = self.tmp_path / f"instance-{n}"
        directory.mkdir()
        ms = MeterSync(self.env, self.names, directory)
        text = ms.config.read_text()
        for source, endpoint in self.endpoints.items():
            text, count = re.subn(r"\$\{ENDPOINT_URL:-[^}]*\}(/v1/sources/" + source + "/changes)",
                                  endpoint.url + r"\1", text)
            assert count == 1, "config/metersync.yaml changed shape (endpoint url)"
        text, count = re.subn(r"^(\s+)(signing_secret:.*)$",
                              r"\1\2\n\1request_timeout_ms: 3000\n\1connect_timeout_ms: 1000\n"
                              r"\1retry_initial_ms: 100\n\1retry_max_ms: 2000\n\1max_attempts: 1000",
                              text, flags=re.MULTILINE)
        assert count >= 2, "config/metersync.yaml changed shape (signing_secret)"
        ms.config.write_text(text)
        ms.env["METERSYNC_INSTANCE_ID"] = self.instance_id(n)
        self.instances.append(ms)
        return ms

    def instance_id(self, n: int) -> str:
        return f"it-{self.names.suffix}-{n}"

    def running(self) -> list[MeterSync]:
        return [ms for ms in self.instances if ms.running()]

    def close(self) -> None:
        for r in self.recorders.values():
            r.close()
        for ms in self.instances:
            ms.close()
        for e in self.endpoints.values():
            e.close()
        drop_sink_tables(self.sink, self.names)
        self.sink.close()
        _delete_groups(self.stack, self.names)


@pytest.fixture
def cluster(stack, tmp_path):
    for topic in TOPICS.values():
        assert _partition_count(stack, topic) == PARTITIONS, (
            f"{topic} should have {PARTITIONS} partitions (cdcstack/connectors/*.json "
            f"topic.creation.default.partitions); several instances would otherwise have nothing to split")
    OPERATIONS.clear()
    c = Cluster(stack, tmp_path)
    yield c
    c.close()


def owners(instances: list[MeterSync]) -> dict[tuple[str, str], dict[int, list[str]]]:
    """(destination, source) -> partition -> the instance ids whose status file says they hold it."""
    out: dict[tuple[str, str], dict[int, list[str]]] = {}
    for ms in instances:
        status = ms.status()
        if not status:
            continue
        for source, s in status["sources"].items():
            for p in s.get("partitions", []):
                out.setdefault(("meter_master", source), {}).setdefault(p, []).append(status["instance_id"])
        for source, e in status.get("endpoints", {}).items():
            for p in e.get("partitions", []):
                out.setdefault(("endpoint", source), {}).setdefault(p, []).append(status["instance_id"])
    return out


def split_problems(cluster: Cluster) -> list[str]:
    """What keeps the running instances' assignments from being a split of every group: each
    partition held by exactly one running instance, each running instance holding at least one
    (three partitions, at most three instances). [] once split."""
    running = cluster.running()
    ids = {cluster.instance_id(cluster.instances.index(ms) + 1) for ms in running}
    seen = owners(running)
    problems = []
    for destination in ("meter_master", "endpoint"):
        for source in TOPICS:
            held = seen.get((destination, source), {})
            for p in range(PARTITIONS):
                if len(held.get(p, [])) != 1:
                    problems.append(f"{destination} {source} partition {p}: held by {held.get(p, [])}")
            holders = {i for who in held.values() for i in who}
            if holders != ids:
                problems.append(f"{destination} {source}: held by {sorted(holders)}, running {sorted(ids)}")
    return problems


def wait_split(cluster: Cluster, what: str) -> dict:
    last: list[list[str]] = [[]]

    def split():
        for ms in cluster.instances:
            if ms.proc is not None and not ms.running():
                raise AssertionError(f"an instance exited; log:\n{ms.log_tail()}")
        last[0] = split_problems(cluster)
        return not last[0]

    try:
        wait_until(split, SETTLE_S, what, interval=1)
    except AssertionError as e:
        raise AssertionError(f"{e}: " + "; ".join(last[0])) from None
    return owners(cluster.running())


def meter_master_problems(cluster: Cluster, shadow: DeletedRowShadow) -> list[str]:
    actual = meter_master(cluster.sink, cluster.names)
    return (compare(expected_postgres(cluster.stack, shadow), actual, "postgres")
            + compare(expected_mariadb(cluster.stack, shadow), actual, "mysql"))


def settle(cluster: Cluster, shadow: DeletedRowShadow, touched: dict[str, set[str]]) -> None:
    """Waits until Meter Master equals the mapped source tables and every change touched reached its
    endpoint once and in order; then checks that the offsets count every record once."""
    for source in TOPICS:
        wait_until(lambda s=source: len(cluster.recorders[s].changes) >= OPERATIONS.get(s, 0), CATCH_UP_S,
                   f"the workload's {source} changes on the topic", interval=1)
    state = {"mm": [], "endpoints": []}

    def done():
        if not cluster.running():
            raise AssertionError("no instance running")
        state["mm"] = meter_master_problems(cluster, shadow)
        state["endpoints"] = [problem for source in TOPICS for problem in
                              delivery_problems(source, cluster.endpoints[source],
                                                cluster.recorders[source].of(touched[source]))]
        return not state["mm"] and not state["endpoints"]

    try:
        wait_until(done, CATCH_UP_S, "Meter Master and the endpoints to hold every change", interval=3)
    except AssertionError as e:
        logs = "\n".join(f"--- {ms.config.parent.name}\n{ms.log_tail(15)}" for ms in cluster.instances)
        raise AssertionError(f"{e}\nMeter Master: {len(state['mm'])} differences: {state['mm'][:15]}\n"
                             f"endpoints: {len(state['endpoints'])} problems: {state['endpoints'][:15]}\n{logs}") from None
    # Every record of both topics covered exactly once by the offsets table, whichever instance
    # wrote it: a batch applied by two owners of one partition would count twice.
    rows = offsets(cluster.sink, cluster.names)
    for source, topic in TOPICS.items():
        mine = [r for r in rows if r["pipeline"] == cluster.names.group(source) and r["topic"] == topic]
        assert {r["partition"] for r in mine} == set(range(PARTITIONS)), mine
        upto = {r["partition"]: r["next_offset"] for r in mine}
        applied = sum(r["records_applied"] for r in mine)
        assert applied == topic_record_counts(cluster.stack["KAFKA_BOOTSTRAP"], topic, upto), (source, upto)


@pytest.fixture(scope="module")
def shadow(stack):
    with DeletedRowShadow() as s:
        yield s


class Workload:
    """The load generator on both sources in a thread, in small rounds until stopped."""

    def __init__(self, stack: dict, seed: int):
        self.touched: dict[str, set[str]] = {s: set() for s in TOPICS}
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(stack, seed), name="workload")
        self._thread.start()

    def _run(self, stack, seed) -> None:
        try:
            rounds = 0
            # Bounded: at most 200 rounds of 40 changes per source.
            while not self._stop.is_set() and rounds < 200:
                for source, keys in load(stack, 40, seed=seed + rounds).items():
                    self.touched[source] |= keys
                rounds += 1
                time.sleep(0.2)
        except BaseException as e:  # reported in the test thread
            self.errors.append(e)

    def stop(self) -> dict[str, set[str]]:
        self._stop.set()
        self._thread.join(timeout=300)
        assert not self._thread.is_alive(), "the workload did not stop"
        assert not self.errors, self.errors
        return self.touched


def test_two_then_three_instances_split_every_group_and_apply_each_change_once(stack, shadow, cluster):
    first = cluster.add()
    first.start()
    workload = Workload(stack, seed=300)
    try:
        # One instance: it holds every partition of the four groups.
        wait_split(cluster, "the first instance to hold every partition")
        second = cluster.add()
        second.start()
        two = wait_split(cluster, "two instances to split every group")
        third = cluster.add()
        third.start()
        three = wait_split(cluster, "three instances to split every group")
        # Three partitions, three instances: one each in every group.
        for (destination, source), held in three.items():
            assert sorted(len(v) for v in held.values()) == [1] * PARTITIONS, (destination, source, held)
        print(f"two instances: {two}\nthree instances: {three}")

        # What /metrics says of one instance: its id and the partitions it holds, per destination.
        def series(text: str, name: str) -> dict[str, float]:
            return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines() if line.startswith(name + "{")}

        code, text = third.get("/metrics")
        assert code == 200
        assert series(text, "metersync_instance_info") == {
            f'metersync_instance_info{{instance_id="{cluster.instance_id(3)}"}}': 1.0}
        assigned = series(text, "metersync_partition_assigned")
        status = third.status()
        for source, s in status["sources"].items():
            shown = {k for k in assigned if 'destination="meter_master"' in k and f'source="{source}"' in k}
            assert shown == {f'metersync_partition_assigned{{destination="meter_master",partition="{p}",'
                             f'source="{source}"}}' for p in s["partitions"]}, (source, s["partitions"], shown)
    finally:
        touched = workload.stop()
    settle(cluster, shadow, touched)
    for ms in cluster.running():
        assert ms.stop() == 0, ms.log_tail()


def test_an_instance_killed_and_restarted_under_load_hands_its_partitions_over(stack, shadow, cluster):
    for _ in range(3):
        cluster.add().start()
    workload = Workload(stack, seed=600)
    try:
        wait_split(cluster, "three instances to split every group")
        victim = cluster.instances[1]
        # SIGKILL while it writes: its partitions go to the other two once the group gives up on
        # it (session.timeout.ms), and nothing it had not committed is lost.
        wait_until(lambda: (s := victim.status()) and s["sources"]["postgres"]["records_applied"] > 0,
                   CATCH_UP_S, "the victim to apply something", interval=1)
        victim.kill()
        wait_split(cluster, "the two survivors to take the killed instance's partitions")
        # Back with the same instance_id: it rejoins and gets a share again.
        victim.start()
        wait_split(cluster, "the restarted instance to get its share back")
        # Scaling down: a SIGTERMed instance leaves; the others take over.
        assert cluster.instances[2].stop() == 0
        wait_split(cluster, "two instances after one stopped")
    finally:
        touched = workload.stop()
    settle(cluster, shadow, touched)
    for ms in cluster.running():
        assert ms.stop() == 0, ms.log_tail()
