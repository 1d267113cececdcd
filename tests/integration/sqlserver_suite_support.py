"""Support for tests/integration/test_sqlserver_*.py: the opt-in SQL Server suite.

The suite runs the real `metersync` binary with `sink.dialect: sqlserver` against the server named
by METERSYNC_SQLSERVER_ODBC (an ODBC connection string, e.g. FreeTDS to SQL Server or Babelfish)
and compares what lands there with a PostgreSQL Meter Master built from the same events by a
second metersync. Process handling is metersync_harness.MeterSync; what lives here:

- `write_suite_config`: the shipped config/metersync.yaml with the mappings unchanged, but this
  run's dialect, connection (through an environment variable, so no secret is written), tables,
  group prefix, topics and dead-letter topics, the chosen sources enabled, and no endpoints.
- Debezium SQL Server events built in Python (`SqlServerEvents`), in the encodings of the
  fixtures in tests/fixtures/debezium/sqlserver (Connect Decimal bytes, NanoTimestamp, Date).
- Kafka helpers: own topics, producing with acknowledgement, end offsets, dead letters.
- Timing a drain (`timed_drain`): metersync started on records already produced, timed from the
  first commit to the last by polling the offsets table; the stage path a run used (`stage_used`).
- Reading Meter Master and the offsets table over ODBC (pyodbc), and comparing two Meter Masters
  when both have covered exactly the same records.
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from metersync_harness import BOOKKEEPING, MAPPED, REPO, binary, wait_until

ENV_VAR = "METERSYNC_SQLSERVER_ODBC"
CONNECTION = os.environ.get(ENV_VAR, "")
SKIP_REASON = (f"SQL Server suite skipped: {ENV_VAR} is not set "
               f"(no SQL Server-compatible server to run the sink's SQL Server path on)")

FIXTURES = REPO / "tests" / "fixtures" / "debezium"
# Fixture files in the order a connector would have written them.
FIXTURE_ORDER = {
    "sqlserver": ("snapshot_read", "create_edge_values", "update", "delete"),
    "oracle": ("snapshot_read", "create_edge_values", "update", "delete", "truncate"),
}
FIXTURE_KEY_FIELD = {"sqlserver": ("MeterID", "int32"), "oracle": ("METER_NO", "int64")}


# ---------------------------------------------------------------------------------------------
# Configuration

def _sub_once(text: str, pattern: str, replacement: str) -> str:
    new, n = re.subn(pattern, lambda _m: replacement, text, flags=re.MULTILINE)
    if n != 1:
        raise AssertionError(f"config/metersync.yaml changed shape: {pattern!r} matched {n} times")
    return new


def _source_blocks(text: str) -> tuple[str, list[tuple[str, list[str]]]]:
    """Splits the shipped file into what precedes `sources:` and one line list per source."""
    head, sep, rest = text.partition("\nsources:\n")
    if not sep:
        raise AssertionError("config/metersync.yaml has no top-level `sources:` section")
    blocks: list[tuple[str, list[str]]] = []
    for line in rest.splitlines():
        m = re.match(r"^  ([a-z0-9_]+):\s*$", line)
        if m:
            blocks.append((m.group(1), []))
        elif blocks:
            blocks[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"config/metersync.yaml: unexpected line under sources: {line!r}")
    return head + "\nsources:\n", blocks


def _without_endpoint(lines: list[str]) -> list[str]:
    out, skipping = [], False
    for line in lines:
        if re.match(r"^    endpoint:\s*$", line):
            skipping = True
            continue
        if skipping and (line.startswith("      ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return out


def write_suite_config(path: Path, *, dialect: str, connection_var: str, table: str, offsets_table: str,
                       truncates_table: str,
                       group_prefix: str, topics: dict[str, str], dead_letter_topics: dict[str, str],
                       sink_settings: dict[str, str] | None = None) -> Path:
    """Writes the shipped configuration with this run's sink and Kafka names.

    `topics` maps the shipped source names (postgres, mysql, mssql, oracle) to the topics to read;
    sources not named there are disabled. The connection string is `${connection_var}`, so it is
    read from the environment and never written to the file. `sink_settings` adds (or replaces)
    keys of the `sink:` section, e.g. {"sqlserver_stage": "rows"}."""
    text = (REPO / "config" / "metersync.yaml").read_text()
    text = _sub_once(text, r"^  group_prefix:.*$", f"  group_prefix: {group_prefix}")
    text = _sub_once(text, r"^  dialect:.*$", f"  dialect: {dialect}")
    text = _sub_once(text, r"^  connection:.*$", f"  connection: ${{{connection_var}}}")
    text = _sub_once(text, r"^  table:.*$", f"  table: {table}")
    text = _sub_once(text, r"^  offsets_table:.*$", f"  offsets_table: {offsets_table}")
    text = _sub_once(text, r"^  truncates_table:.*$", f"  truncates_table: {truncates_table}")
    for key, value in (sink_settings or {}).items():
        if not re.fullmatch(r"[a-z_]+", key):
            raise ValueError(f"not a sink key: {key!r}")
        if re.search(rf"^  {key}:", text, flags=re.MULTILINE):
            text = _sub_once(text, rf"^  {key}:.*$", f"  {key}: {value}")
        else:
            text = _sub_once(text, r"^sink:\s*$", f"sink:\n  {key}: {value}")
    head, blocks = _source_blocks(text)
    names = [name for name, _ in blocks]
    missing = set(topics) - set(names)
    if missing:
        raise AssertionError(f"config/metersync.yaml has no sources {sorted(missing)} (it has {names})")
    out = [head.rstrip("\n")]
    for name, lines in blocks:
        lines = [ln for ln in _without_endpoint(lines)
                 if not re.match(r"^    (enabled|topic|dead_letter_topic):", ln)]
        out.append(f"  {name}:")
        out.append(f"    enabled: {'true' if name in topics else 'false'}")
        if name in topics:
            out.append(f"    topic: {topics[name]}")
            out.append(f"    dead_letter_topic: {dead_letter_topics[name]}")
        else:
            out.append(f"    topic: unused.disabled.{name}")
        out.extend(ln for ln in lines if ln.strip())
    path.write_text("\n".join(out) + "\n")
    return path


def run_init(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary()), "--config", str(config), "init"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# Debezium events

def decimal_bytes(value: Decimal, scale: int) -> str:
    """Kafka Connect's Decimal: the unscaled value as big-endian two's complement, base64."""
    unscaled = int(value.scaleb(scale))
    if Decimal(unscaled).scaleb(-scale) != value:
        raise ValueError(f"{value} has more than {scale} decimal places")
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


EPOCH = dt.datetime(1970, 1, 1)


def nano_timestamp(value: dt.datetime, extra_nanos: int = 0) -> int:
    """io.debezium.time.NanoTimestamp: nanoseconds since the epoch of a zone-less DATETIME2."""
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000 + extra_nanos


def epoch_days(value: dt.date) -> int:
    return (value - EPOCH.date()).days


class SqlServerEvents:
    """Debezium SQL Server change events for dbo.Meters, built on the snapshot fixture's schema.

    Each event gets the next commit LSN, so positions grow in production order."""

    def __init__(self, first_lsn: int = 0x100):
        self.template = json.loads((FIXTURES / "sqlserver" / "snapshot_read.json").read_text())
        self.lsn = first_lsn

    @staticmethod
    def row(*, meter_id: int, serial: str, type_code: str = "E", manufacturer: str | None = None,
            status_code: int = 1, install_date: dt.date | None = None, multiplier: Decimal = Decimal(1),
            last_read_kwh: Decimal | None = None, last_read_at: int | None = None,
            lat: Decimal | None = None, lon: Decimal | None = None) -> dict:
        """A dbo.Meters row in the connector's encodings (the `before`/`after` of an event)."""
        return {
            "MeterID": meter_id, "SerialNo": serial, "MeterTypeCode": type_code,
            "Manufacturer": manufacturer, "StatusCode": status_code,
            "InstallDate": None if install_date is None else epoch_days(install_date),
            "Multiplier": decimal_bytes(multiplier, 4),
            "LastReadKwh": None if last_read_kwh is None else decimal_bytes(last_read_kwh, 3),
            "LastReadAt": last_read_at,
            "Lat": None if lat is None else decimal_bytes(lat, 6),
            "Lon": None if lon is None else decimal_bytes(lon, 6),
        }

    def create(self, *, ts_ms: int = 1764000000000, op: str = "c", before: dict | None = None,
               **row) -> tuple[bytes, bytes]:
        """The next change event of the row given by `row`'s keywords (see row()): an insert
        (`op` "c"), or with `op` "u" and the previous row as `before`, an update."""
        self.lsn += 1
        value = copy.deepcopy(self.template)
        payload = value["payload"]
        payload["op"] = op
        payload["before"] = before
        payload["after"] = after = self.row(**row)
        source = payload["source"]
        source.update(snapshot="false", ts_ms=ts_ms, ts_us=ts_ms * 1000, ts_ns=ts_ms * 1_000_000, change_lsn=f"{self.lsn:08x}:00000010:0002",
                      commit_lsn=f"{self.lsn:08x}:00000010:0003", event_serial_no=1)
        payload.update(ts_ms=ts_ms + 5, ts_us=(ts_ms + 5) * 1000, ts_ns=(ts_ms + 5) * 1_000_000)
        # Compact, as Kafka Connect's JsonConverter writes it (and as the captured fixtures are):
        # metersync keeps a held record's shared schema prefix once only when the bytes match it.
        return fixture_key("sqlserver", after["MeterID"]), json.dumps(value, separators=(",", ":")).encode()


def fixture_key(connector: str, key_value: int) -> bytes:
    field, kind = FIXTURE_KEY_FIELD[connector]
    return json.dumps({"schema": {"type": "struct", "optional": False,
                                  "fields": [{"type": kind, "optional": False, "field": field}]},
                       "payload": {field: key_value}}, separators=(",", ":")).encode()


def fixture_records(connector: str) -> list[tuple[bytes | None, bytes]]:
    """The fixture files of one connector as (key, value) records, in production order."""
    field, _ = FIXTURE_KEY_FIELD[connector]
    out = []
    for name in FIXTURE_ORDER[connector]:
        raw = (FIXTURES / connector / f"{name}.json").read_bytes()
        payload = json.loads(raw)["payload"]
        row = payload.get("after") or payload.get("before")
        out.append((None if row is None else fixture_key(connector, row[field]), raw.strip()))
    return out


# ---------------------------------------------------------------------------------------------
# Kafka

def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                  request_timeout=30)
    futures[topic].result()


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=30).topics)
    doomed = [t for t in topics if t in existing]
    if doomed:
        for f in admin.delete_topics(doomed, request_timeout=30).values():
            try:
                f.result()
            except Exception:  # already gone
                pass


def delete_groups(bootstrap: str, groups: list[str], patience_s: float = 60) -> None:
    """Deletes the groups; a group still holding members of a SIGKILLed process (until the broker's
    session timeout) is retried for up to `patience_s`."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    pending = list(groups)
    deadline = time.monotonic() + patience_s
    while pending:
        busy = []
        for group, f in admin.delete_consumer_groups(pending, request_timeout=15).items():
            try:
                f.result()
            except Exception as e:  # a group that never committed does not exist: nothing to delete
                error = e.args[0] if e.args else None
                if getattr(error, "code", lambda: None)() == KafkaError.NON_EMPTY_GROUP:
                    busy.append(group)
        if not busy or time.monotonic() > deadline:
            return
        pending = busy
        time.sleep(2)


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]]) -> list[tuple[int, int]]:
    """Produces the records in order (idempotent producer) and returns each one's (partition, offset)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    where: list[tuple[int, int] | None] = [None] * len(records)
    errors = []

    def delivered(i):
        def cb(err, msg):
            if err is not None:
                errors.append(err)
            else:
                where[i] = (msg.partition(), msg.offset())
        return cb

    for i, (key, value) in enumerate(records):
        p.produce(topic, key=key, value=value, on_delivery=delivered(i))
        p.poll(0)
    assert p.flush(60) == 0, f"records to {topic} not acknowledged"
    assert not errors, errors
    return [w for w in where if w is not None]


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-sqlsrv-ends-{uuid.uuid4()}"})
    try:
        md = c.list_topics(topic, timeout=30).topics[topic]
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in md.partitions}
    finally:
        c.close()


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 300) -> list:
    """Reads `topic` from its beginning until `expected` records were seen; returns the messages."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-sqlsrv-read-{uuid.uuid4()}",
                  "enable.auto.commit": False})
    got = []
    try:
        wait_until(lambda: topic in c.list_topics(timeout=30).topics, timeout, f"topic {topic} to exist", 2)
        md = c.list_topics(topic, timeout=30).topics[topic]
        c.assign([TopicPartition(topic, p, 0) for p in md.partitions])

        def poll():
            msg = c.poll(1.0)
            if msg is not None and not msg.error():
                got.append(msg)
            return len(got) >= expected

        wait_until(poll, timeout, f"{expected} records on {topic}", interval=0)
        # Anything beyond the expected count would be a second dead letter: look for it briefly.
        end = time.monotonic() + 3
        while time.monotonic() < end:
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
        return got
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# Timing a drain

@dataclass
class Drain:
    """One timed drain: metersync started on `records` records already on the topic.

    `first_applied` records were in the first commit seen (at `first_s` after the start); the
    rest, `records - first_applied`, were applied between that commit and the last one
    (`last_s`). The steady rate counts only those, over only that time: neither the process
    start nor the first batch (fetch, decode and write before anything shows) is in it."""
    records: int
    first_applied: int
    first_s: float
    last_s: float
    polls: int

    @property
    def steady_records(self) -> int:
        return self.records - self.first_applied

    @property
    def steady_s(self) -> float:
        return self.last_s - self.first_s

    @property
    def steady_rate(self) -> float | None:
        """Changes/s from the first applied to the last applied; None when one commit took all."""
        return self.steady_records / self.steady_s if self.steady_records > 0 and self.steady_s > 0 else None

    @property
    def rate_with_start(self) -> float:
        return self.records / self.last_s if self.last_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {"records": self.records, "first_applied": self.first_applied, "first_s": self.first_s,
                "last_s": self.last_s, "steady_records": self.steady_records, "steady_s": self.steady_s,
                "steady_rate": self.steady_rate, "rate_with_start": self.rate_with_start, "polls": self.polls}

    def line(self, label: str) -> str:
        rate = self.steady_rate
        steady = (f"{self.steady_records} changes in {self.steady_s:.2f}s = {rate:,.0f} changes/s (first applied "
                  f"to last, after a first commit of {self.first_applied}"
                  if rate is not None else
                  f"all {self.records} changes in one commit, no steady rate (first applied to last: one commit")
        return (f"{label}: {steady}; all {self.records} in {self.last_s:.2f}s = {self.rate_with_start:,.0f} "
                f"changes/s with process start)")


def timed_drain(start, applied, before: int, records: int, timeout: float, alive=None,
                interval: float = 0.02) -> Drain:
    """Calls start() (which starts metersync on records already produced) and polls applied()
    (the records applied so far, as the offsets table counts them; committed with the rows) every
    `interval` s until it reaches before + records. alive() raises if the process died."""
    t0 = time.monotonic()
    start()
    first_s = first_n = None
    polls = 0
    while True:
        n = applied() - before
        now = time.monotonic() - t0
        polls += 1
        if n > 0 and first_s is None:
            first_s, first_n = now, n
        if n >= records:
            return Drain(records=records, first_applied=first_n, first_s=first_s, last_s=now, polls=polls)
        if alive is not None:
            alive()
        if now > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s: {n} of {records} records applied")
        time.sleep(interval)


def failing(status: dict | None, retries: int = 8) -> str | None:
    """The last error of a source whose pipeline is failing again and again (state `failed` after
    at least `retries` retries, as the status file says), so a drain that cannot succeed stops
    early with the reason instead of waiting out its timeout; None otherwise."""
    for name, s in ((status or {}).get("sources") or {}).items():
        if s.get("state") == "failed" and int(s.get("retries") or 0) >= retries:
            return f"{name}: {s.get('last_error')} ({s.get('retries')} retries)"
    return None


STAGE_LINE = re.compile(r"sqlserver stage:\s*([A-Za-z_]+)")


def stage_used(log_text: str, status: dict | None = None) -> str | None:
    """The SQL Server stage path a metersync used (json, rows), as its log line `sqlserver stage: …`
    or its status file says; None when neither says (a binary from before the stage key)."""
    found = STAGE_LINE.findall(log_text or "")
    if found:
        return found[-1].lower()
    sink = (status or {}).get("sink")
    if isinstance(sink, dict) and isinstance(sink.get("stage"), str) and sink["stage"]:
        return sink["stage"].lower()
    return None


# ---------------------------------------------------------------------------------------------
# The SQL Server side

def tds_connect():
    import pyodbc  # needed only when the suite runs (requirements.txt)
    conn = pyodbc.connect(CONNECTION, autocommit=True)
    return conn


def tds_meter_master(conn, table: str) -> dict[tuple[str, str], dict]:
    cur = conn.cursor()
    if cur.execute("SELECT OBJECT_ID(?, 'U')", f"dbo.{table}").fetchone()[0] is None:
        return {}
    cols = ", ".join(f"[{c}]" for c in (*MAPPED, *BOOKKEEPING))
    out = {}
    for values in cur.execute(f"SELECT {cols} FROM [dbo].[{table}]").fetchall():
        row = dict(zip((*MAPPED, *BOOKKEEPING), values))
        row["IsDeleted"] = bool(row["IsDeleted"])
        if isinstance(row["InstallDate"], str):  # some drivers hand DATE over as text
            row["InstallDate"] = dt.date.fromisoformat(row["InstallDate"])
        out[(row["SourceSystem"], row["SourceMeterId"])] = row
    return out


def tds_offsets(conn, table: str) -> list[dict]:
    cur = conn.cursor()
    if cur.execute("SELECT OBJECT_ID(?, 'U')", f"dbo.{table}").fetchone()[0] is None:
        return []
    rows = cur.execute(f"SELECT [pipeline], [topic], [partition], [next_offset], [records_applied] "
                       f"FROM [dbo].[{table}]").fetchall()
    return [dict(zip(("pipeline", "topic", "partition", "next_offset", "records_applied"), r)) for r in rows]


def tds_drop(conn, *tables: str) -> None:
    cur = conn.cursor()
    for t in tables:
        cur.execute(f"DROP TABLE IF EXISTS [dbo].[{t}]")


def progress(offset_rows: list[dict]) -> dict[str, tuple[dict[int, int], int]]:
    """Per topic: ({partition: next_offset}, records_applied summed over its partitions)."""
    out: dict[str, tuple[dict[int, int], int]] = {}
    for r in offset_rows:
        parts, applied = out.get(r["topic"], ({}, 0))
        parts[int(r["partition"])] = int(r["next_offset"])
        out[r["topic"]] = (parts, applied + int(r["records_applied"]))
    return out


def settled(read_offsets, read_rows):
    """Rows read between two equal readings of the offsets table: the rows of exactly those
    offsets (rows and offsets are committed in one transaction). Returns (progress, rows)."""
    for _ in range(20):
        before = progress(read_offsets())
        rows = read_rows()
        if progress(read_offsets()) == before:
            return before, rows
    raise AssertionError("the offsets kept moving while Meter Master was read")


def covers(prog: dict, ends: dict[str, dict[int, int]]) -> bool:
    """Whether the stored offsets reach the given end offsets of every topic."""
    for topic, parts in ends.items():
        stored = prog.get(topic, ({}, 0))[0]
        if any(end > 0 and stored.get(p, 0) < end for p, end in parts.items()):
            return False
    return True


COMPARED = (*MAPPED, "SourceCommittedAt", "SourcePosition")


def differences(tds_rows: dict, pg_rows: dict) -> list[str]:
    """Row for row, every column but SyncedAt (the write time of each sink), which must be filled."""
    problems = []
    for key in sorted(set(tds_rows) | set(pg_rows)):
        a, b = tds_rows.get(key), pg_rows.get(key)
        if a is None or b is None:
            problems.append(f"{key}: only in {'PostgreSQL' if a is None else 'SQL Server'} Meter Master")
            continue
        diffs = [f"{c}: sqlserver {a[c]!r} postgres {b[c]!r}" for c in COMPARED if a[c] != b[c]]
        if a["SyncedAt"] is None or b["SyncedAt"] is None:
            diffs.append("SyncedAt not filled")
        if diffs:
            problems.append(f"{key}: " + "; ".join(diffs))
    return problems
