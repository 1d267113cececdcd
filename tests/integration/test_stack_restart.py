"""Nothing committed at a source is lost when the capture side restarts under load.

Debezium is at-least-once: after a crash it replays from the last stored offset, so duplicates
on the topic are expected; a gap is not. The test runs the load generator on both sources and,
with the load still going, stops Kafka Connect cleanly (SIGTERM), kills its JVM (SIGKILL), and
takes the whole stack down and up again. Then it proves that every committed change is on the
change topic, against ground truth that does not come from Debezium:

- MariaDB: the binlog itself (SHOW BINLOG EVENTS). Every row event on meterdb.meters after the
  start position must be on the topic: Debezium's source.file/source.pos is the row event's
  position, so the comparison is exact per change (loadgen changes one row per statement, so
  one row event is one change).
- PostgreSQL: a second logical slot with test_decoding, created before the load; its changes
  to public.meter carry the same LSNs as Debezium's source.lsn.

And per key: the last state on the topic equals the row in the source table (or its absence).

Restarting Connect would disturb everyone else's tests on the shared stack, so this test runs
a private copy of the stack (this checkout's `stack` and `cdcstack/`, the installed .local parts
linked in) on ports of its own, and removes it at the end (`./stack reset`, then the copy).
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "cdcstack"))

import loadgen  # noqa: E402
import stackenv  # noqa: E402

PORTS = {"STACK_PG_PORT": 51432, "STACK_MARIADB_PORT": 51306, "STACK_KAFKA_PORT": 51092,
         "STACK_KAFKA_CONTROLLER_PORT": 51093, "STACK_CONNECT_PORT": 51083, "STACK_ENDPOINT_PORT": 51080}
# Load per source (operations per second, operations per transaction). Transactions of several
# changes make the stored offset often fall inside one, so a restart has to resume mid-transaction
# (MariaDB: GTID plus events and rows to skip; PostgreSQL: commit LSN plus the last change's LSN).
# RESTART_RATE / RESTART_BATCH raise them for a heavier run by hand (e.g. 400 and 100).
RATE = float(os.environ.get("RESTART_RATE", "150"))
BATCH = int(os.environ.get("RESTART_BATCH", "20"))
PHASE_S = 6.0          # load between two events
CATCH_UP_S = 180.0     # bound for the topics to reach the sources' end after the last restart
STOP_WAIT_S = 90.0     # bound for a stopped Connect JVM to exit
CHECK_SLOT = "restart_check"


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateStack:
    """A copy of this checkout's stack on its own ports and data directories."""

    def __init__(self):
        # /var/tmp, mode 755: the postgres and mysql users must be able to reach the data.
        self.dir = Path(tempfile.mkdtemp(prefix="metersync-restart-", dir="/var/tmp"))
        os.chmod(self.dir, 0o755)
        shutil.copy2(REPO / "stack", self.dir / "stack")
        shutil.copytree(REPO / "cdcstack", self.dir / "cdcstack",
                        ignore=shutil.ignore_patterns("__pycache__"))
        local = self.dir / ".local"
        local.mkdir()
        for part in ("venv", "kafka", "connect-plugins"):
            (local / part).symlink_to(REPO / ".local" / part)
        self.env = {**os.environ, **{k: str(v) for k, v in PORTS.items()},
                    "STACK_SEED_COUNT": "300", "STACK_JVM_HEAP": "512m"}
        for k in ("MSSQL_HOST", "ORACLE_HOST", "MYSQL_HOST"):  # only the two local sources
            self.env.pop(k, None)

    def run(self, *args: str, timeout: float = 600) -> str:
        r = subprocess.run([str(self.dir / "stack"), *args], env=self.env, cwd=self.dir, text=True,
                           capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise AssertionError(f"./stack {' '.join(args)} (private copy) failed with exit {r.returncode}:\n"
                                 f"{r.stdout}\n{r.stderr}")
        return r.stdout

    def stackenv(self) -> dict[str, str]:
        return stackenv.load(self.dir / ".local" / "stack.env")

    def connect_pid(self) -> int:
        return int((self.dir / ".local" / "stack" / "connect" / "connect.pid").read_text().strip())

    def stop_connect(self, sig: int) -> None:
        """Sends the Connect JVM `sig` and waits until it has exited (it is not our child: `up`
        started it in a session of its own)."""
        pid = self.connect_pid()
        os.kill(pid, sig)
        deadline = time.monotonic() + STOP_WAIT_S
        while True:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError):
                break
            if state == "Z":  # exited, waiting for its parent to reap it
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"Connect (pid {pid}) still runs {STOP_WAIT_S:.0f}s after signal {sig}")
            time.sleep(0.2)

    def remove(self) -> None:
        try:
            self.run("reset", timeout=300)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Load:
    """loadgen on one source in a thread, kept going across outages: when the database goes away
    (the whole-stack restart) the run ends with an error, and a new run starts once it answers."""

    def __init__(self, target: str, env: dict[str, str]):
        self.target, self.env = target, env
        self.stop = threading.Event()
        self.runs: list[loadgen.Counts] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._work, name=f"restart-load-{target}", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        seed = 100
        while not self.stop.is_set():
            seed += 1
            try:
                self.runs.append(loadgen.run(self.target, self.env, rate=RATE, duration=3600, seed=seed,
                                             batch=BATCH, stop=self.stop))
            except Exception as e:  # the database was stopped under the load: expected, retried
                self.errors.append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                self.stop.wait(0.5)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), f"the {self.target} load did not stop"


# ---------------------------------------------------------------- ground truth at the sources

def mariadb_conn(env):
    import pymysql
    return pymysql.connect(**stackenv.mariadb_connect_kwargs(env), autocommit=True)


def mariadb_position(env) -> tuple[str, int]:
    conn = mariadb_conn(env)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            file, pos = cur.fetchone()[:2]
            return file, int(pos)
    finally:
        conn.close()


def mariadb_binlog_changes(env, start: tuple[str, int]) -> list[tuple[str, int, str]]:
    """(file, pos, gtid) of every row event on meterdb.meters from `start` on, from the binlog."""
    conn = mariadb_conn(env)
    out = []
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            files = sorted(r[0] for r in cur.fetchall() if r[0] >= start[0])
            for f in files:
                if f == start[0]:
                    cur.execute(f"SHOW BINLOG EVENTS IN '{f}' FROM {start[1]}")
                else:
                    cur.execute(f"SHOW BINLOG EVENTS IN '{f}'")
                tables: dict[str, str] = {}
                gtid = None
                for _, pos, etype, _, _, info in cur.fetchall():
                    if etype == "Gtid":
                        gtid = info.split("GTID", 1)[1].strip().split()[0]
                    elif etype == "Table_map":
                        tid, name = info.split("table_id:", 1)[1].split(None, 1)
                        tables[tid] = name.strip("()")
                    elif etype.startswith(("Write_rows", "Update_rows", "Delete_rows")):
                        tid = info.split("table_id:", 1)[1].split()[0]
                        if tables.get(tid) == "meterdb.meters":
                            out.append((f, int(pos), gtid))
    finally:
        conn.close()
    return out


def pg_admin(env):
    import psycopg
    kw = stackenv.pg_connect_kwargs(env)
    kw.update(user="postgres", password="postgres")
    return psycopg.connect(**kw, autocommit=True)


def pg_lsn(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def pg_position(env) -> int:
    with pg_admin(env) as conn:
        return pg_lsn(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])


def pg_slot_changes(env) -> list[tuple[int, int]]:
    """(lsn, xid) of every change to public.meter the check slot decoded, without consuming them."""
    with pg_admin(env) as conn:
        rows = conn.execute("SELECT lsn::text, xid::text::bigint, data FROM pg_logical_slot_peek_changes("
                            "%s, NULL, NULL)", (CHECK_SLOT,)).fetchall()
    return [(pg_lsn(lsn), xid) for lsn, xid, data in rows if data.startswith("table public.meter:")]


# ---------------------------------------------------------------- what is on the topics

@dataclasses.dataclass
class TopicView:
    positions: dict = dataclasses.field(default_factory=dict)   # change position -> times seen
    last: dict = dataclasses.field(default_factory=dict)        # key -> (position, op, after)
    messages: int = 0


def topic_start(env, topic: str) -> list:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": "restart-check-probe"})
    try:
        md = c.list_topics(topic, timeout=30)
        return [TopicPartition(topic, p, c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1])
                for p in sorted(md.topics[topic].partitions)]
    finally:
        c.close()


def read_topic(env, start_offsets: list, position_of, key_of, expected: set, timeout: float) -> TopicView:
    """Reads the topic from `start_offsets` until every expected position has been seen and the
    topic's end is reached, or `timeout` passes (the caller then reports what is missing)."""
    from confluent_kafka import Consumer, TopicPartition
    view = TopicView()
    c = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"], "group.id": "restart-check-reader",
                  "enable.auto.commit": False})
    try:
        c.assign(start_offsets)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                if expected <= view.positions.keys():
                    ends = [c.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)[1]
                            for tp in start_offsets]
                    pos = [p.offset for p in c.position(start_offsets)]
                    if all((p if p >= 0 else s.offset) >= e for p, e, s in zip(pos, ends, start_offsets)):
                        break
                continue
            if msg.error():
                raise AssertionError(f"Kafka error reading {msg.topic()}: {msg.error()}")
            view.messages += 1
            if msg.value() is None:
                continue  # tombstone after a delete
            payload = json.loads(msg.value())["payload"]
            if payload["source"].get("snapshot") not in (None, "false", False):
                continue
            pos = position_of(payload["source"])
            view.positions[pos] = view.positions.get(pos, 0) + 1
            key = key_of(json.loads(msg.key())["payload"])
            if key not in view.last or view.last[key][0] <= pos:
                view.last[key] = (pos, payload["op"], payload["after"])
    finally:
        c.close()
    return view


def mariadb_key(key: dict) -> str:
    """meters.id is BIGINT UNSIGNED, sent as a scale-0 Decimal (bigint.unsigned.handling.mode=precise)."""
    return str(int.from_bytes(base64.b64decode(key["id"]), "big", signed=True))


def zoned(text):
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def state_mismatches(view: TopicView, source_rows: dict, compare) -> list[str]:
    """Keys whose last state on the topic differs from the source table."""
    bad = []
    for key, (pos, op, after) in view.last.items():
        row = source_rows.get(key)
        if op == "d":
            if row is not None:
                bad.append(f"{key}: deleted on the topic, present in the source")
        elif row is None:
            bad.append(f"{key}: {op} at {pos} is the last on the topic, but the row is gone from the source")
        else:
            diff = compare(after, row)
            if diff:
                bad.append(f"{key}: last on the topic at {pos} differs from the source: {diff}")
    return bad


def compare_pg(after: dict, row: dict) -> str | None:
    got = (zoned(after["last_reading_at"]), after["manufacturer"], after["active"])
    want = (row["last_reading_at"], row["manufacturer"], row["active"])
    return None if got == want else f"topic {got} != source {want}"


def compare_mariadb(after: dict, row: dict) -> str | None:
    got = (zoned(after["last_reading_at"]), after["manufacturer"], after["status"], after["last_reading"])
    want = (row["last_reading_at"], row["manufacturer"], row["status"], row["last_reading"])
    return None if got == want else f"topic {got} != source {want}"


def pg_source_rows(env, keys) -> dict:
    import psycopg
    from psycopg.rows import dict_row
    with psycopg.connect(**stackenv.pg_connect_kwargs(env), row_factory=dict_row) as conn:
        rows = conn.execute("SELECT meter_id::text AS k, last_reading_at, manufacturer, active "
                            "FROM public.meter WHERE meter_id::text = ANY(%s)", (list(keys),)).fetchall()
    return {r["k"]: r for r in rows}


def mariadb_source_rows(env, keys) -> dict:
    import pymysql
    conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(env), cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            ids = [int(k) for k in keys] or [-1]
            cur.execute("SELECT CAST(id AS CHAR) AS k, last_reading_at, manufacturer, status, last_reading "
                        f"FROM meters WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
            rows = cur.fetchall()
    finally:
        conn.close()
    for r in rows:
        if r["last_reading_at"] is not None:
            r["last_reading_at"] = r["last_reading_at"].replace(tzinfo=dt.timezone.utc)
    return {r["k"]: r for r in rows}


# ---------------------------------------------------------------- the test

@pytest.fixture(scope="module")
def private_stack():
    busy = [f"{k}={p}" for k, p in PORTS.items() if not stackenv.port_free(p)]
    if busy:
        pytest.fail(f"the private stack's ports are taken ({', '.join(busy)}): another run of this test?")
    if not (REPO / ".local" / "venv").exists():
        pytest.fail("not installed: run ./install")
    s = PrivateStack()
    try:
        s.run("up")
        yield s
    finally:
        s.remove()
        left = [f"{k}={p}" for k, p in PORTS.items() if listening(p)]
        assert not left, f"ports still listening after the private stack's reset: {left}"


def phase_of(marks: list[tuple[str, object]], pos) -> str:
    """The name of the phase a source position falls in (marks: (phase, start position), ascending)."""
    name = marks[0][0]
    for n, start in marks:
        if pos >= start:
            name = n
    return name


def test_no_change_lost_across_connect_and_stack_restarts(private_stack):
    s = private_stack
    env = s.stackenv()
    with pg_admin(env) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (CHECK_SLOT,))
    pg_start_offsets = topic_start(env, env["PG_TOPIC"])
    mdb_start_offsets = topic_start(env, env["MARIADB_TOPIC"])
    marks_pg = [("before", 0)]
    marks_mdb = [("before", ("", 0))]

    def mark(name: str) -> None:
        marks_pg.append((name, pg_position(env)))
        marks_mdb.append((name, mariadb_position(env)))

    mark("load, Connect up")
    mdb_start = marks_mdb[-1][1]
    loads = [Load("postgres", env), Load("mariadb", env)]
    try:
        time.sleep(PHASE_S)
        mark("Connect stopped cleanly (SIGTERM)")
        s.stop_connect(signal.SIGTERM)
        time.sleep(PHASE_S / 2)  # changes committed while Connect is down
        s.run("up")
        mark("after clean restart")
        time.sleep(PHASE_S)
        mark("Connect killed (SIGKILL)")
        s.stop_connect(signal.SIGKILL)
        time.sleep(PHASE_S / 2)
        s.run("up")
        mark("after SIGKILL restart")
        time.sleep(PHASE_S)
        mark("./stack down and up")
        s.run("down")
        s.run("up")
        mark("after stack restart")
        time.sleep(PHASE_S)
    finally:
        for load in loads:
            load.finish()

    committed = {load.target: sum(r.ops for r in load.runs) for load in loads}
    assert all(committed.values()), f"the load committed nothing: {committed}"

    # Ground truth.
    mdb_expected = mariadb_binlog_changes(env, mdb_start)
    pg_expected = pg_slot_changes(env)
    with pg_admin(env) as conn:
        conn.execute("SELECT pg_drop_replication_slot(%s)", (CHECK_SLOT,))

    mdb_view = read_topic(env, mdb_start_offsets, lambda src: (src["file"], src["pos"]),
                          mariadb_key, {(f, p) for f, p, _ in mdb_expected}, CATCH_UP_S)
    pg_view = read_topic(env, pg_start_offsets, lambda src: src["lsn"],
                         lambda k: k["meter_id"], {lsn for lsn, _ in pg_expected}, CATCH_UP_S)

    # Per phase (by where the change was committed): committed, on the topic, missing, and how many
    # extra copies the replays after the restarts put there (allowed: at-least-once).
    report = []
    missing_all = {}
    for name, expected, view, marks in (
            ("mariadb", [(f, p) for f, p, _ in mdb_expected], mdb_view, marks_mdb),
            ("postgres", [lsn for lsn, _ in pg_expected], pg_view, marks_pg)):
        missing = [pos for pos in expected if pos not in view.positions]
        missing_all[name] = missing
        for phase, _ in marks[1:]:
            in_phase = [pos for pos in expected if phase_of(marks, pos) == phase]
            lost = [pos for pos in missing if phase_of(marks, pos) == phase]
            extra = sum(view.positions[pos] - 1 for pos in in_phase if view.positions.get(pos, 0) > 1)
            report.append(f"{name:8} {phase:36} committed {len(in_phase):5}  on topic "
                          f"{len(in_phase) - len(lost):5}  missing {len(lost):4}  duplicates {extra:5}")
    print("\n".join(report))
    print(f"loadgen runs ended by the stopped databases: { {load.target: len(load.errors) for load in loads} }")

    assert len(mdb_expected) > 0 and len(pg_expected) > 0
    assert not missing_all["mariadb"] and not missing_all["postgres"], (
        "committed source changes missing from the change topics:\n" + "\n".join(report)
        + f"\nfirst missing MariaDB positions: {missing_all['mariadb'][:5]}"
        + f"\nfirst missing PostgreSQL LSNs: {missing_all['postgres'][:5]}")

    bad = (state_mismatches(pg_view, pg_source_rows(env, pg_view.last), compare_pg)
           + state_mismatches(mdb_view, mariadb_source_rows(env, mdb_view.last), compare_mariadb))
    assert not bad, f"{len(bad)} keys whose last state on the topic is not the source's:\n" + "\n".join(bad[:20])
