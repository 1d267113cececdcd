"""metersync against the real stack: after a random mixed workload on PostgreSQL and MariaDB, Meter
Master equals the spec's mapping of both source tables row for row, also when metersync is SIGKILLed
again and again while the workload runs; and the offsets table then counts every record on the two
topics exactly once.

Each test has its own sink tables and consumer groups (metersync_harness.Names), reads both topics
from their beginning (snapshot and every change since), and ends its metersync process.
"""
from __future__ import annotations

import random
import threading
import time

import pytest

import loadgen
from metersync_harness import (DeletedRowShadow, MeterSync, Names, compare, drop_sink_tables,
                               expected_mariadb, expected_postgres, meter_master, offsets, sink_connect,
                               topic_record_counts, wait_until)

TOPICS = {"postgres": "postgres.public.meter", "mysql": "mysql.meterdb.meters"}
# Bound for catching up: both topics from the beginning on a shared 2-core machine.
CATCH_UP_S = 600


@pytest.fixture(scope="module")
def shadow(stack):
    # Module-wide: a later test reads the topics from the beginning, so it meets the earlier
    # tests' deletions too and needs their last values.
    with DeletedRowShadow() as s:
        yield s


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
    _delete_groups(stack, names)


def _delete_groups(env, names: Names) -> None:
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})
    futures = admin.delete_consumer_groups([names.group(s) for s in TOPICS], request_timeout=15)
    for f in futures.values():
        try:
            f.result()
        except Exception:  # a group that never committed does not exist: nothing to delete
            pass


def _differences(env, sink, names: Names, shadow: DeletedRowShadow) -> list[str]:
    actual = meter_master(sink, names)
    return (compare(expected_postgres(env, shadow), actual, "postgres")
            + compare(expected_mariadb(env, shadow), actual, "mysql"))


def _high_watermarks(env, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": "it-watermarks"})
    try:
        partitions = c.list_topics(topic, timeout=30).topics[topic].partitions
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
    finally:
        c.close()


def _settle(env, sink, ms: MeterSync, shadow: DeletedRowShadow) -> list[str]:
    """Waits until Meter Master equals the mapped source tables, or until metersync has covered
    every record on both topics and the topics stopped growing (then the differences are final).
    Returns the differences ([] when equal)."""
    state = {"diffs": [], "watermarks": None, "quiet": 0}

    def settled():
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        state["diffs"] = _differences(env, sink, ms.names, shadow)
        if not state["diffs"]:
            return True
        marks = {t: _high_watermarks(env, t) for t in TOPICS.values()}
        stored = {(r["topic"], r["partition"]): r["next_offset"] for r in offsets(sink, ms.names)
                  if r["pipeline"] in (ms.names.group(s) for s in TOPICS)}
        covered = all(stored.get((t, p), 0) == high for t, m in marks.items() for p, high in m.items())
        state["quiet"] = state["quiet"] + 1 if covered and marks == state["watermarks"] else 0
        state["watermarks"] = marks
        return state["quiet"] >= 3

    try:
        wait_until(settled, CATCH_UP_S, "Meter Master to equal the mapped source tables", interval=3)
    except AssertionError as e:
        raise AssertionError(f"{e}; {len(state['diffs'])} differences, first ones:\n"
                             + "\n".join(state["diffs"][:25]) + f"\nmetersync log:\n{ms.log_tail()}") from None
    return state["diffs"]


def _assert_no_differences(diffs: list[str], seed: int) -> None:
    assert not diffs, (f"Meter Master differs from the spec's mapping of the source tables (workload seed {seed}) "
                       f"in {len(diffs)} rows:\n" + "\n".join(diffs[:25]))


def _workload(env, seed: int, count: int, rate: float, working_set: int):
    return loadgen.run_many(["postgres", "mariadb"], env, rate=rate, count=count, seed=seed,
                            working_set=working_set, batch=1)


def _assert_healthy(ms: MeterSync) -> None:
    status = wait_until(ms.status, 30, "the status file")
    for source in TOPICS:
        s = status["sources"][source]
        assert s["state"] in ("running", "stopped"), f"{source}: {s}"


def test_random_workload_lands_row_for_row(stack, shadow, sink, metersync):
    seed = random.randrange(1 << 30)
    metersync.start()
    counts = _workload(stack, seed, count=2500, rate=0, working_set=150)
    print(f"workload seed {seed}: " + "; ".join(str(c) for c in counts))
    for c in counts:
        assert c.inserts > 0 and c.updates > 0 and c.deletes > 0, f"workload too small: {c}"
        # Repeated updates to the same meters: far more updates than meters touched by them.
        assert c.updates > 2 * 150, c

    diffs = _settle(stack, sink, metersync, shadow)
    _assert_no_differences(diffs, seed)

    # Every key the workload touched is in Meter Master, deleted ones flagged.
    actual = meter_master(sink, metersync.names)
    for c in counts:
        system = "postgres" if c.target == "postgres" else "mysql"
        for key in c.keys:
            row = actual.get((system, key))
            assert row is not None, f"{system} key {key} (workload seed {seed}) not in Meter Master"
            assert row["IsDeleted"] == (key in c.deleted), (system, key, row)
    _assert_healthy(metersync)
    assert metersync.stop() == 0, metersync.log_tail()


def test_sigkill_during_workload_loses_nothing_and_applies_nothing_twice(stack, shadow, sink, metersync):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    results: list = []
    errors: list[BaseException] = []

    def work():
        try:
            results.extend(_workload(stack, seed, count=2000, rate=200, working_set=100))
        except BaseException as e:  # reported in the test thread
            errors.append(e)

    metersync.start()
    load = threading.Thread(target=work, name="workload")
    load.start()
    kills = 0
    # Kill at random instants: while it catches up on the topics' history, and while the workload runs.
    while load.is_alive() or kills < 4:
        time.sleep(rng.uniform(0.5, 3.0))
        metersync.kill()
        kills += 1
        metersync.start()
    load.join()
    assert not errors, errors
    print(f"workload seed {seed}, {kills} SIGKILLs: " + "; ".join(str(r) for r in results))
    assert kills >= 4

    diffs = _settle(stack, sink, metersync, shadow)

    # The offsets table counts every record of both topics once: records covered == records that
    # exist below the stored next offset of every partition.
    rows = offsets(sink, metersync.names)
    for source, topic in TOPICS.items():
        mine = [r for r in rows if r["pipeline"] == metersync.names.group(source) and r["topic"] == topic]
        assert mine, f"no offsets stored for {source}: {rows}"
        upto = {r["partition"]: r["next_offset"] for r in mine}
        applied = sum(r["records_applied"] for r in mine)
        on_topic = topic_record_counts(stack["KAFKA_BOOTSTRAP"], topic, upto)
        assert applied == on_topic, (f"{source}: records_applied {applied} but {on_topic} records on {topic} "
                                     f"below {upto} (seed {seed})")
    _assert_no_differences(diffs, seed)
    _assert_healthy(metersync)
    assert metersync.stop() == 0, metersync.log_tail()
