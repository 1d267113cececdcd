"""Debezium PostgreSQL change events for the throughput benchmark, in the connector's exact shape.

The shape is taken from real messages: `capture_templates` reads one message of each kind
(snapshot `r`, `c`, `u`, `d`) that Debezium wrote to the stack's PostgreSQL topic. A generated
message reuses the captured bytes of everything before the payload (the schema block, verbatim)
and writes the payload with the captured key order and the connector's value encodings; Kafka
Connect's JsonConverter writes compact JSON with non-ASCII characters as UTF-8, as
`json.dumps(..., separators=(",", ":"), ensure_ascii=False)` does. `Template.check_roundtrip`
proves that on the captured message itself: its payload, re-encoded, gives back its own bytes.

The workload (`Workload`): a snapshot of many meters (`r`), a few new meters (`c`), updates
concentrated on a working set, and deletes (each followed by a tombstone, as Debezium does).
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from pathlib import Path

PAYLOAD_MARK = b',"payload":'
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "debezium" / "captured" / "postgres"


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclasses.dataclass
class Template:
    """One captured message: its key and value bytes, split at the payload."""
    key: bytes
    value: bytes

    @functools.cached_property
    def value_prefix(self) -> bytes:
        i = self.value.index(PAYLOAD_MARK)
        return self.value[: i + len(PAYLOAD_MARK)]

    @functools.cached_property
    def key_prefix(self) -> bytes:
        i = self.key.index(PAYLOAD_MARK)
        return self.key[: i + len(PAYLOAD_MARK)]

    @functools.cached_property
    def payload(self) -> dict:
        """The captured payload; callers copy it before changing it."""
        return json.loads(self.value)["payload"]

    def check_roundtrip(self) -> None:
        again = self.value_prefix + compact(self.payload) + b"}"
        if again != self.value:
            raise AssertionError("re-encoding the captured payload does not give its bytes back")
        key_again = self.key_prefix + compact(json.loads(self.key)["payload"]) + b"}"
        if key_again != self.key:
            raise AssertionError("re-encoding the captured key does not give its bytes back")


def _kind(payload: dict) -> str | None:
    op = payload.get("op")
    if op == "r":
        return "r" if payload["source"].get("snapshot") in ("true", "first", "last") else None
    return op if op in ("c", "u", "d") else None


def capture_templates(bootstrap: str, topic: str, timeout_s: float = 30.0) -> dict[str, Template]:
    """One real message of each kind from `topic`; falls back to the committed fixtures
    (re-compacted) for a kind the topic does not hold."""
    from confluent_kafka import Consumer, TopicPartition
    import time

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-template-reader",
                         "enable.auto.commit": False})
    found: dict[str, Template] = {}
    try:
        meta = consumer.list_topics(topic, timeout=10)
        parts = list(meta.topics[topic].partitions) if topic in meta.topics else []
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        deadline = time.monotonic() + timeout_s
        while len(found) < 4 and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error() or msg.value() is None or msg.key() is None:
                continue
            try:
                payload = json.loads(msg.value())["payload"]
            except (ValueError, KeyError, TypeError):
                continue  # not a change event (others' tests write poison records here)
            kind = _kind(payload)
            if kind and kind not in found and payload["source"].get("snapshot") in ("true", "false"):
                found[kind] = Template(msg.key(), msg.value())
    finally:
        consumer.close()
    for kind, name in (("c", "create"), ("u", "update"), ("d", "delete")):
        if kind not in found:
            found[kind] = _fixture(name)
    if "r" not in found:
        raise RuntimeError(f"no snapshot event found on {topic}: is the stack up (./stack up)?")
    return found


def _fixture(name: str) -> Template:
    value = compact(json.loads((FIXTURES / f"{name}.json").read_text()))
    key = compact(json.loads((FIXTURES / f"{name}.key.json").read_text()))
    return Template(key, value)


# --- value encodings of the PostgreSQL connector (decimal.handling.mode=precise) -------------

def decimal_bytes(unscaled: int) -> str:
    """Kafka Connect Decimal: the unscaled value as big-endian two's complement, minimal length
    (Java BigInteger.toByteArray), base64."""
    length = max(1, (unscaled + (unscaled < 0)).bit_length() // 8 + 1)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def variable_decimal(value: Decimal) -> dict:
    sign, digits, exp = value.as_tuple()
    unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    return {"scale": -exp, "value": decimal_bytes(unscaled)}


def zoned(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


EPOCH = dt.date(1970, 1, 1)
KINDS = ("electric", "water", "gas")
MAKERS = ("Landis+Gyr", "Itron", "Elster", "Kamstrup", "Sensus", None)


def _row(rng: random.Random, meter_id: str, n: int) -> dict:
    kind = rng.choice(KINDS)
    installed = EPOCH + dt.timedelta(days=rng.randrange(9000, 20000))
    # Microseconds end in a non-zero digit: the connector prints six fraction digits.
    at = dt.datetime(2026, 1, 1) + dt.timedelta(seconds=rng.randrange(0, 28_000_000),
                                                microseconds=rng.randrange(0, 99_999) * 10 + 1)
    return {
        "meter_id": meter_id,
        "serial_number": f"{kind[0].upper()}-{installed.year}-{n:08d}",
        "kind": kind,
        "manufacturer": rng.choice(MAKERS),
        "active": rng.random() < 0.9,
        "removed_at": None,
        "installed_on": (installed - EPOCH).days,
        "multiplier": decimal_bytes(rng.choice((10000, 20000, 400000))),
        "last_reading": variable_decimal(Decimal(rng.randrange(0, 10**9)).scaleb(-rng.choice((1, 2, 3, 4)))),
        "last_reading_at": zoned(at),
        "location": f'{{"lat": {rng.uniform(35, 70):.6f}, "lon": {rng.uniform(-10, 30):.6f}}}',
    }


def _update(rng: random.Random, row: dict) -> dict:
    new = dict(row)
    new["last_reading"] = variable_decimal(Decimal(rng.randrange(0, 10**9)).scaleb(-rng.choice((1, 2, 3, 4))))
    new["last_reading_at"] = zoned(dt.datetime(2026, 11, 1) + dt.timedelta(
        seconds=rng.randrange(0, 2_000_000), microseconds=rng.randrange(0, 99_999) * 10 + 1))
    if rng.random() < 0.05:
        new["active"] = not row["active"]
    return new


@dataclasses.dataclass
class Mix:
    snapshot: float = 0.20
    create: float = 0.03
    delete: float = 0.05
    working_set: float = 0.10   # share of the meters that receive the updates


@dataclasses.dataclass
class Summary:
    events: int = 0          # change events (r, c, u, d)
    tombstones: int = 0
    snapshot: int = 0
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    bytes: int = 0
    meters: int = 0          # distinct keys ever written
    live: int = 0            # keys not deleted at the end


class Workload:
    """Generates `events` change events as (key bytes, value bytes or None, meter_id)."""

    def __init__(self, templates: dict[str, Template], events: int, seed: int = 5, mix: Mix | None = None):
        self.t = templates
        self.n = events
        self.rng = random.Random(seed)
        self.mix = mix or Mix()
        self.summary = Summary()
        self.live: dict[str, dict] = {}
        self.order: list[str] = []  # live keys, for picking
        self.lsn = 900_000_000
        self.tx = 100_000
        self.ts_ms = 1_796_000_000_000
        # Called with (row, deleted, source ts_ms, lsn) for every change event: the ceiling
        # part writes the Meter Master row of each event from it.
        self.on_change = None

    def _source(self, template: Template, snapshot: str, lsn_pair: str) -> dict:
        src = dict(template.payload["source"])
        self.ts_ms += 1
        src.update(ts_ms=self.ts_ms, snapshot=snapshot, ts_us=self.ts_ms * 1000, ts_ns=self.ts_ms * 1_000_000,
                   txId=self.tx, lsn=self.lsn, sequence=lsn_pair)
        return src

    def _message(self, kind: str, before, after, snapshot: str) -> tuple[bytes, bytes]:
        tpl = self.t[kind]
        self.lsn += 328
        self.tx += 1
        pair = f'[null,"{self.lsn}"]' if kind == "r" else f'["{self.lsn - 328}","{self.lsn}"]'
        payload = dict(tpl.payload)
        payload["before"] = before
        payload["after"] = after
        payload["source"] = self._source(tpl, snapshot, pair)
        ts = self.ts_ms + 40
        payload["ts_ms"], payload["ts_us"], payload["ts_ns"] = ts, ts * 1000, ts * 1_000_000 + 123
        meter_id = (after or before)["meter_id"]
        if self.on_change:
            self.on_change(after or before, after is None, self.ts_ms, self.lsn)
        key = tpl.key_prefix + compact({"meter_id": meter_id}) + b"}"
        return key, tpl.value_prefix + compact(payload) + b"}"

    def __iter__(self):
        s, rng, m = self.summary, self.rng, self.mix
        n_snap = max(1, int(self.n * m.snapshot))
        for i in range(n_snap):
            mid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            row = _row(rng, mid, i)
            snap = "first" if i == 0 else ("last" if i == n_snap - 1 else "true")
            key, value = self._message("r", None, row, snap)
            self.live[mid] = row
            self.order.append(mid)
            s.snapshot += 1
            yield key, value
        working = self.order[-max(1, int(len(self.order) * m.working_set)):]
        rest = self.n - n_snap
        p_create, p_delete = m.create / (1 - m.snapshot), m.delete / (1 - m.snapshot)
        serial = n_snap
        for _ in range(rest):
            r = rng.random()
            if r < p_create or not working:
                mid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                row = _row(rng, mid, serial)
                serial += 1
                self.live[mid] = row
                working.append(mid)
                s.creates += 1
                yield self._message("c", None, row, "false")
            elif r < p_create + p_delete:
                # Deletes hit any live meter, most outside the working set.
                pool = working if rng.random() < 0.2 else self.order
                mid = pool[rng.randrange(len(pool))]
                while mid not in self.live:
                    mid = self.order[rng.randrange(len(self.order))]
                row = self.live.pop(mid)
                s.deletes += 1
                key, value = self._message("d", row, None, "false")
                yield key, value
                s.tombstones += 1
                yield key, None
            else:
                mid = working[rng.randrange(len(working))]
                while mid not in self.live:  # deleted: another one
                    mid = working[rng.randrange(len(working))]
                new = _update(rng, self.live[mid])
                key, value = self._message("u", self.live[mid], new, "false")
                self.live[mid] = new
                s.updates += 1
                yield key, value
        s.events = s.snapshot + s.creates + s.updates + s.deletes
        s.meters = s.snapshot + s.creates
        s.live = len(self.live)


def _unscaled_decimal(b64: str, scale: int) -> Decimal:
    return Decimal(int.from_bytes(base64.b64decode(b64), "big", signed=True)).scaleb(-scale)


def meter_master_row(row: dict, deleted: bool, ts_ms: int, lsn: int) -> list:
    """The Meter Master row of one event under the shipped PostgreSQL mapping
    (config/metersync.yaml), as COPY text fields; SyncedAt is left to the database."""
    from decimal import ROUND_HALF_UP
    lr = row["last_reading"]
    reading = None if lr is None else _unscaled_decimal(lr["value"], lr["scale"]).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_UP)
    loc = json.loads(row["location"]) if row["location"] else {}
    status = "removed" if row["removed_at"] else ("active" if row["active"] else "inactive")
    committed = dt.datetime.fromtimestamp(ts_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return ["postgres", row["meter_id"], row["serial_number"], row["kind"], row["manufacturer"], status,
            (EPOCH + dt.timedelta(days=row["installed_on"])).isoformat() if row["installed_on"] is not None else None,
            str(_unscaled_decimal(row["multiplier"], 4)), None if reading is None else str(reading),
            row["last_reading_at"].replace("T", " ").rstrip("Z") if row["last_reading_at"] else None,
            None if loc.get("lat") is None else str(Decimal(str(loc["lat"])).quantize(Decimal("0.000001"), ROUND_HALF_UP)),
            None if loc.get("lon") is None else str(Decimal(str(loc["lon"])).quantize(Decimal("0.000001"), ROUND_HALF_UP)),
            "t" if deleted else "f", committed, f"{lsn:020d}"]
