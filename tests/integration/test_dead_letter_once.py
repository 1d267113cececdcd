"""Dead letters exactly once, as seen by a consumer of a dead-letter topic (issue 15).

A dead letter is acknowledged by Kafka before the progress past its record is stored (the sink's
transaction, or the endpoint group's offset). A crash between the two sends it again after the
restart: Kafka cannot take part in the sink's transaction, so the second copy cannot be prevented,
only recognised. Every dead letter carries its identity, `metersync.dead_letter.id`
(`<source topic>/<partition>/<offset>`; an endpoint batch `<topic>/<partition>/<first>-<last>`),
and both copies carry the same one, with the same key, value and headers: a consumer that
de-duplicates on the identity counts the dead letter once, and `metersync replay` does.

The crash is made exact with the failpoints compiled into metersync (core/failpoint.hpp):
METERSYNC_FAILPOINT=dead-letter-flushed,endpoint-dead-letter-flushed stops each destination's
thread right after its first dead letter is acknowledged and before the progress past it is
stored; the test sees both dead letters on their topics, then SIGKILLs the process.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from metersync_harness import REPO, meter_master, wait_until
from test_dispatch_endpoint import rig  # noqa: F401  (the fixture: endpoint services and metersync)
from test_metersync_poison import _insert_pg_meter, _produce

PG_TOPIC = "postgres.public.meter"
DLQ_TOPICS = (PG_TOPIC + ".dlq", PG_TOPIC + ".endpoint.dlq")
FAILPOINTS = ("dead-letter-flushed", "endpoint-dead-letter-flushed")
WAIT_S = 600


def _ends(bootstrap: str, topic: str) -> dict[int, int]:
    """The high watermark of each partition of `topic` ({} when it does not exist yet)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}"})
    try:
        md = c.list_topics(topic, timeout=30).topics.get(topic)
        if md is None or md.error is not None:
            return {}
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in md.partitions}
    finally:
        c.close()


def _letters_since(bootstrap: str, topic: str, start: dict[int, int]) -> list[tuple[bytes, bytes, dict]]:
    """Every record of `topic` from `start` (partition -> offset; missing: the beginning) to the
    current end: (key, value, headers)."""
    from confluent_kafka import Consumer, TopicPartition
    ends = _ends(bootstrap, topic)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}", "enable.auto.commit": False})
    out = []
    try:
        todo = {p: end for p, end in ends.items() if end > start.get(p, 0)}
        c.assign([TopicPartition(topic, p, start.get(p, 0)) for p in todo])
        for _ in range(100_000):
            if not todo:
                break
            msg = c.poll(1.0)
            if msg is None or msg.error():
                continue
            out.append((msg.key(), msg.value(), {k: v.decode() for k, v in (msg.headers() or [])}))
            if msg.offset() + 1 >= todo.get(msg.partition(), 0):
                todo.pop(msg.partition(), None)
        assert not todo, f"{topic}: partitions {sorted(todo)} not read to their end"
        return out
    finally:
        c.close()


def test_a_crash_between_dead_letter_flush_and_commit_repeats_the_identity(stack, rig):
    endpoints, ms, _, sink = rig
    bootstrap = stack["KAFKA_BOOTSTRAP"]
    start = {topic: _ends(bootstrap, topic) for topic in DLQ_TOPICS}
    marker = uuid.uuid4().hex
    poison_at = _produce(bootstrap, PG_TOPIC, b'{"once": "' + marker.encode() + b'"}',
                         b'{"payload": not JSON ' + marker.encode())
    poison_id = f"{PG_TOPIC}/{poison_at[0]}/{poison_at[1]}"

    # First run: each destination stops right after its first dead letter is acknowledged (an
    # earlier test's poison on the topic, or this one); then SIGKILL.
    ms.env["METERSYNC_FAILPOINT"] = ",".join(FAILPOINTS)
    ms.start()

    def both_stopped():
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        log = ms.log_path.read_text()
        return all(f"failpoint {name} reached" in log for name in FAILPOINTS)
    wait_until(both_stopped, WAIT_S, "both destinations stopped after a dead letter's flush", interval=1)
    first = {topic: _letters_since(bootstrap, topic, start[topic]) for topic in DLQ_TOPICS}
    for topic in DLQ_TOPICS:
        assert first[topic], f"{topic}: the dead letter flushed before the failpoint is not on the topic"
    ms.kill()

    # Second run, no failpoint: each destination resumes from its stored progress, before the
    # dead letter, and sends it again.
    del ms.env["METERSYNC_FAILPOINT"]
    ms.start()
    after = _insert_pg_meter(stack)

    def arrived():
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        if ("postgres", after) not in meter_master(sink, ms.names):
            return False
        return any(e["meter"] and e["meter"]["sourceMeterId"] == after
                   for e in endpoints["postgres"].history("postgres"))
    wait_until(arrived, WAIT_S, "the change made after the restart, in Meter Master and at the endpoint", interval=3)
    ms.wait_for_status(lambda s: s["sources"]["postgres"]["records_dead_lettered"] >= 1, WAIT_S,
                       "the dead letters committed past")

    for topic in DLQ_TOPICS:
        letters = _letters_since(bootstrap, topic, start[topic])
        by_id: dict[str, list[tuple[bytes, bytes, dict]]] = {}
        for key, value, headers in letters:
            identity = headers.get("metersync.dead_letter.id")
            assert identity, f"{topic}: a dead letter without its identity: {headers}"
            where = f'{headers["metersync.original.topic"]}/{headers["metersync.original.partition"]}/' \
                    f'{headers["metersync.original.offset"]}'
            assert identity == where or identity.startswith(where + "-"), (identity, headers)
            by_id.setdefault(identity, []).append((key, value, headers))
        # The dead letter flushed before the kill was sent again after the restart...
        repeated = [i for i, copies in by_id.items() if len(copies) > 1]
        assert repeated, f"{topic}: no dead letter was sent twice: the kill did not land between the steps"
        first_ids = {h["metersync.dead_letter.id"] for _, _, h in first[topic]}
        assert first_ids <= set(repeated), (topic, first_ids, repeated)
        # ...as the same dead letter: a consumer de-duplicating on the identity counts it once.
        for identity, copies in by_id.items():
            key, value, headers = copies[0]
            for other_key, other_value, other_headers in copies[1:]:
                assert (other_key, other_value) == (key, value), f"{topic}: copies of {identity} differ"
                for name in ("metersync.error.stage", "metersync.error.reason", "metersync.original.size"):
                    assert other_headers[name] == headers[name], (topic, identity, name)
        assert poison_id in by_id, f"{topic}: this test's poison was not dead-lettered"

    # replay reads the endpoint dead-letter topic, handling each identity once: the second copy of
    # the repeated dead letter is counted as a repeat, never handled (or posted) again.
    replay = [str(Path(os.environ.get("METERSYNC_BIN", REPO / "build" / "src" / "app" / "metersync"))),
              "--config", str(ms.config), "replay", "--source", "postgres"]
    run = subprocess.run(replay, env=ms.env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    repeats = int(run.stdout.split(" repeat(s)")[0].rsplit(" ", 1)[1])
    assert repeats >= 1, run.stdout
    assert ms.stop() == 0, ms.log_tail()
