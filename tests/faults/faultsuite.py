"""The fault suite: what metersync survives, with figures (issue 15, item 3).

One metersync group (fresh sink tables, fresh consumer groups), one endpoint service taking both
sources' changes, a TCP relay between metersync and the sink database, and the load generator on
both sources. Each fault runs under that load: load, fault, heal, recovery, load stopped, then the
verdict:

- Meter Master compared column by column with the source tables (metersync_harness's
  expected_postgres / expected_mariadb + compare: the spec's mapping written again in Python, with
  the last values of every row the load deleted);
- every change the topics carried during the fault's window at the endpoint exactly once and, per
  meter, in source position order (the event id `<source>:<position>:<meter>` is computed here from
  the topic record, so it is known independently of metersync);
- MariaDB: every row event of meterdb.meters in the binlog since the fault's start is on the topic
  (the question of the ~196 updates once missing after a stack restart);
- the lag of both sources, sampled once a second from outside metersync (the topics' end offsets
  against the sink's offsets table and the endpoint group's committed offsets), so the other
  source's lag shows whether it was disturbed.

The suite prints one table (`table()`), stored with the figures under .local/faults/.
`tests/faults/run` runs it; `--long` the long version (every fault, longer); docs/reliability.md.

Every loop is bounded in count and time; all traffic is on 127.0.0.1.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for _p in (REPO / "cdcstack", REPO / "tests" / "integration"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import loadgen  # noqa: E402
import stackenv  # noqa: E402
from metersync_harness import (CuttableRelay, DeletedRowShadow, MeterSync, Names, compare,  # noqa: E402
                               drop_sink_tables, expected_mariadb, expected_postgres, meter_master,
                               sink_connect, wait_until)
from test_dispatch_endpoint import INGEST_TOKEN, SECRET, EndpointService, wire_value  # noqa: E402

SOURCES = ("postgres", "mysql")
TOPICS = {"postgres": "postgres.public.meter", "mysql": "mysql.meterdb.meters"}
TARGET_OF = {"postgres": "postgres", "mysql": "mariadb"}
OTHER = {"postgres": "mysql", "mysql": "postgres"}
OUT = REPO / ".local" / "faults"


def log(msg: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Profiles

@dataclasses.dataclass
class Profile:
    name: str
    rate: float             # changes/s per source
    kills: int              # metersync SIGKILLs
    kill_gap_s: tuple       # random wait after a restart before the next kill (min, max)
    sink_outage_s: float
    slow_sink_s: float
    slow_sink_delay_s: float
    endpoint_fault_s: float
    faults: tuple
    catch_up_s: float = 600.0   # bound for the verdict's catch-up
    recovery_s: float = 600.0   # bound for recovery after the heal
    bound_s: float = 4 * 3600.0  # bound for the whole suite (tests/conftest.py's `bound`)


ALL_FAULTS = ("metersync_kill", "three_instances", "sink_unreachable", "slow_sink", "endpoint_500",
              "endpoint_429", "endpoint_hang", "kafka_restart", "connect_kill", "postgres_restart",
              "mariadb_restart")

SHORT = Profile("short", rate=30, kills=3, kill_gap_s=(3, 20), sink_outage_s=20, slow_sink_s=20,
                slow_sink_delay_s=0.1, endpoint_fault_s=25,
                faults=("metersync_kill", "sink_unreachable", "endpoint_500"),
                # It takes about 3 minutes; the bounds only decide how soon a fault that never
                # heals fails the run (./test's budget), not how long a healthy one may take.
                catch_up_s=240.0, recovery_s=180.0, bound_s=1200.0)
LONG = Profile("long", rate=30, kills=20, kill_gap_s=(3, 40), sink_outage_s=120, slow_sink_s=60,
               slow_sink_delay_s=0.1, endpoint_fault_s=300, faults=ALL_FAULTS)


def profile_from_env() -> Profile:
    p = LONG if os.environ.get("METERSYNC_FAULTS", "short") == "long" else SHORT
    only = [f for f in os.environ.get("METERSYNC_FAULTS_ONLY", "").split(",") if f]
    unknown = [f for f in only if f not in ALL_FAULTS]
    if unknown:
        raise ValueError(f"METERSYNC_FAULTS_ONLY: unknown faults {unknown}; known: {', '.join(ALL_FAULTS)}")
    if only:
        p = dataclasses.replace(p, faults=tuple(only))
    if os.environ.get("METERSYNC_FAULTS_ENDPOINT_S"):
        p = dataclasses.replace(p, endpoint_fault_s=float(os.environ["METERSYNC_FAULTS_ENDPOINT_S"]))
    return p


# ---------------------------------------------------------------------------------------------
# The topics, recorded

@dataclasses.dataclass
class Change:
    source: str
    meter: str
    id: str            # the endpoint event id metersync must give it
    position: str      # metersync's sortable position
    binlog: tuple | None
    arrived: float     # wall clock, when this recorder read it
    committed: float   # source.ts_ms / 1000


def _position(source: str, src: dict) -> tuple[str, tuple | None]:
    if source == "postgres":
        lsn = int(src["lsn"])
        phase = "S" if src.get("snapshot") not in (None, "false", False) else "W"
        return f"{phase}/{lsn >> 32:08X}/{lsn & 0xFFFFFFFF:08X}", None
    return f"{src['file']}/{int(src['pos']):020d}/{int(src['row']):010d}", (src["file"], int(src["pos"]))


class Recorder:
    """Reads both change topics from their current end in a thread, keeping every change."""

    def __init__(self, env: dict):
        from confluent_kafka import Consumer, TopicPartition
        self.changes: dict[str, list[Change]] = {s: [] for s in SOURCES}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"],
                                   "group.id": f"faults-rec-{uuid.uuid4()}", "enable.auto.commit": False})
        assignment = []
        for topic in TOPICS.values():
            md = self._consumer.list_topics(topic, timeout=30).topics[topic]
            for p in sorted(md.partitions):
                _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                assignment.append(TopicPartition(topic, p, high))
        self._consumer.assign(assignment)
        self._source_of = {t: s for s, t in TOPICS.items()}
        self._thread = threading.Thread(target=self._run, name="faults-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error() or msg.value() is None or msg.key() is None:
                continue
            source = self._source_of[msg.topic()]
            try:
                key = json.loads(msg.key())
                value = json.loads(msg.value())
                payload = value["payload"]
                if payload.get("op") not in ("c", "u", "d", "r"):
                    continue
                column = "meter_id" if source == "postgres" else "id"
                kf = {f["field"]: f for f in key["schema"]["fields"]}
                meter = str(wire_value(key["payload"][column], kf[column]))
                position, binlog = _position(source, payload["source"])
            except (ValueError, KeyError, TypeError):
                continue  # not a change event of the shipped tables
            change = Change(source, meter, f"{source}:{position}:{meter}", position, binlog, time.time(),
                            payload["source"]["ts_ms"] / 1000.0)
            with self._lock:
                self.changes[source].append(change)

    def mark(self) -> dict[str, int]:
        with self._lock:
            return {s: len(c) for s, c in self.changes.items()}

    def since(self, mark: dict[str, int], source: str) -> list[Change]:
        with self._lock:
            return list(self.changes[source][mark[source]:])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._consumer.close()


# ---------------------------------------------------------------------------------------------
# The endpoint's record, read incrementally

class EndpointRecord:
    def __init__(self, service: EndpointService):
        self.service = service
        self.events: dict[str, list[tuple[str, str, str]]] = {s: [] for s in SOURCES}  # (id, meter, position)
        self._cursor = {s: "0" for s in SOURCES}

    def refresh(self) -> None:
        for source in SOURCES:
            for _ in range(100_000):
                r = self.service.session.get(f"{self.service.url}/v1/sources/{source}/changes",
                                             params={"after": self._cursor[source], "limit": 1000}, timeout=30)
                r.raise_for_status()
                page = r.json()
                for c in page["changes"]:
                    e = c["event"]
                    if e.get("meter") is not None:
                        self.events[source].append((e["id"], e["meter"]["sourceMeterId"], e["position"]))
                self._cursor[source] = page["next_cursor"]
                if not page["has_more"]:
                    break

    def verdict(self, source: str, changes: list[Change]) -> dict:
        """Missing, duplicated and out-of-order counts for the given topic changes."""
        wanted = {c.id for c in changes}
        copies: dict[str, int] = {}
        last_position: dict[str, str] = {}
        out_of_order = 0
        for event_id, meter, position in self.events[source]:
            copies[event_id] = copies.get(event_id, 0) + 1
            if copies[event_id] > 1:
                continue
            if meter in last_position and position < last_position[meter]:
                if event_id in wanted:
                    out_of_order += 1
            else:
                last_position[meter] = position
        missing = sum(1 for i in wanted if i not in copies)
        duplicated = sum(copies[i] - 1 for i in wanted if copies.get(i, 0) > 1)
        return {"missing": missing, "duplicated": duplicated, "out_of_order": out_of_order}


# ---------------------------------------------------------------------------------------------
# Lag, sampled from outside metersync

class Sampler:
    """Once a second: each topic's end offsets, the sink's offsets table (Meter Master's position)
    and the endpoint group's committed offsets, per partition. A sample whose reads failed (the
    broker or the sink database down) keeps None there."""

    def __init__(self, env: dict, names: Names):
        from confluent_kafka import Consumer
        self.env, self.names = env, names
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._wm = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": f"faults-wm-{uuid.uuid4()}"})
        self._ep = {s: Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"],
                                 "group.id": f"{names.group(s)}-endpoint", "enable.auto.commit": False})
                    for s in SOURCES}
        self._partitions = {}
        for s, topic in TOPICS.items():
            md = self._wm.list_topics(topic, timeout=30).topics[topic]
            self._partitions[s] = sorted(md.partitions)
        self._sink = None
        self._thread = threading.Thread(target=self._run, name="faults-sampler", daemon=True)
        self._thread.start()

    def _mm(self) -> dict | None:
        try:
            if self._sink is None:
                self._sink = sink_connect(self.env)
            exists = self._sink.execute("SELECT to_regclass(%s)", (f'public."{self.names.offsets_table}"',)).fetchone()[0]
            if exists is None:
                return {}
            rows = self._sink.execute(f'SELECT "topic", "partition", "next_offset" FROM public."{self.names.offsets_table}"').fetchall()
            return {(t, int(p)): int(o) for t, p, o in rows}
        except Exception:
            try:
                if self._sink is not None:
                    self._sink.close()
            except Exception:
                pass
            self._sink = None
            return None

    def sample(self) -> dict:
        from confluent_kafka import TopicPartition
        t = time.time()
        s: dict = {"t": t}
        mm = self._mm()
        for source, topic in TOPICS.items():
            tps = [TopicPartition(topic, p) for p in self._partitions[source]]
            try:
                end = {tp.partition: self._wm.get_watermark_offsets(tp, timeout=3)[1] for tp in tps}
            except Exception:
                end = None
            try:
                ep = {tp.partition: max(tp.offset, 0) for tp in self._ep[source].committed(tps, timeout=3)}
            except Exception:
                ep = None
            m = None if mm is None else {p: mm.get((topic, p), 0) for p in self._partitions[source]}
            s[source] = {"end": end, "mm": m, "ep": ep}
        return s

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.samples.append(self.sample())
            self._stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    def between(self, t0: float, t1: float) -> list[dict]:
        return [s for s in list(self.samples) if t0 <= s["t"] <= t1]

    @staticmethod
    def lag(sample: dict, source: str) -> int | None:
        """Records not yet applied by the slower destination (None when unknown)."""
        d = sample[source]
        if d["end"] is None or d["mm"] is None or d["ep"] is None:
            return None
        return max(sum(d["end"][p] - d["mm"][p] for p in d["end"]), sum(d["end"][p] - d["ep"][p] for p in d["end"]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._wm.close()
        for c in self._ep.values():
            c.close()
        if self._sink is not None:
            self._sink.close()


# ---------------------------------------------------------------------------------------------
# The load

class Load:
    """loadgen on both sources in threads, in chunks of a few seconds, kept going across outages:
    a chunk that fails (its database restarted) is retried after half a second."""

    CHUNK_S = 5.0

    def __init__(self, env: dict, rate: float, seed: int):
        self.env, self.rate, self.seed = env, rate, seed
        self.ops = {t: 0 for t in TARGET_OF.values()}
        self.errors: dict[str, list[str]] = {t: [] for t in TARGET_OF.values()}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._work, args=(t,), name=f"faults-load-{t}", daemon=True)
                         for t in TARGET_OF.values()]
        for th in self._threads:
            th.start()

    def _work(self, target: str) -> None:
        for _ in range(100_000):
            if self._stop.is_set():
                return
            self.seed += 1
            try:
                c = loadgen.run(target, self.env, rate=self.rate, duration=self.CHUNK_S, seed=self.seed,
                                stop=self._stop)
                self.ops[target] += c.ops
            except Exception as e:  # the database went away under the load: expected in some faults
                self.errors[target].append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(60)
            assert not th.is_alive(), f"{th.name} did not stop"


# ---------------------------------------------------------------------------------------------
# Stack services

def _service_answers(service: str, env: dict) -> bool:
    try:
        if service == "postgres":
            import psycopg
            with psycopg.connect(**stackenv.pg_connect_kwargs(env), connect_timeout=2):
                return True
        if service == "mariadb":
            import pymysql
            pymysql.connect(**stackenv.mariadb_connect_kwargs(env), connect_timeout=2).close()
            return True
        port = {"kafka": int(env["KAFKA_BOOTSTRAP"].rsplit(":", 1)[1]),
                "connect": int(env["CONNECT_URL"].rsplit(":", 1)[1])}[service]
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except Exception:
        return False


def restart_service(service: str, env: dict, kill: bool) -> dict:
    """Stops one stack service (SIGTERM and wait, or SIGKILL) and starts that service alone again,
    the way `./stack up` starts it, but without `up`'s other steps: `up` also re-registers the
    connectors and restarts a FAILED one, which would hide whether the capture path comes back by
    itself. Returns when it was stopped and when it answered again (wall clock)."""
    from stackctl import process
    from stackctl.connect import connect_start
    from stackctl.kafka import kafka_start
    from stackctl.mariadb import mariadb_start
    from stackctl.postgres import pg_start
    from stackctl.settings import load_state
    ports = load_state()["ports"]
    pid = process.running_pid(service)
    assert pid is not None, f"{service} is not running"
    down = time.time()
    if kill:
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: process.running_pid(service) is None, 60, f"{service} to die", interval=0.2)
    else:
        process.stop_service(service)
    stopped = time.time()
    {"postgres": pg_start, "mariadb": mariadb_start, "kafka": kafka_start, "connect": connect_start}[service](ports)
    back = wait_until(lambda: _service_answers(service, env) and time.time(), 600, f"{service} to answer again",
                      interval=0.2)
    return {"down": down, "stopped": stopped, "back": back}


CONNECTORS = {"postgres": "postgres-meter-source", "mysql": "mariadb-meter-source"}


def connector_states(env: dict) -> dict[str, str]:
    """Each source connector's worst state (connector or task) by Connect's REST API; "?" unknown."""
    import requests
    out = {}
    for source, name in CONNECTORS.items():
        try:
            st = requests.get(f"{env['CONNECT_URL']}/connectors/{name}/status", timeout=3).json()
            states = [st["connector"]["state"]] + [t["state"] for t in st.get("tasks", [])]
            out[source] = next((x for x in ("FAILED", "UNASSIGNED", "PAUSED") if x in states), states[0]) \
                if st.get("tasks") else "NO TASK"
        except Exception:
            out[source] = "?"
    return out


def restart_failed_connector(env: dict, source: str) -> None:
    import requests
    requests.post(f"{env['CONNECT_URL']}/connectors/{CONNECTORS[source]}/restart",
                  params={"includeTasks": "true", "onlyFailed": "true"}, timeout=10)


# ---------------------------------------------------------------------------------------------
# MariaDB's binlog: the truth a topic is checked against

def mariadb_position(env: dict) -> tuple[str, int]:
    from test_stack_restart import mariadb_position as position
    return position(env)


def binlog_rows(env: dict, start: tuple[str, int]) -> set[tuple[str, int]]:
    from test_stack_restart import mariadb_binlog_changes
    return {(f, p) for f, p, _ in mariadb_binlog_changes(env, start)}


# ---------------------------------------------------------------------------------------------
# The rig

class Rig:
    def __init__(self, env: dict, directory: Path, profile: Profile):
        self.env, self.dir, self.profile = env, directory, profile
        self.rng = random.Random(int(os.environ.get("METERSYNC_FAULTS_SEED", str(uuid.uuid4().int % 10**6))))
        self.seed = self.rng.randrange(10**6)
        self.names = Names.fresh()
        self.endpoint = EndpointService(directory, "faults")
        self.endpoint.start()
        sink_port = int(re.search(r"Port=(\d+)", env["SINK_ODBC"]).group(1))
        self.relay = CuttableRelay(sink_port)
        self.ms_env = {**env, "SINK_ODBC": re.sub(r"Port=\d+", f"Port={self.relay.port}", env["SINK_ODBC"]),
                       "METERSYNC_ENDPOINT_SECRET": SECRET, "METERSYNC_ENDPOINT_AUTH": f"Bearer {INGEST_TOKEN}"}
        self.instances: list[MeterSync] = []
        self._made = 0
        self.exits: list[str] = []   # metersync processes that ended on their own
        self.sink = sink_connect(env)
        self.recorder = Recorder(env)
        self.sampler = Sampler(env, self.names)
        self.endpoint_record = EndpointRecord(self.endpoint)
        self.shadow = DeletedRowShadow().__enter__()
        self.load = Load(env, profile.rate, self.seed)
        self.catch_up_s: float | None = None

    # metersync instances -------------------------------------------------------------------
    def add_instance(self) -> MeterSync:
        self._made += 1
        d = self.dir / f"ms-{self._made}"
        d.mkdir()
        ms = MeterSync(self.ms_env, self.names, d)
        text = ms.config.read_text()
        for source in SOURCES:
            text, n = re.subn(r"\$\{ENDPOINT_URL:-[^}]*\}(/v1/sources/" + source + "/changes)",
                              self.endpoint.url + r"\1", text)
            assert n == 1, "config/metersync.yaml changed shape (endpoint url)"
        ms.config.write_text(text)
        ms.start()
        self.instances.append(ms)
        return ms

    def kill(self, ms: MeterSync) -> None:
        ms.kill()

    def check_alive(self) -> None:
        for ms in self.instances:
            if ms.proc is not None and ms.proc.poll() is not None:
                code = ms.proc.returncode
                self.exits.append(f"{ms.directory.name} run {ms.runs} exited with {code}: {ms.log_tail(15)}")
                ms.proc = None
                ms.start()

    def close(self) -> None:
        for part in (self.load.stop, self.sampler.close, self.recorder.close):
            try:
                part()
            except Exception as e:
                log(f"closing: {e}")
        self.shadow.__exit__(None, None, None)
        for ms in self.instances:
            ms.close()
        self.endpoint.close()
        self.relay.close()
        drop_sink_tables(self.sink, self.names)
        self.sink.close()
        _delete_groups(self.env, self.names)

    # the verdict -----------------------------------------------------------------------------
    def meter_master_problems(self) -> tuple[int, dict[str, list[str]]]:
        actual = meter_master(self.sink, self.names)
        exp = {"postgres": expected_postgres(self.env, self.shadow), "mysql": expected_mariadb(self.env, self.shadow)}
        compared = sum(len(e.live) + len(e.deleted) for e in exp.values())
        return compared, {s: compare(exp[s], actual, s) for s in SOURCES}

    def wait_equal(self, mark: dict, timeout: float) -> dict:
        """After the load stopped: waits (bounded) for Meter Master to equal the sources and the
        endpoint to hold every change of the window; returns the counts as they are then."""
        deadline = time.monotonic() + timeout
        result: dict = {}
        for _ in range(10_000):
            self.check_alive()
            try:
                compared, problems = self.meter_master_problems()
                self.endpoint_record.refresh()
                ep = {s: self.endpoint_record.verdict(s, self.recorder.since(mark, s)) for s in SOURCES}
            except Exception as e:  # a database still coming back (or restarted): reconnect, try again
                log(f"verdict read failed, retrying: {type(e).__name__}: {e}")
                try:
                    self.sink.close()
                    self.sink = sink_connect(self.env)
                except Exception:
                    pass
                time.sleep(2)
                if time.monotonic() > deadline:
                    raise
                continue
            result = {"rows_compared": compared, "rows_wrong": sum(len(p) for p in problems.values()),
                      "problems": [x for p in problems.values() for x in p[:5]], "endpoint": ep}
            if result["rows_wrong"] == 0 and all(v["missing"] == 0 for v in ep.values()):
                return result
            if time.monotonic() > deadline:
                return result
            time.sleep(3)
        return result


def _delete_groups(env, names: Names) -> None:
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})
    groups = [names.group(s) for s in SOURCES] + [f"{names.group(s)}-endpoint" for s in SOURCES]
    for f in admin.delete_consumer_groups(groups, request_timeout=15).values():
        try:
            f.result()
        except Exception:  # a group that never committed does not exist
            pass


# ---------------------------------------------------------------------------------------------
# The faults. Each returns when the fault is healed: {"heal": wall time, "affected": sources, ...}

def fault_metersync_kill(rig: Rig) -> dict:
    """SIGKILL of the (only) metersync at random moments, restarted at once each time."""
    ms = rig.instances[0]
    first_apply = []
    heal = time.time()
    for i in range(rig.profile.kills):
        time.sleep(rig.rng.uniform(*rig.profile.kill_gap_s))
        rig.check_alive()
        rig.kill(ms)
        ms.start()
        heal = time.time()
        first_apply.append(heal)
        log(f"kill {i + 1}/{rig.profile.kills}: killed and restarted")
    return {"heal": heal, "affected": SOURCES, "restarts": first_apply}


def fault_three_instances(rig: Rig) -> dict:
    """Three instances in one group: kill one, add one back, kill two; one is left."""
    while len([m for m in rig.instances if m.running()]) < 3:
        rig.add_instance()
    time.sleep(15)
    running = [m for m in rig.instances if m.running()]
    victim = rig.rng.choice(running)
    rig.kill(victim)
    rig.instances.remove(victim)
    log("three instances: killed one")
    time.sleep(15)
    rig.add_instance()
    log("three instances: added one back")
    time.sleep(15)
    running = [m for m in rig.instances if m.running()]
    for victim in rig.rng.sample(running, 2):
        rig.kill(victim)
        rig.instances.remove(victim)
    log("three instances: killed two")
    return {"heal": time.time(), "affected": SOURCES, "restarts": [time.time()]}


def fault_sink_unreachable(rig: Rig) -> dict:
    rig.relay.cut()
    time.sleep(rig.profile.sink_outage_s)
    rig.relay.restore()
    return {"heal": time.time(), "affected": SOURCES}


def fault_slow_sink(rig: Rig) -> dict:
    rig.relay.delay_s = rig.profile.slow_sink_delay_s
    time.sleep(rig.profile.slow_sink_s)
    rig.relay.delay_s = 0.0
    return {"heal": time.time(), "affected": SOURCES}


def _endpoint_fault(rig: Rig, spec: str) -> dict:
    rig.endpoint.fault("postgres", spec)
    time.sleep(rig.profile.endpoint_fault_s)
    rig.endpoint.fault("postgres", None)
    return {"heal": time.time(), "affected": ("postgres",)}


def fault_endpoint_500(rig: Rig) -> dict:
    return _endpoint_fault(rig, "status:500")


def fault_endpoint_429(rig: Rig) -> dict:
    return _endpoint_fault(rig, "status:429:retry_after=5")


def fault_endpoint_hang(rig: Rig) -> dict:
    # Beyond the shipped request_timeout_ms (10 s): every post times out, then is stored anyway.
    return _endpoint_fault(rig, "sleep:15000")


def _restart(rig: Rig, service: str, kill: bool, affected, resumed) -> dict:
    r = restart_service(service, rig.env, kill)
    log(f"{service}: {r['stopped'] - r['down']:.1f}s to stop, back after {r['back'] - r['down']:.1f}s")
    return {"heal": r["back"], "affected": affected, "restarts": [r["back"]], "resume_from": r["back"],
            "resumed": resumed, "down_s": r["back"] - r["down"]}


def fault_kafka_restart(rig: Rig) -> dict:
    return _restart(rig, "kafka", False, SOURCES, SOURCES)


def fault_connect_kill(rig: Rig) -> dict:
    return _restart(rig, "connect", True, SOURCES, SOURCES)


def fault_postgres_restart(rig: Rig) -> dict:
    # The sink database (metermaster) lives on the same PostgreSQL server as the source: this is
    # the restart of both.
    return _restart(rig, "postgres", False, SOURCES, ("postgres",))


def fault_mariadb_restart(rig: Rig) -> dict:
    return _restart(rig, "mariadb", False, ("mysql",), ("mysql",))


FAULTS = {name: globals()[f"fault_{name}"] for name in ALL_FAULTS}
LABELS = {"metersync_kill": "metersync SIGKILL ×{kills}", "three_instances": "3 instances: kill 1, add 1, kill 2",
          "sink_unreachable": "sink unreachable {sink_outage_s:.0f} s",
          "slow_sink": "slow sink {slow_sink_s:.0f} s (+{slow_sink_delay_ms:.0f} ms/packet)",
          "endpoint_500": "endpoint 500 for {endpoint_fault_s:.0f} s (postgres)",
          "endpoint_429": "endpoint 429 + Retry-After 5 for {endpoint_fault_s:.0f} s (postgres)",
          "endpoint_hang": "endpoint hangs 15 s > timeout for {endpoint_fault_s:.0f} s (postgres)",
          "kafka_restart": "Kafka broker restart", "connect_kill": "Connect SIGKILL + restart",
          "postgres_restart": "PostgreSQL restart (source + sink)", "mariadb_restart": "MariaDB restart"}


def label(name: str, p: Profile) -> str:
    return LABELS[name].format(**dataclasses.asdict(p), slow_sink_delay_ms=p.slow_sink_delay_s * 1000)


# ---------------------------------------------------------------------------------------------
# One fault, measured

PRE_S = 5.0     # load before the fault
POST_S = 5.0    # load after recovery


def run_fault(rig: Rig, name: str) -> dict:
    log(f"fault {name}: start")
    mark = rig.recorder.mark()
    ops0 = dict(rig.load.ops)
    binlog_start = mariadb_position(rig.env)
    t_start = time.time()
    rig.load.start()
    time.sleep(PRE_S)
    t_fault = time.time()
    info = FAULTS[name](rig)
    heal = info["heal"]
    # Time to resume (restarts of the capture path): from the restarted service answering to the
    # first change on the topic that was not there before it (replays of old ones do not count).
    resumed_at = None
    if "resumed" in info:
        back = info["resume_from"]
        seen = {s: {c.id for c in rig.recorder.since(mark, s) if c.arrived < back} for s in info["resumed"]}
        firsts: dict[str, float] = {}
        deadline = time.monotonic() + rig.profile.recovery_s
        next_look = 0.0
        while len(firsts) < len(info["resumed"]) and time.monotonic() < deadline:
            if time.monotonic() >= next_look:
                next_look = time.monotonic() + 5
                for src, state in connector_states(rig.env).items():
                    info.setdefault("connector_states", {}).setdefault(src, [])
                    if not info["connector_states"][src] or info["connector_states"][src][-1] != state:
                        info["connector_states"][src].append(state)
                    # A connector that FAILED stays so until someone restarts it: after 60 s, do
                    # what an operator would (`./stack up` does the same), and say so in the table.
                    if state == "FAILED" and time.time() - back > 60:
                        restart_failed_connector(rig.env, src)
                        info.setdefault("restarted_by_hand", []).append(src)
            for src in info["resumed"]:
                c = next((c for c in rig.recorder.since(mark, src) if c.arrived >= back and c.id not in seen[src]),
                         None)
                if c is not None:
                    firsts.setdefault(src, c.arrived)
            time.sleep(0.5)
        if len(firsts) == len(info["resumed"]):
            resumed_at = max(firsts.values())
    # Recovery: every destination of the affected sources has applied what the topic held at the
    # heal (or, after a restart of the capture path, once changes flow again: the sample at or after it).
    anchor = max(heal, resumed_at or heal)
    ends = None
    for _ in range(1000):
        s = next((x for x in reversed(rig.sampler.samples) if x["t"] >= anchor), None)
        if s is not None and all(s[src]["end"] is not None for src in info["affected"]):
            ends = {src: s[src]["end"] for src in info["affected"]}
            break
        time.sleep(0.5)
    recovered = None
    deadline = time.monotonic() + rig.profile.recovery_s
    while ends is not None and time.monotonic() < deadline:
        rig.check_alive()
        s = rig.sampler.samples[-1]
        if s["t"] >= anchor and all(
                s[src]["mm"] is not None and s[src]["ep"] is not None and
                all(s[src]["mm"][p] >= e and s[src]["ep"][p] >= e for p, e in ends[src].items())
                for src in info["affected"]):
            recovered = s["t"]
            break
        time.sleep(0.5)
    time.sleep(POST_S)
    rig.load.stop()
    t_stop = time.time()
    verdict = rig.wait_equal(mark, rig.profile.catch_up_s)
    t_end = time.time()

    # Changes on the topics during the window, the binlog's truth for MariaDB.
    window = {s: rig.recorder.since(mark, s) for s in SOURCES}
    distinct = {s: len({c.id for c in window[s]}) for s in SOURCES}
    binlog = binlog_rows(rig.env, binlog_start)
    on_topic = {c.binlog for c in window["mysql"]}
    samples = rig.sampler.between(t_fault, recovered or t_stop)

    def max_lag(source):
        lags = [x for x in (Sampler.lag(s, source) for s in samples) if x is not None]
        return max(lags) if lags else None

    def first_apply(after: float, until: float) -> float | None:
        """Seconds from a restart to the first batch applied to Meter Master before `until` (the
        next kill); None when that process applied nothing before it was killed."""
        base = next((s for s in rig.sampler.samples if s["t"] >= after and s["postgres"]["mm"] is not None), None)
        if base is None:
            return None
        b = {src: sum(base[src]["mm"].values()) for src in SOURCES}
        for s in rig.sampler.samples:
            if s["t"] > until:
                return None
            if s["t"] > base["t"] and any(s[src]["mm"] is not None and sum(s[src]["mm"].values()) > b[src]
                                          for src in SOURCES):
                return s["t"] - after
        return None

    restarts = info.get("restarts", [])
    firsts = [first_apply(t, u) for t, u in zip(restarts, [*restarts[1:], float("inf")])]
    applies = [x for x in firsts if x is not None]
    ops = sum(rig.load.ops[t] - ops0[t] for t in rig.load.ops)
    result = {
        "fault": name, "label": label(name, rig.profile),
        "load_per_s": round(ops / max(t_stop - t_start, 1e-9), 1),
        "changes": sum(distinct.values()), "load_ops": ops,
        "rows_compared": verdict.get("rows_compared"), "rows_wrong": verdict.get("rows_wrong"),
        "problems": verdict.get("problems", []),
        "endpoint": verdict.get("endpoint"),
        "binlog_rows": len(binlog), "binlog_missing_on_topic": len(binlog - on_topic),
        "max_lag": {s: max_lag(s) for s in SOURCES}, "affected": list(info["affected"]),
        "resumed": list(info.get("resumed", ())),
        "connector_states": info.get("connector_states", {}),
        "connectors_restarted_by_hand": sorted(set(info.get("restarted_by_hand", []))),
        "fault_s": round(heal - t_fault, 1),
        "recovery_s": None if recovered is None else round(recovered - heal, 1),
        "first_apply_s": [round(x, 1) for x in applies],
        "killed_before_first_apply": len(firsts) - len(applies),
        "resume_s": None if resumed_at is None else round(resumed_at - info["resume_from"], 1),
        "down_s": None if "down_s" not in info else round(info["down_s"], 1),
        "verdict_s": round(t_end - t_stop, 1), "load_errors": {t: len(e) for t, e in rig.load.errors.items()},
    }
    log(f"fault {name}: {json.dumps({k: v for k, v in result.items() if k != 'problems'})}")
    return result


# ---------------------------------------------------------------------------------------------
# The table

def _fmt(x, unit="") -> str:
    return "n/a" if x is None else f"{x}{unit}"


def table(results: list[dict]) -> str:
    head = ("| fault | load (changes/s) | changes | rows compared | rows wrong or missing | endpoint missing / "
            "duplicated / out of order | MariaDB binlog rows not on topic | max lag during fault (records): "
            "postgres / mysql | recovery (s) | restart to first apply (s) | time to resume (s) |")
    lines = [head, "|" + "---|" * 11]
    for r in results:
        ep = r["endpoint"] or {}
        e = [sum(v[k] for v in ep.values()) for k in ("missing", "duplicated", "out_of_order")] if ep else None
        lag = " / ".join(("**" if s in r["affected"] else "") + _fmt(r["max_lag"][s]) +
                         ("**" if s in r["affected"] else "") for s in SOURCES)
        fa = r["first_apply_s"]
        by_hand = (" (connector FAILED: " + ", ".join(r["connectors_restarted_by_hand"]) + ", restarted through "
                   "the REST API after 60 s)") if r.get("connectors_restarted_by_hand") else ""
        fa_text = "n/a" if not fa else (f"{fa[0]}" if len(fa) == 1 else
                                        f"median {statistics.median(fa):.1f}, max {max(fa)}")
        if r.get("killed_before_first_apply"):
            fa_text += f" ({r['killed_before_first_apply']} killed again before their first apply)"
        lines.append(f"| {r['label']} | {r['load_per_s']} | {r['changes']} | {_fmt(r['rows_compared'])} | "
                     f"{_fmt(r['rows_wrong'])} | {'n/a' if e is None else ' / '.join(map(str, e))} | "
                     f"{r['binlog_missing_on_topic']} of {r['binlog_rows']} | {lag} | {_fmt(r['recovery_s'])} | "
                     f"{fa_text} | {_fmt(r['resume_s'])}{by_hand} |")
    return "\n".join(lines)


def failures(results: list[dict], exits: list[str]) -> list[str]:
    out = [f"metersync exited on its own: {e}" for e in exits]
    for r in results:
        ep = r["endpoint"] or {}
        bad = {k: sum(v[k] for v in ep.values()) for k in ("missing", "duplicated", "out_of_order")}
        if r["rows_wrong"] or any(bad.values()) or r["recovery_s"] is None or \
                r["binlog_missing_on_topic"] or (r["resumed"] and r["resume_s"] is None) or \
                r["connectors_restarted_by_hand"]:
            out.append(f"{r['fault']}: rows wrong {r['rows_wrong']}, endpoint {bad}, recovery {r['recovery_s']}, "
                       f"binlog rows not on the topic {r['binlog_missing_on_topic']}, resume {r['resume_s']}, "
                       f"connectors restarted by hand {r['connectors_restarted_by_hand']}; "
                       f"{r['problems'][:3]}")
    return out


def run_suite(env: dict, directory: Path, profile: Profile) -> tuple[list[dict], list[str]]:
    rig = Rig(env, directory, profile)
    results: list[dict] = []
    try:
        rig.add_instance()
        # The fresh group reads both topics from their beginning first: caught up before any fault.
        t0 = time.time()
        v = rig.wait_equal(rig.recorder.mark(), profile.catch_up_s)
        assert v["rows_wrong"] == 0, f"the initial catch-up did not converge: {v['problems']}"
        log(f"initial catch-up in {time.time() - t0:.0f}s, {v['rows_compared']} rows")
        rig.catch_up_s = round(time.time() - t0, 1)
        for name in profile.faults:
            results.append(run_fault(rig, name))
            save(results, profile, rig.exits, rig.catch_up_s)
    finally:
        exits = list(rig.exits)
        rig.close()
    return results, exits


LAST: dict = {}


def save(results: list[dict], profile: Profile, exits: list[str], catch_up_s: float | None = None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {"profile": dataclasses.asdict(profile), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "git": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
           "loadavg": os.getloadavg(), "initial_catch_up_s": catch_up_s, "results": results, "exits": exits}
    (OUT / f"{profile.name}.json").write_text(json.dumps(doc, indent=1, default=str))
    (OUT / f"{profile.name}.md").write_text(table(results) + "\n")
    LAST.update(doc)
    if os.environ.get("METERSYNC_FAULTS_DOC") == "1":
        write_doc(doc)


DOC = REPO / "docs" / "reliability.md"
BEGIN, END = "<!-- fault-table:begin -->", "<!-- fault-table:end -->"


def write_doc(doc: dict) -> None:
    """The latest table, with the command and the run's circumstances, into docs/reliability.md."""
    p = doc["profile"]
    command = "tests/faults/run --long --doc" if p["name"] == "long" else "tests/faults/run --doc"
    if os.environ.get("METERSYNC_FAULTS_ONLY"):
        command += f" --only {os.environ['METERSYNC_FAULTS_ONLY']}"
    body = (f"{BEGIN}\nMade by `{command}` on {doc['date']} (commit {doc['git']}, load average "
            f"{doc['loadavg'][0]:.1f} at the end, 2 cores shared), {p['rate']:.0f} changes/s asked of each source:\n\n"
            f"{table(doc['results'])}\n\n"
            + (f"metersync processes that ended on their own: {len(doc['exits'])}\n" if doc["exits"] else "")
            + f"{END}")
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + body + text[end:])
