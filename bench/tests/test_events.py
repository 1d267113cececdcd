"""The bench's event generator against the committed captured Debezium fixtures (no stack needed):
generated messages decode to the same schema, key order and field types, and the comparison
catches a message that differs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import events  # noqa: E402
import shape  # noqa: E402


def fixture_templates() -> dict:
    t = {k: events._fixture(n) for k, n in (("c", "create"), ("u", "update"), ("d", "delete"))}
    # a snapshot read has the create's shape with op "r"
    payload = json.loads(t["c"].value)
    payload["payload"]["op"] = "r"
    payload["payload"]["source"]["snapshot"] = "true"
    t["r"] = events.Template(t["c"].key, events.compact(payload))
    return t


def generated(n: int = 3000):
    templates = fixture_templates()
    w = events.Workload(templates, n, seed=3)
    return templates, w, list(w)


def test_fixture_payloads_reencode_to_their_own_bytes():
    for t in fixture_templates().values():
        t.check_roundtrip()


def test_generated_messages_have_the_captured_shape():
    templates, w, msgs = generated()
    kinds = set()
    for key, value in msgs:
        if value is None:
            continue
        kind = json.loads(value)["payload"]["op"]
        kinds.add(kind)
        t = templates[kind]
        assert shape.compare_one(t.key, t.value, key, value) == []
    assert kinds == {"r", "c", "u", "d"}
    s = w.summary
    assert s.events == 3000 and s.snapshot == 600
    assert sum(1 for _, v in msgs if v is None) == s.tombstones == s.deletes
    assert s.live == s.meters - s.deletes


def test_the_comparison_catches_a_changed_shape():
    templates, _, msgs = generated(200)
    key, value = next((k, v) for k, v in msgs if v is not None and json.loads(v)["payload"]["op"] == "u")
    t = templates["u"]
    bad = json.loads(value)
    bad["payload"]["after"]["active"] = "yes"  # a string where the connector writes a boolean
    assert any("active" in p for p in shape.compare_one(t.key, t.value, key, events.compact(bad)))
    bad = json.loads(value)
    bad["schema"]["fields"][0]["optional"] = False
    assert "value schema differs" in shape.compare_one(t.key, t.value, key, events.compact(bad))


def test_decimal_encodings_match_java_biginteger():
    # BigInteger.valueOf(10000).toByteArray() = [0x27, 0x10]; 400000 -> [0x06, 0x1A, 0x80]; -1 -> [0xFF]; 128 -> [0x00, 0x80]
    assert events.decimal_bytes(10000) == "JxA="
    assert events.decimal_bytes(400000) == "BhqA"
    assert events.decimal_bytes(-1) == "/w=="
    assert events.decimal_bytes(128) == "AIA="
    assert events.decimal_bytes(0) == "AA=="
