"""Delivery of every change to its database's API endpoint, against the real stack.

Each test starts its own endpoint services (metersync-endpoint, one per source here, so one can be
taken down while the other keeps receiving) and its own metersync (fresh sink tables and consumer
groups, metersync_harness.Names), runs the load generator on PostgreSQL and MariaDB, and checks what
arrived against the change topics themselves, decoded here in Python independently of the C++
decoder: for every meter the workload touched, the endpoint's history of that meter ends with
exactly the topic's changes of that meter, in topic order, each once, with the mapped `meter` and
the decoded `before` / `after`.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import requests

import loadgen
from metersync_harness import REPO, MeterSync, free_port, Names, drop_sink_tables, meter_master, sink_connect, wait_until

TOPICS = {"postgres": "postgres.public.meter", "mysql": "mysql.meterdb.meters"}
TARGET_OF = {"postgres": "postgres", "mysql": "mariadb"}
SECRET = "it-signing-secret"
INGEST_TOKEN = "it-ingest-token"
READ_TOKEN = "it-read-token"
# Bound for catching up: both topics from their beginning on a shared 2-core machine.
CATCH_UP_S = 600
OPS = {"c": "create", "u": "update", "d": "delete", "r": "snapshot", "t": "truncate"}


def endpoint_binary() -> Path:
    path = Path(os.environ.get("METERSYNC_ENDPOINT_BIN",
                               REPO / "build" / "src" / "endpoint" / "metersync-endpoint"))
    if not path.exists():
        raise AssertionError(f"metersync-endpoint not found at {path}: build it or set METERSYNC_ENDPOINT_BIN")
    return path


class EndpointService:
    """One metersync-endpoint process on a fixed port (so it can be restarted where metersync
    expects it) with its own database; every process it starts is ended by stop()/close()."""

    def __init__(self, directory: Path, name: str, secret: str = SECRET, args: tuple[str, ...] = ()):
        self.port = free_port()
        self.secret = secret
        self.args = args
        self.db = directory / f"endpoint-{name}.db"
        self.log = directory / f"endpoint-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {READ_TOKEN}"

    def start(self) -> None:
        assert self.proc is None
        env = {**os.environ, "METERSYNC_ENDPOINT_SECRET": self.secret, "METERSYNC_ENDPOINT_TOKEN": READ_TOKEN,
               "METERSYNC_ENDPOINT_INGEST_TOKEN": INGEST_TOKEN}
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [str(endpoint_binary()), "--port", str(self.port), "--db", str(self.db), "--admin",
                 "--sources", "postgres,mysql", *self.args],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(self._healthy, 30, f"endpoint service on port {self.port}", interval=0.2)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"metersync-endpoint exited: {self.log.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None
        self.session.close()

    def fault(self, source: str, spec: str | None) -> None:
        if spec is None:
            r = self.session.delete(f"{self.url}/admin/faults/{source}", timeout=10)
        else:
            r = self.session.put(f"{self.url}/admin/faults/{source}", data=spec, timeout=10)
        assert r.status_code == 200, r.text

    def history(self, source: str) -> list[dict]:
        """Every event stored for `source`, in the order received."""
        events, cursor = [], "0"
        while True:
            r = self.session.get(f"{self.url}/v1/sources/{source}/changes",
                                 params={"after": cursor, "limit": 1000}, timeout=30)
            assert r.status_code == 200, r.text
            page = r.json()
            events += [c["event"] for c in page["changes"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return events

    def total(self, source: str) -> int:
        r = self.session.get(f"{self.url}/v1/sources/{source}/changes", params={"limit": 1}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["total"]


# ---------------------------------------------------------------------------------------------
# The topic, decoded here (Debezium JSON with schemas)

def _instant(text: str):
    import datetime as dt
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _decimal(unscaled_b64: str, scale: int) -> Decimal:
    unscaled = int.from_bytes(base64.b64decode(unscaled_b64), "big", signed=True)
    return Decimal(unscaled).scaleb(-scale)


def wire_value(value, field: dict):
    """A Debezium wire value, decoded here, as a comparable Python value."""
    import datetime as dt
    if value is None:
        return None
    name = field.get("name", "")
    if name == "org.apache.kafka.connect.data.Decimal":
        return _decimal(value, int(field["parameters"]["scale"]))
    if name == "io.debezium.data.VariableScaleDecimal":
        return _decimal(value["value"], int(value["scale"]))
    if name in ("io.debezium.time.Date", "org.apache.kafka.connect.data.Date"):
        return (dt.date(1970, 1, 1) + dt.timedelta(days=value)).isoformat()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    if name in ("io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp"):
        return epoch + dt.timedelta(milliseconds=value)
    if name == "io.debezium.time.MicroTimestamp":
        return epoch + dt.timedelta(microseconds=value)
    if name == "io.debezium.time.ZonedTimestamp":
        return _instant(value)
    if name == "io.debezium.data.Json":
        return json.loads(value)
    return value


def endpoint_value(value, field: dict):
    """The endpoint's value of the same column, as a comparable Python value; exact decimals must
    come as strings, instants as ISO 8601 (never Debezium's encodings)."""
    if value is None:
        return None
    name = field.get("name", "")
    if name in ("org.apache.kafka.connect.data.Decimal", "io.debezium.data.VariableScaleDecimal"):
        assert isinstance(value, str), f"{field['field']}: decimal sent as {value!r}"
        return Decimal(value)
    if name in ("io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp",
                "io.debezium.time.MicroTimestamp", "io.debezium.time.ZonedTimestamp"):
        assert isinstance(value, str) and value.endswith("Z"), f"{field['field']}: instant sent as {value!r}"
        return _instant(value)
    return value


def rows_differ(endpoint_row: dict | None, wire_row: dict | None, fields: dict) -> bool:
    if endpoint_row is None or wire_row is None:
        return endpoint_row is not wire_row
    if list(endpoint_row) != list(wire_row):
        return True
    return any(endpoint_value(endpoint_row[k], fields[k]) != wire_value(v, fields[k]) for k, v in wire_row.items())


class TopicChange:
    def __init__(self, msg, source: str):
        value = json.loads(msg.value())
        key = json.loads(msg.key())
        key_fields = {f["field"]: f for f in key["schema"]["fields"]}
        key_column = "meter_id" if source == "postgres" else "id"
        self.meter_id = str(wire_value(key["payload"][key_column], key_fields[key_column]))
        payload = value["payload"]
        after_schema = next(f for f in value["schema"]["fields"] if f["field"] == "after")
        self.fields = {f["field"]: f for f in after_schema["fields"]}
        self.op = OPS[payload["op"]]
        self.before = payload["before"]
        self.after = payload["after"]


class TopicRecorder:
    """Reads a change topic from its current end in a thread, keeping every change."""

    def __init__(self, env: dict, source: str):
        from confluent_kafka import Consumer, TopicPartition
        self.source = source
        self.changes: list[TopicChange] = []
        self._stop = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": f"it-{uuid.uuid4()}",
                                   "enable.auto.commit": False})
        topic = TOPICS[source]
        md = self._consumer.list_topics(topic, timeout=30).topics[topic]
        assignment = []
        for p in sorted(md.partitions):
            _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            assignment.append(TopicPartition(topic, p, high))
        self._consumer.assign(assignment)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error() or msg.value() is None:
                continue
            try:
                self.changes.append(TopicChange(msg, self.source))
            except ValueError:
                continue  # a record that is not a change event (a test's poison): no change to expect

    def of(self, keys: set[str]) -> list[TopicChange]:
        return [c for c in list(self.changes) if c.meter_id in keys]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._consumer.close()


# ---------------------------------------------------------------------------------------------
# Comparing the endpoint with the topic

SERIAL = {"postgres": "serial_number", "mysql": "serial"}


def delivery_problems(source: str, endpoint: EndpointService, topic: list[TopicChange]) -> list[str]:
    """What is wrong with the endpoint's record of the topic's changes; [] when everything arrived
    once, in order, with the right meter and values."""
    wanted: dict[str, list[TopicChange]] = {}
    for change in topic:
        wanted.setdefault(change.meter_id, []).append(change)
    got: dict[str, list[dict]] = {}
    for event in endpoint.history(source):
        if event["meter"] is not None:
            got.setdefault(event["meter"]["sourceMeterId"], []).append(event)
    problems = []
    for meter_id, changes in wanted.items():
        events = got.get(meter_id, [])
        tail = events[-len(changes):] if len(events) >= len(changes) else events
        if len(tail) < len(changes):
            problems.append(f"{meter_id}: {len(changes)} changes on the topic, {len(tail)} at the endpoint")
            continue
        ids = [e["id"] for e in tail]
        if len(set(ids)) != len(ids):
            problems.append(f"{meter_id}: an event id repeats: {ids}")
        for i, (change, event) in enumerate(zip(changes, tail)):
            where = f"{meter_id} change {i + 1}/{len(changes)}"
            if event["op"] != change.op:
                problems.append(f"{where}: op {event['op']} where the topic has {change.op}")
                break
            if rows_differ(event["before"], change.before, change.fields) or \
                    rows_differ(event["after"], change.after, change.fields):
                problems.append(f"{where}: before/after {event['before']} / {event['after']} "
                                f"where the topic decodes to {change.before} / {change.after}")
                break
            row = change.after or change.before
            meter = event["meter"]
            if meter["sourceSystem"] != source or meter["sourceMeterId"] != meter_id:
                problems.append(f"{where}: meter {meter}")
            if change.op == "delete":
                if meter["isDeleted"] is not True:
                    problems.append(f"{where}: delete without isDeleted: {meter}")
            elif meter["serialNumber"] != row[SERIAL[source]] or \
                    Decimal(meter["multiplier"]) != wire_value(row["multiplier"], change.fields["multiplier"]):
                problems.append(f"{where}: meter {meter} does not map {row}")
            if not event["id"].startswith(f"{source}:{event['position']}:"):
                problems.append(f"{where}: id {event['id']} does not name source and position")
        # Positions of one meter's changes never go backwards.
        positions = [e["position"] for e in tail]
        if positions != sorted(positions):
            problems.append(f"{meter_id}: out of source order: {positions}")
    return problems


def wait_delivered(endpoint: EndpointService, ms: MeterSync, source: str, recorder: TopicRecorder,
                   keys: set[str], what: str) -> None:
    # The topic first: every change the workload made so far must have been seen there, or the
    # comparison would pass on a partial topic.
    wait_until(lambda: len(recorder.changes) >= OPERATIONS.get(source, 0), CATCH_UP_S,
               f"the workload's {source} changes on the topic", interval=1)
    last: list[list[str]] = [[]]

    def done():
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        last[0] = delivery_problems(source, endpoint, recorder.of(keys))
        return not last[0]

    try:
        wait_until(done, CATCH_UP_S, what, interval=3)
    except AssertionError as e:
        raise AssertionError(f"{e}\n" + "\n".join(last[0][:20]) + f"\nmetersync log:\n{ms.log_tail()}") from None


# ---------------------------------------------------------------------------------------------
# Fixtures

@pytest.fixture
def rig(stack, tmp_path):
    """Two endpoint services (postgres, mysql) and one metersync sending to them, tuned so that
    retries are quick and a retried batch is never dead-lettered during a one-minute outage."""
    endpoints = {s: EndpointService(tmp_path, s) for s in TOPICS}
    for e in endpoints.values():
        e.start()
    names = Names.fresh()
    env = {**stack, "METERSYNC_ENDPOINT_SECRET": SECRET, "METERSYNC_ENDPOINT_AUTH": f"Bearer {INGEST_TOKEN}"}
    ms = MeterSync(env, names, tmp_path)
    text = ms.config.read_text()
    for source, endpoint in endpoints.items():
        text, n = re.subn(r"\$\{ENDPOINT_URL:-[^}]*\}(/v1/sources/" + source + "/changes)",
                          endpoint.url + r"\1", text)
        assert n == 1, "config/metersync.yaml changed shape (endpoint url)"
    text, n = re.subn(r"^(\s+)(signing_secret:.*)$",
                      r"\1\2\n\1request_timeout_ms: 3000\n\1connect_timeout_ms: 1000\n\1retry_initial_ms: 100"
                      r"\n\1retry_max_ms: 2000\n\1max_attempts: 1000\n\1linger_ms: 20",
                      text, flags=re.MULTILINE)
    assert n >= 2, "config/metersync.yaml changed shape (signing_secret)"
    ms.config.write_text(text)
    sink = sink_connect(stack)
    recorders = {s: TopicRecorder(stack, s) for s in TOPICS}
    OPERATIONS.clear()
    yield endpoints, ms, recorders, sink
    for r in recorders.values():
        r.close()
    ms.close()
    for e in endpoints.values():
        e.close()
    drop_sink_tables(sink, names)
    sink.close()
    _delete_groups(stack, names)


def _delete_groups(env, names: Names) -> None:
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})
    groups = [names.group(s) for s in TOPICS] + [f"{names.group(s)}-endpoint" for s in TOPICS] \
        + [f"{names.group(s)}-endpoint-replay" for s in TOPICS]
    for f in admin.delete_consumer_groups(groups, request_timeout=15).values():
        try:
            f.result()
        except Exception:  # a group that never committed does not exist: nothing to delete
            pass


# Changes the load generator made, per source, over the whole test (to know when a topic
# recorder has seen them all).
OPERATIONS: dict[str, int] = {}
# Inserted keys come from the seed: a fresh base per session keeps reruns from repeating them.
SEED_BASE = uuid.uuid4().int % (1 << 30)


def load(stack, count: int, seed: int, targets=("postgres", "mysql")) -> dict[str, set[str]]:
    """Runs the load generator on the given sources at once; the keys each touched."""
    counts = loadgen.run_many([TARGET_OF[t] for t in targets], stack, rate=0, count=count,
                                seed=SEED_BASE + seed)
    by_target = {c.target: c for c in counts}
    for t in targets:
        c = by_target[TARGET_OF[t]]
        OPERATIONS[t] = OPERATIONS.get(t, 0) + c.inserts + c.updates + c.deletes
    return {t: set(by_target[TARGET_OF[t]].keys) for t in targets}


# ---------------------------------------------------------------------------------------------
# Tests

def test_every_change_arrives_once_in_order_with_meter_and_values(stack, rig):
    endpoints, ms, recorders, _ = rig
    ms.start()
    keys = load(stack, 150, seed=41)
    for source in TOPICS:
        wait_delivered(endpoints[source], ms, source, recorders[source], keys[source],
                       f"every {source} change at its endpoint")
        assert len(recorders[source].of(keys[source])) >= 150
    # Each route got only its own source.
    for source, endpoint in endpoints.items():
        other = "mysql" if source == "postgres" else "postgres"
        assert endpoint.total(other) == 0
    assert ms.stop() == 0


def test_outage_and_faults_delay_only_that_endpoint(stack, rig):
    endpoints, ms, recorders, sink = rig
    ms.start()
    keys = load(stack, 40, seed=42)
    wait_delivered(endpoints["postgres"], ms, "postgres", recorders["postgres"], keys["postgres"],
                   "postgres changes before the outage")

    # A real outage of the postgres endpoint, about a minute long. While it lasts, the mysql
    # endpoint and Meter Master must take in everything the workload does.
    outage_started = time.monotonic()
    endpoints["postgres"].stop()
    during = load(stack, 60, seed=43)
    received_before = None
    wait_delivered(endpoints["mysql"], ms, "mysql", recorders["mysql"], keys["mysql"] | during["mysql"],
                   "mysql endpoint to keep flowing during the postgres endpoint outage")

    def meter_master_caught_up():
        rows = meter_master(sink, ms.names)
        return all(("postgres", k) in rows for k in during["postgres"])
    wait_until(meter_master_caught_up, CATCH_UP_S, "Meter Master to keep flowing during the outage", interval=2)
    # Lag of the other two destinations, measured while the outage still lasts: none left.
    assert endpoints["postgres"].proc is None, "the outage must still be on while the others are measured"
    pending_pg = len(recorders["postgres"].of(during["postgres"]))
    assert pending_pg > 0
    mysql_lag = len(delivery_problems("mysql", endpoints["mysql"], recorders["mysql"].of(during["mysql"])))
    assert mysql_lag == 0
    time.sleep(max(0.0, 60 - (time.monotonic() - outage_started)))
    endpoints["postgres"].start()
    all_pg = keys["postgres"] | during["postgres"]
    wait_delivered(endpoints["postgres"], ms, "postgres", recorders["postgres"], all_pg,
                   "postgres changes after the outage")

    # 500s, 429 with Retry-After, and answers slower than the 3 s request timeout: retried until
    # delivered, nothing lost, nothing twice, the other endpoint untouched.
    for spec, seed in (("status:500:count=3", 44), ("status:429:retry_after=2:count=2", 45),
                       ("sleep:4000:count=2", 46)):
        endpoints["postgres"].fault("postgres", spec)
        more = load(stack, 20, seed=seed)
        all_pg |= more["postgres"]
        wait_delivered(endpoints["postgres"], ms, "postgres", recorders["postgres"], all_pg,
                       f"postgres changes through fault {spec}")
        wait_delivered(endpoints["mysql"], ms, "mysql", recorders["mysql"], more["mysql"],
                       f"mysql changes while postgres has fault {spec}")
    assert "retrying" in ms.log_path.read_text()
    assert ms.stop() == 0


def test_refused_batch_is_dead_lettered_and_replayed(stack, rig):
    from confluent_kafka import Consumer, TopicPartition
    endpoints, ms, recorders, _ = rig
    dlq = TOPICS["mysql"] + ".endpoint.dlq"
    reader = Consumer({"bootstrap.servers": stack["KAFKA_BOOTSTRAP"], "group.id": f"it-{uuid.uuid4()}",
                       "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        md = reader.list_topics(dlq, timeout=30).topics.get(dlq)
        start = {}
        if md is not None and md.error is None:
            for p in md.partitions:
                start[p] = reader.get_watermark_offsets(TopicPartition(dlq, p), timeout=30)[1]
        ms.start()
        # Let metersync catch up with the topic's history before the endpoint starts refusing.
        keys = load(stack, 5, seed=47, targets=("mysql",))
        wait_delivered(endpoints["mysql"], ms, "mysql", recorders["mysql"], keys["mysql"], "mysql history")
        endpoints["mysql"].fault("mysql", "status:400")
        refused = load(stack, 10, seed=48, targets=("mysql",))["mysql"]

        letters = []

        def dead_lettered():
            if not reader.assignment():
                topic = reader.list_topics(dlq, timeout=30).topics.get(dlq)
                if topic is None or topic.error is not None:
                    return False
                reader.assign([TopicPartition(dlq, p, start.get(p, 0)) for p in topic.partitions])
            msg = reader.poll(1.0)
            if msg is not None and not msg.error():
                letters.append(msg)
            body_ids = {e["meter"]["sourceMeterId"] for m in letters
                        for e in json.loads(m.value())["events"] if e["meter"]}
            return refused <= body_ids
        wait_until(dead_lettered, CATCH_UP_S, "the refused batches in the endpoint dead-letter topic", interval=0)
        for m in letters:
            headers = {k: v.decode() for k, v in (m.headers() or [])}
            assert headers["metersync.error.stage"] == "endpoint"
            assert headers["metersync.error.reason"].startswith("HTTP 400"), headers
            assert "injected fault status:400" in headers["metersync.error.reason"]
            assert json.loads(m.value())["batch_id"] == m.key().decode()
        # Nothing of them reached the endpoint, and the dispatcher did not stop for them.
        assert delivery_problems("mysql", endpoints["mysql"], recorders["mysql"].of(refused))

        # While the endpoint still refuses, replay keeps the batches; once it accepts, replay
        # delivers them, each change once.
        replay = [str(Path(os.environ.get("METERSYNC_BIN", REPO / "build" / "src" / "app" / "metersync"))),
                  "--config", str(ms.config), "replay", "--source", "mysql"]
        refused_run = subprocess.run(replay, env=ms.env, capture_output=True, text=True, timeout=300)
        assert refused_run.returncode == 1, refused_run.stdout + refused_run.stderr
        assert "still refused" in refused_run.stdout
        endpoints["mysql"].fault("mysql", None)
        accepted_run = subprocess.run(replay, env=ms.env, capture_output=True, text=True, timeout=300)
        assert accepted_run.returncode == 0, accepted_run.stdout + accepted_run.stderr
        wait_delivered(endpoints["mysql"], ms, "mysql", recorders["mysql"], keys["mysql"] | refused,
                       "the replayed changes at the mysql endpoint")
    finally:
        reader.close()
    assert ms.stop() == 0


def test_sigkill_during_dispatch_loses_nothing(stack, rig):
    endpoints, ms, recorders, _ = rig
    ms.start()
    stop = threading.Event()
    touched: dict[str, set[str]] = {s: set() for s in TOPICS}

    def work():
        seed = 50
        while not stop.is_set():
            for source, k in load(stack, 20, seed=seed).items():
                touched[source] |= k
            seed += 1

    worker = threading.Thread(target=work)
    worker.start()
    try:
        # SIGKILL while batches are being posted: the endpoint has some but not all changes.
        for _ in range(3):
            wait_until(lambda: endpoints["postgres"].total("postgres") > 0 and ms.running(), CATCH_UP_S,
                       "dispatch to be under way", interval=0.5)
            time.sleep(2)
            ms.kill()
            ms.start()
    finally:
        stop.set()
        worker.join()
    for source in TOPICS:
        wait_delivered(endpoints[source], ms, source, recorders[source], touched[source],
                       f"every {source} change after SIGKILLs")
    assert ms.stop() == 0


def test_altered_body_is_rejected_by_the_signature_check(rig):
    from datetime import datetime, timezone
    from standardwebhooks import Webhook
    endpoints, _, _, _ = rig
    endpoint = endpoints["postgres"]
    body = json.dumps({"source": "postgres", "batch_id": "postgres-0-1-1", "events": [{
        "id": "postgres:00000000/00000001:m-1", "op": "create", "committed_at": "2026-11-24T19:43:00.123Z",
        "position": "00000000/00000001", "meter": {"sourceSystem": "postgres", "sourceMeterId": "m-1"},
        "before": None, "after": {"multiplier": "1.0000"}}]}).encode()
    # SECRET is not in whsec_ form: its key is its own bytes, which the library takes as bytes.
    now = datetime.now(timezone.utc)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INGEST_TOKEN}",
               "webhook-id": "postgres-0-1-1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(SECRET.encode()).sign("postgres-0-1-1", now, body),
               "Idempotency-Key": "postgres-0-1-1"}
    altered = body.replace(b'"1.0000"', b'"9.0000"')
    r = requests.post(f"{endpoint.url}/v1/sources/postgres/changes", data=altered, headers=headers, timeout=10)
    assert r.status_code == 401, r.text
    assert "no entry matches" in r.json()["error"]
    assert endpoint.total("postgres") == 0
    r = requests.post(f"{endpoint.url}/v1/sources/postgres/changes", data=body, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert endpoint.history("postgres")[0]["after"] == {"multiplier": "1.0000"}


def test_foreign_table_event_has_one_fate_on_both_destinations(stack, rig):
    """An event of another table produced onto postgres.public.meter (Debezium's own bytes, only
    source.table and the meter id edited) is dead-lettered by both destinations, at stage map with
    the same reason: never stored as a meter by the endpoint while the table side refuses it."""
    from test_metersync_poison import _dead_letters, _insert_pg_meter, _produce, _real_envelope
    endpoints, ms, _, sink = rig
    bootstrap = stack["KAFKA_BOOTSTRAP"]
    topic = TOPICS["postgres"]
    real, raw = _real_envelope(bootstrap)
    old_id = real["payload"]["after"]["meter_id"].encode()
    assert raw.count(old_id) == 1 and raw.count(b'"table":"meter"') == 1, "the edited values appear once"
    foreign_id = str(uuid.uuid4())
    # Keyed as Debezium keys this topic, so every reader of the topic can parse it.
    key = json.dumps({"schema": {"type": "struct", "optional": False, "name": "postgres.public.meter.Key",
                                 "fields": [{"type": "string", "optional": False, "name": "io.debezium.data.Uuid",
                                             "version": 1, "field": "meter_id"}]},
                      "payload": {"meter_id": foreign_id}}).encode()
    value = raw.replace(old_id, foreign_id.encode()).replace(b'"table":"meter"', b'"table":"not_meter"')
    foreign_at = _produce(bootstrap, topic, key, value)

    ms.start()
    after_id = _insert_pg_meter(stack)

    def arrived_on_both():
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        stored = any((e.get("meter") or {}).get("sourceMeterId") == after_id
                     for e in endpoints["postgres"].history("postgres"))
        return stored and ("postgres", after_id) in meter_master(sink, ms.names)

    wait_until(arrived_on_both, CATCH_UP_S, "the change made after the foreign-table event, on both sides",
               interval=3)
    reason = "event of table 'not_meter' on the topic of table 'meter'"
    for dlq in (topic + ".dlq", topic + ".endpoint.dlq"):
        msg, headers = _dead_letters(bootstrap, dlq, {foreign_at: "map"})[foreign_at]
        assert headers["metersync.error.stage"] == "map", (dlq, headers)
        assert headers["metersync.error.reason"] == reason, (dlq, headers)
        assert msg.key() == key and msg.value() == value, f"{dlq}: the dead letter must carry the original record"
    assert ("postgres", foreign_id) not in meter_master(sink, ms.names)
    assert not [e for e in endpoints["postgres"].history("postgres")
                if (e.get("meter") or {}).get("sourceMeterId") == foreign_id
                or foreign_id in json.dumps(e.get("after"))], "the endpoint stored the foreign-table event"
    assert ms.stop() == 0
