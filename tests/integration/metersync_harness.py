"""Running the `metersync` binary against the local stack, and the Meter Master the spec expects.

Used by tests/integration/test_metersync_*.py. What lives here:

- `MeterSync`: one metersync process on the shipped config/metersync.yaml, pointed at fresh sink
  tables and a fresh consumer-group prefix (so tests never share progress), started, SIGKILLed,
  SIGTERMed and restarted by the test; it always ends its process.
- `expected_postgres` / `expected_mariadb`: the Meter Master rows the spec
  (shared/spec/meter-master.md, "Mapping rules") asks for, computed here in Python straight from the
  source tables, independently of the C++ mapper.
- `DeletedRowShadow`: the last values of every row the load generator deletes (a soft-deleted
  Meter Master row keeps its last known values, so the test must know them), read in the deleting
  transaction just before the DELETE.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "cdcstack") not in sys.path:
    sys.path.insert(0, str(REPO / "cdcstack"))

from stackenv import free_port  # noqa: E402  (the tests' port picker, also for prometheus_harness)

# The Meter Master columns, in table order; the first 13 are compared value for value.
MAPPED = ("SourceSystem", "SourceMeterId", "SerialNumber", "MeterType", "Manufacturer", "Status",
          "InstallDate", "Multiplier", "LastReadingValue", "LastReadingAt", "Latitude", "Longitude",
          "IsDeleted")
BOOKKEEPING = ("SourceCommittedAt", "SourcePosition", "SyncedAt")




def binary() -> Path:
    path = Path(os.environ.get("METERSYNC_BIN", REPO / "build" / "src" / "app" / "metersync"))
    if not path.exists():
        raise AssertionError(f"metersync binary not found at {path}: build it (cmake --build build) "
                             f"or set METERSYNC_BIN")
    return path


def wait_until(predicate, timeout: float, what: str, interval: float = 1.0):
    """Polls predicate() until it returns a truthy value; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The process

@dataclass
class Names:
    """Per-test identities: sink tables and consumer groups nobody else uses."""
    suffix: str

    @classmethod
    def fresh(cls) -> "Names":
        return cls(uuid.uuid4().hex[:10])

    @property
    def table(self) -> str:
        return f"MM_it_{self.suffix}"

    @property
    def offsets_table(self) -> str:
        return f"MSO_it_{self.suffix}"

    @property
    def truncates_table(self) -> str:
        return f"MST_it_{self.suffix}"

    @property
    def group_prefix(self) -> str:
        return f"it-{self.suffix}"

    def group(self, source: str) -> str:
        return f"{self.group_prefix}-{source}"


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    new, n = re.subn(pattern, replacement, text, count=0, flags=re.MULTILINE)
    if n != 1:
        raise AssertionError(f"config/metersync.yaml changed shape: {pattern!r} matched {n} times")
    return new


def write_config(names: Names, directory: Path) -> Path:
    """The shipped configuration, with this test's tables and group prefix."""
    text = (REPO / "config" / "metersync.yaml").read_text()
    text = _replace_once(text, r"^(\s+group_prefix:\s*)\S+", rf"\g<1>{names.group_prefix}")
    text = _replace_once(text, r"^(\s+table:\s*)MeterMaster\b", rf"\g<1>{names.table}")
    text = _replace_once(text, r"^(\s+offsets_table:\s*)\S+", rf"\g<1>{names.offsets_table}")
    text = _replace_once(text, r"^(\s+truncates_table:\s*)\S+", rf"\g<1>{names.truncates_table}")
    path = directory / "metersync.yaml"
    path.write_text(text)
    return path


class MeterSync:
    """One metersync process at a time; every process it starts is ended by stop()/kill()/close()."""

    def __init__(self, env: dict[str, str], names: Names, directory: Path):
        self.names = names
        self.directory = directory
        self.config = write_config(names, directory)
        self.status_file = directory / "status.json"
        # Its own listener port, so tests may run several metersyncs side by side.
        self.http_port = free_port()
        self.env = {**os.environ, **env, "METERSYNC_STATUS_FILE": str(self.status_file),
                    "METERSYNC_HTTP_LISTEN": f"127.0.0.1:{self.http_port}"}
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        return self.directory / f"metersync-{self.runs}.log"

    def start(self, *args: str) -> None:
        assert self.proc is None, "already running"
        self.runs += 1
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(binary()), "--config", str(self.config), "run", *args],
                                     cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError(f"metersync did not exit within {timeout}s of SIGTERM; log:\n{self.log_tail()}")
        finally:
            self.proc = None
        return code

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None

    def status(self) -> dict | None:
        try:
            return json.loads(self.status_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def wait_for_status(self, holds, timeout: float, what: str) -> dict:
        """The first status file for which holds(status) is true. The file is rewritten once a
        second and its counters move only when a batch commits, so a count checked right after
        the rows or dead letters are seen may still be the previous one."""
        return wait_until(lambda: (s := self.status()) and holds(s) and s, timeout, what)

    def get(self, path: str, timeout: float = 5) -> tuple[int, str]:
        """GET on the process's listener: (HTTP status, body); (0, reason) when nothing answers."""
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


# ---------------------------------------------------------------------------------------------
# The sink side: Meter Master and the offsets table of one test

def sink_connect(env: dict[str, str]):
    import psycopg
    import stackenv
    conn = psycopg.connect(**stackenv.pg_connect_kwargs(env, dbname=env.get("PG_SINK_DB", "metermaster")),
                           autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def meter_master(conn, names: Names) -> dict[tuple[str, str], dict]:
    """Meter Master rows keyed by (SourceSystem, SourceMeterId); {} while the table does not exist."""
    exists = conn.execute("SELECT to_regclass(%s)", (f'public."{names.table}"',)).fetchone()[0]
    if exists is None:
        return {}
    cols = ", ".join(f'"{c}"' for c in (*MAPPED, *BOOKKEEPING))
    cur = conn.execute(f'SELECT {cols} FROM public."{names.table}"')
    out = {}
    for values in cur.fetchall():
        row = dict(zip((*MAPPED, *BOOKKEEPING), values))
        out[(row["SourceSystem"], row["SourceMeterId"])] = row
    return out


def offsets(conn, names: Names) -> list[dict]:
    exists = conn.execute("SELECT to_regclass(%s)", (f'public."{names.offsets_table}"',)).fetchone()[0]
    if exists is None:
        return []
    cur = conn.execute(f'SELECT "pipeline", "topic", "partition", "next_offset", "records_applied" '
                       f'FROM public."{names.offsets_table}"')
    return [dict(zip(("pipeline", "topic", "partition", "next_offset", "records_applied"), r))
            for r in cur.fetchall()]


def drop_sink_tables(conn, names: Names) -> None:
    conn.execute(f'DROP TABLE IF EXISTS public."{names.table}"')
    conn.execute(f'DROP TABLE IF EXISTS public."{names.offsets_table}"')
    conn.execute(f'DROP TABLE IF EXISTS public."{names.truncates_table}"')


# ---------------------------------------------------------------------------------------------
# The deleted-row shadow

class DeletedRowShadow:
    """Records the last values of every row the load generator deletes.

    Wraps loadgen's single-row delete: in the same transaction, just before the DELETE, the row is
    read (locked) with the columns the expected mapping needs. Rows deleted by anything else are
    not known here; compare() then checks only their IsDeleted flag."""

    def __init__(self):
        self.rows: dict[str, list[tuple]] = {"postgres": [], "mariadb": []}
        self._lock = threading.Lock()
        self._original = None

    def __enter__(self) -> "DeletedRowShadow":
        import loadgen
        original = loadgen._Source.delete
        shadow = self

        def delete(source, key: str) -> bool:
            if source.target == "postgres":
                row = source.conn.execute(PG_SELECT.format(table="public.meter") +
                                          " WHERE meter_id = %s FOR UPDATE", (key,)).fetchone()
            else:
                with source.conn.cursor() as cur:
                    cur.execute(MARIADB_SELECT_UTC.format(table="meters") + " WHERE id = %s FOR UPDATE",
                                (int(key),))
                    row = cur.fetchone()
            deleted = original(source, key)
            if deleted and row is not None:
                with shadow._lock:
                    shadow.rows[source.target].append(row)
            return deleted

        self._original = original
        loadgen._Source.delete = delete
        return self

    def __exit__(self, *exc) -> None:
        import loadgen
        loadgen._Source.delete = self._original


# ---------------------------------------------------------------------------------------------
# The spec's mapping, in Python (shared/spec/meter-master.md, "Mapping rules")

def half_away(value: Decimal | None, places: int) -> Decimal | None:
    """Rounds half away from zero (decimal's ROUND_HALF_UP is exactly that)."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def double_value(value: float | None) -> Decimal | None:
    """A DOUBLE as the source shows it: the shortest decimal that reads back as the same double
    (what MariaDB clients print and Debezium's JSON carries), not the binary fraction's full
    expansion."""
    return None if value is None else Decimal(repr(float(value)))


def _utc_naive(ts):
    import datetime as dt
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return ts


PG_SELECT = """SELECT meter_id::text, serial_number, kind, manufacturer, active, removed_at, installed_on,
                      multiplier, last_reading, last_reading_at,
                      location->>'lat', location->>'lon'
               FROM {table}"""


def _map_postgres(r) -> dict:
    (meter_id, serial, kind, manufacturer, active, removed_at, installed_on, multiplier, last_reading,
     last_reading_at, lat, lon) = r
    status = "removed" if removed_at is not None else ("active" if active else "inactive")
    return {
        "SourceSystem": "postgres",
        "SourceMeterId": str(uuid.UUID(meter_id)),  # lower-case canonical
        "SerialNumber": serial,
        "MeterType": kind,
        "Manufacturer": manufacturer,
        "Status": status,
        "InstallDate": installed_on,
        "Multiplier": multiplier,
        "LastReadingValue": half_away(last_reading, 3),
        "LastReadingAt": _utc_naive(last_reading_at),
        # location->>'lat' is the member as text (a JSON number's text, or a JSON string's content)
        "Latitude": half_away(None if lat is None else Decimal(lat), 6),
        "Longitude": half_away(None if lon is None else Decimal(lon), 6),
    }


MARIADB_SELECT = ("SELECT id, serial, type, manufacturer, status, installed_at, multiplier, last_reading, "
                  "last_reading_at, latitude, longitude FROM {table}")
# The same in UTC whatever the session's time zone (a TIMESTAMP is read in the session's zone).
MARIADB_SELECT_UTC = ("SELECT id, serial, type, manufacturer, status, installed_at, multiplier, last_reading, "
                      "CONVERT_TZ(last_reading_at, @@session.time_zone, '+00:00'), latitude, longitude "
                      "FROM {table}")


def _map_mariadb(r) -> dict:
    (id_, serial, type_, manufacturer, status, installed_at, multiplier, last_reading, last_reading_at,
     latitude, longitude) = r
    return {
        "SourceSystem": "mysql",
        "SourceMeterId": str(int(id_)),
        "SerialNumber": serial,
        "MeterType": type_,
        "Manufacturer": manufacturer,
        "Status": status,
        "InstallDate": None if installed_at is None else installed_at.date(),
        "Multiplier": multiplier,
        "LastReadingValue": half_away(double_value(last_reading), 3),
        "LastReadingAt": last_reading_at,  # TIMESTAMP(6), converted to UTC by the query
        "Latitude": half_away(double_value(latitude), 6),
        "Longitude": half_away(double_value(longitude), 6),
    }


@dataclass
class Expected:
    live: dict[tuple[str, str], dict]     # rows in the source table now: IsDeleted = 0
    deleted: dict[tuple[str, str], dict]  # rows deleted while the shadow ran: last values, IsDeleted = 1


def expected_postgres(env: dict[str, str], shadow: DeletedRowShadow | None = None) -> Expected:
    import psycopg
    import stackenv
    with psycopg.connect(**stackenv.pg_connect_kwargs(env), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        live = [_map_postgres(r) for r in conn.execute(PG_SELECT.format(table="public.meter")).fetchall()]
    gone = [_map_postgres(r) for r in shadow.rows["postgres"]] if shadow else []
    return _expected(live, gone)


def expected_mariadb(env: dict[str, str], shadow: DeletedRowShadow | None = None) -> Expected:
    import pymysql
    import stackenv
    conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(env), autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(MARIADB_SELECT_UTC.format(table="meters"))
            live = [_map_mariadb(r) for r in cur.fetchall()]
    finally:
        conn.close()
    gone = [_map_mariadb(r) for r in shadow.rows["mariadb"]] if shadow else []
    return _expected(live, gone)


def _expected(live_rows: list[dict], gone_rows: list[dict]) -> Expected:
    live = {(r["SourceSystem"], r["SourceMeterId"]): {**r, "IsDeleted": False} for r in live_rows}
    deleted = {}
    for r in gone_rows:  # a key deleted twice keeps the later row (it was re-created in between)
        key = (r["SourceSystem"], r["SourceMeterId"])
        if key not in live:
            deleted[key] = {**r, "IsDeleted": True}
    return Expected(live, deleted)


def _same(a, b) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b  # numeric equality; the column type fixes the scale
    return a == b


def compare(expected: Expected, actual: dict[tuple[str, str], dict], source_system: str) -> list[str]:
    """Differences between the expected and the actual Meter Master rows of one source system.

    Every live source row must be present with all 13 compared columns equal; every row deleted
    under the shadow must be present, IsDeleted, with its last values; any other Meter Master row
    of that source must be a soft-deleted row (deleted before the shadow existed: only the flag is
    known). Bookkeeping columns must be filled."""
    problems: list[str] = []
    mine = {k: v for k, v in actual.items() if k[0] == source_system}
    for key, want in {**expected.deleted, **expected.live}.items():
        got = mine.get(key)
        if got is None:
            problems.append(f"{key}: missing from Meter Master (expected {want})")
            continue
        diffs = [f"{c}: want {want[c]!r} got {got[c]!r}" for c in MAPPED if not _same(want[c], got[c])]
        if diffs:
            problems.append(f"{key}: " + "; ".join(diffs))
        if got["SourceCommittedAt"] is None or not got["SourcePosition"] or got["SyncedAt"] is None:
            problems.append(f"{key}: bookkeeping columns not filled: "
                            f"{[got[c] for c in BOOKKEEPING]}")
    for key, got in mine.items():
        if key not in expected.live and key not in expected.deleted and not got["IsDeleted"]:
            problems.append(f"{key}: in Meter Master as live but not in the source table")
    return problems


def topic_record_counts(bootstrap: str, topic: str, upto: dict[int, int]) -> int:
    """Counts the records of `topic` below the given next offset of each partition, by reading them
    (offsets can have gaps, so the offset arithmetic alone would not prove a count)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-count-{uuid.uuid4()}",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        pending = {p: end for p, end in upto.items() if end > 0}
        if not pending:
            return 0
        c.assign([TopicPartition(topic, p, 0) for p in pending])
        count = 0
        deadline = time.monotonic() + 300
        while pending:
            if time.monotonic() > deadline:
                raise AssertionError(f"counting {topic}: partitions {pending} not read to their end in time")
            msg = c.poll(1.0)
            if msg is None:
                continue
            p = msg.partition()
            if msg.error():
                continue  # partition EOF: records below `upto` may still be arriving
            if p in pending and msg.offset() < pending[p]:
                count += 1
                if msg.offset() == pending[p] - 1:
                    del pending[p]
        return count
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# A TCP relay that can cut a connection path (the sink's) on demand

class CuttableRelay:
    """Relays 127.0.0.1:<port> to a target port. cut() drops every open connection and refuses new
    ones (accepted, then closed at once) until restore(): the server looks unreachable to the
    client while it keeps running for everyone else. `delay_s` > 0 waits that long before
    forwarding each chunk, each way: a slow network to the server."""

    delay_s = 0.0

    def __init__(self, target_port: int):
        import socket
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list = []
        self._cut = False
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import socket
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                if self._cut:
                    client.close()
                    continue
                try:
                    server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                except OSError:
                    client.close()
                    continue
                # The 5 s bound is for connecting only: a timeout left on the sockets would drop
                # every connection idle for 5 s, as if the server had gone.
                server.settimeout(None)
                client.settimeout(None)
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst) -> None:
        import socket
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # shutdown() before close(): the pump of the other direction is blocked in recv() on
            # one of these sockets, and close() alone neither wakes it nor sends the FIN while it
            # waits. The server side would then keep the session of a client that is gone (a
            # PostgreSQL session idle in transaction holding the writer lock, after a SIGKILL).
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._open = [s for s in self._open if s not in (src, dst)]

    def cut(self) -> None:
        import socket
        with self._lock:
            self._cut = True
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self.cut()
        self._stopped = True
        self._thread.join(timeout=5)
        self._listener.close()
