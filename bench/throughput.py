"""Part 1 and 3: drain one topic of Debezium events into Meter Master on PostgreSQL with metersync,
with Debezium's JDBC sink connector, and with COPY + one set-based upsert (the database ceiling);
CPU and resident memory of metersync and of the Connect worker while they drain."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import events
import procstat
from endpoint_service import EndpointService

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "cdcstack"))
import stackenv  # noqa: E402

def shipped_pg_mapping() -> str:
    """The `mapping:` block of sources.postgres in config/metersync.yaml, as written there, so the
    bench drains with exactly the rules the product ships."""
    lines = (REPO / "config" / "metersync.yaml").read_text().splitlines()
    start = lines.index("  postgres:")
    begin = next(i for i in range(start + 1, len(lines)) if lines[i] == "    mapping:")
    end = next(i for i in range(begin + 1, len(lines))
               if lines[i].strip() and not lines[i].startswith("      "))
    return "\n".join(lines[begin:end]).rstrip() + "\n"


# Debezium JDBC sink settings that every run uses (its documented upsert/delete setup).
JDBC_BASE = {
    "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
    "insert.mode": "upsert",
    "delete.enabled": "true",
    "primary.key.mode": "record_key",
    "primary.key.fields": "meter_id",
    "schema.evolution": "basic",
    "use.time.zone": "UTC",
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "true",
    "value.converter.schemas.enable": "true",
    "consumer.override.auto.offset.reset": "earliest",
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Bench:
    def __init__(self, env: dict, run_id: str, workdir: Path, metersync_bin: Path):
        self.env = env
        self.run_id = run_id
        self.workdir = workdir
        self.bin = metersync_bin
        self.topic = f"bench.{run_id}.meter"
        self.db = f"bench_{run_id}"
        self.admin = AdminClient({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})

    # --- setup ---------------------------------------------------------------------------
    def pg(self, db: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(**stackenv.pg_connect_kwargs(self.env, db or self.db), autocommit=autocommit)

    def create_database(self) -> None:
        with self.pg(self.env["PG_SINK_DB"]) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')

    def drop(self) -> None:
        with self.pg(self.env["PG_SINK_DB"]) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        existing = self.admin.list_topics(timeout=10).topics
        doomed = [t for t in (self.topic, self.topic + ".dlq") if t in existing]
        # the request goes out asynchronously: wait for it, or the process may end first
        for topic, future in (self.admin.delete_topics(doomed, operation_timeout=30).items() if doomed else []):
            try:
                future.result()
            except Exception as e:  # noqa: BLE001 - report and go on: cleanup must not hide the results
                log(f"could not delete topic {topic}: {e}")

    def produce(self, events_n: int, seed: int) -> tuple[events.Summary, dict, float]:
        """Creates the bench topic (3 partitions, like the source topic) and writes the workload,
        keyed and partitioned as Kafka Connect's producer does (murmur2 of the key bytes)."""
        meta = self.admin.list_topics(self.env["PG_TOPIC"], timeout=10)
        partitions = len(meta.topics[self.env["PG_TOPIC"]].partitions)
        self.admin.create_topics([NewTopic(self.topic, partitions, 1)])[self.topic].result()
        templates = events.capture_templates(self.env["KAFKA_BOOTSTRAP"], self.env["PG_TOPIC"])
        for t in templates.values():
            t.check_roundtrip()
        workload = events.Workload(templates, events_n, seed=seed)
        # The Meter Master row of every event, for the ceiling (COPY text format).
        self.rows_path = self.workdir / "ceiling-rows.tsv"
        rows_file = open(self.rows_path, "w", buffering=1 << 20)
        seq = iter(range(1, 1 << 62))

        def on_change(row, deleted, ts_ms, lsn):
            fields = [str(next(seq))] + events.meter_master_row(row, deleted, ts_ms, lsn)
            rows_file.write("\t".join("\\N" if f is None else f for f in fields) + "\n")
        workload.on_change = on_change
        producer = Producer({"bootstrap.servers": self.env["KAFKA_BOOTSTRAP"], "partitioner": "murmur2_random",
                             "linger.ms": 20, "batch.size": 1_000_000, "queue.buffering.max.kbytes": 1_048_576,
                             "acks": "all", "compression.type": "none"})
        t0 = time.monotonic()
        records = size = 0
        for key, value in workload:
            while True:
                try:
                    producer.produce(self.topic, value=value, key=key)
                    break
                except BufferError:
                    producer.poll(0.05)
            records += 1
            size += len(value or b"") + len(key)
            if records % 10000 == 0:
                producer.poll(0)
            if records % 200000 == 0:
                log(f"  produced {records} records")
        producer.flush()
        elapsed = time.monotonic() - t0
        rows_file.close()
        s = workload.summary
        s.bytes = size
        # The expected final state, for checking every drain.
        expect = {
            "records": records,
            "live": s.live,
            "meters": s.meters,
            "deleted": s.meters - s.live,
            "live_reading_at_us": sum(_epoch_us(r["last_reading_at"]) for r in workload.live.values()),
        }
        self.templates = templates
        return s, expect, elapsed

    # --- metersync -----------------------------------------------------------------------
    def client_backends(self, conn: psycopg.Connection) -> list[int]:
        """The PostgreSQL backends serving the bench database's clients (metersync's sessions),
        other than `conn`'s own."""
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'", (self.db,)).fetchall()]

    def metersync_config(self, label: str, batch: int, kafka_props: dict, listen: str = "",
                         endpoint: tuple[str, int] | None = None) -> Path:
        """`listen`: the operator's HTTP listener (http.listen); "" runs none. `endpoint`: the
        source's endpoint (url, max_in_flight); None posts nowhere."""
        path = self.workdir / f"metersync-{label}.yaml"
        odbc = (f"Driver={{PostgreSQL Unicode}};Server={self.env['PG_HOST']};Port={self.env['PG_PORT']};"
                f"Database={self.db};Uid={self.env['PG_USER']};Pwd={self.env['PG_PASSWORD']}")
        props = ("  properties:\n" + "".join(f'    {k}: "{v}"\n' for k, v in kafka_props.items())
                 if kafka_props else "")
        path.write_text(f"""\
kafka:
  bootstrap_servers: {self.env['KAFKA_BOOTSTRAP']}
  group_prefix: bench-{self.run_id}-{label}
{props}sink:
  dialect: postgres
  connection: "{odbc}"
  table: {self.table(label)}
  offsets_table: {self.offsets(label)}
  max_batch_events: {batch}
  max_batch_wait_ms: 5
status_file: {self.workdir / f'metersync-status-{label}.json'}
http:
  listen: "{listen}"
sources:
  postgres:
    connector: postgres
    topic: {self.topic}
{shipped_pg_mapping()}""")
        if endpoint:
            with open(path, "a") as f:
                f.write(f"""    endpoint:
      url: {endpoint[0]}
      max_in_flight: {endpoint[1]}
""")
        return path

    @staticmethod
    def table(label: str) -> str:
        return "MeterMaster" if label == "main" else f"MeterMaster_{label}"

    @staticmethod
    def offsets(label: str) -> str:
        return "MeterSyncOffsets" if label == "main" else f"MeterSyncOffsets_{label}"

    def run_metersync(self, expect: dict, label: str, batch: int, kafka_props: dict, timeout: float,
                      profile: bool, listen: bool = False, scrape_every_s: float | None = None) -> dict:
        """Drains the bench topic; `listen` runs the HTTP listener on a free loopback port and
        `scrape_every_s` GETs its /metrics at that period from a thread of this process, as a
        Prometheus server would, for the whole drain."""
        address = f"127.0.0.1:{stackenv.free_port()}" if listen or scrape_every_s else ""
        config = self.metersync_config(label, batch, kafka_props, address)
        logf = open(self.workdir / f"metersync-{label}.log", "w")
        t0 = time.monotonic()
        proc = subprocess.Popen([str(self.bin), "--config", str(config), "run"], stdout=logf, stderr=subprocess.STDOUT)
        sampler = procstat.Sampler(proc.pid)
        perf = []
        profile = profile and shutil.which("perf") is not None  # Debian: linux-perf
        backends: dict[int, float] = {}  # PostgreSQL backends of metersync's session: pid -> CPU at first sight
        applied = 0
        scraper = Scraper(address, scrape_every_s) if scrape_every_s else None
        try:
            conn = None
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"metersync exited with {proc.returncode}; see {logf.name}")
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(f"metersync did not drain {expect['records']} records in {timeout:.0f}s "
                                       f"({applied} applied)")
                try:
                    conn = conn or self.pg()
                    for bpid in self.client_backends(conn):
                        if bpid not in backends:
                            try:
                                backends[bpid] = procstat.cpu_seconds(bpid)
                            except OSError:  # listed by pg_stat_activity, ended before its /proc entry was read
                                continue
                            if profile:
                                # attached once metersync is connected: well after its exec
                                if not perf:
                                    perf.append(self.perf(proc.pid, f"metersync-{label}"))
                                perf.append(self.perf(bpid, f"postgres-backend-{label}-{bpid}"))
                    row = conn.execute(f'SELECT coalesce(sum(records_applied), 0) FROM "{self.offsets(label)}"').fetchone()
                    applied = int(row[0])
                except psycopg.errors.UndefinedTable:
                    pass
                except psycopg.OperationalError:
                    conn = None
                if applied >= expect["records"]:
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - t0
            res = sampler.stop()
            res["hwm"] = procstat.hwm_bytes(proc.pid)
            backend_cpu = 0.0
            for bpid, cpu0 in backends.items():
                try:
                    backend_cpu += procstat.cpu_seconds(bpid) - cpu0
                except OSError:
                    pass
            res["postgres_backend_cpu_s"] = backend_cpu
        finally:
            scrapes = scraper.stop() if scraper else None
            profiles = [p() for p in perf]
            procstat.stop(proc)
            logf.close()
        check = self.check_metersync(expect, self.table(label))
        out = {"label": label, "elapsed_s": elapsed, **res, "check": check, "batch": batch,
               "kafka_properties": kafka_props, "profiles": profiles, "listen": bool(address)}
        if scrapes is not None:
            out["scrapes"] = scrapes
        return out

    def run_endpoint_drain(self, expect: dict, endpoint_bin: Path, in_flight: int, batch: int,
                           limit_s: float) -> dict:
        """The endpoint path's sustained rate: one metersync drains the bench topic into Meter
        Master and posts it to a metersync-endpoint of its own (same machine) at once, each
        destination with its own consumer group. A destination's progress is what it committed:
        Meter Master's offsets table, the dispatcher group's committed offsets (a batch is
        committed once the endpoint acknowledged it). Ends when both drained or after `limit_s`;
        a destination not done by then is reported at the rate it kept until then."""
        label = f"endpoint{in_flight}"
        ep = EndpointService(endpoint_bin, self.workdir, f"endpoint-drain-{in_flight}")
        config = self.metersync_config(label, batch, {}, "", endpoint=(f"{ep.url}/postgres/changes", in_flight))
        group = f"bench-{self.run_id}-{label}-postgres-endpoint"
        reader = Consumer({"bootstrap.servers": self.env["KAFKA_BOOTSTRAP"], "group.id": group,
                           "enable.auto.commit": False})
        partitions = [TopicPartition(self.topic, p)
                      for p in reader.list_topics(self.topic, timeout=10).topics[self.topic].partitions]
        logf = open(self.workdir / f"metersync-{label}.log", "w")
        t0 = time.monotonic()
        proc = subprocess.Popen([str(self.bin), "--config", str(config), "run"], stdout=logf, stderr=subprocess.STDOUT)
        sampler = procstat.Sampler(proc.pid)
        ep_cpu0 = procstat.cpu_seconds(ep.proc.pid)
        done: dict[str, float] = {}
        applied = posted = 0
        try:
            conn = None
            while len(done) < 2 and time.monotonic() - t0 < limit_s:
                if proc.poll() is not None:
                    raise RuntimeError(f"metersync exited with {proc.returncode}; see {logf.name}")
                now = time.monotonic() - t0
                try:
                    conn = conn or self.pg()
                    applied = int(conn.execute(
                        f'SELECT coalesce(sum(records_applied), 0) FROM "{self.offsets(label)}"').fetchone()[0])
                except psycopg.errors.UndefinedTable:
                    pass
                except psycopg.OperationalError:
                    conn = None
                posted = sum(max(tp.offset, 0) for tp in reader.committed(partitions, timeout=10))
                if applied >= expect["records"]:
                    done.setdefault("meter_master", now)
                if posted >= expect["records"]:
                    done.setdefault("endpoint", now)
                time.sleep(0.25)
            elapsed = time.monotonic() - t0
            res = sampler.stop()
            ep_cpu = procstat.cpu_seconds(ep.proc.pid) - ep_cpu0
        finally:
            procstat.stop(proc)
            logf.close()
            reader.close()
            received = ep.count("postgres")
            ep.stop()

        def rate(name: str, progress: int) -> dict:
            drained = name in done
            t = done.get(name, elapsed)
            n = expect["records"] if drained else progress
            return {"records": n, "seconds": t, "per_s": n / t if t else 0.0, "drained": drained}
        return {"label": label, "max_in_flight": in_flight, "limit_s": limit_s,
                "meter_master": rate("meter_master", applied), "endpoint": rate("endpoint", posted),
                "endpoint_events_received": received, "metersync_cpu_s": res.get("cpu_s"),
                "endpoint_service_cpu_s": ep_cpu}

    def perf(self, pid: int, name: str):
        """Starts `perf record` (cpu-clock sampling, 499 Hz) on a process; the returned function
        stops it and gives the top symbols by self time."""
        data = self.workdir / f"perf-{name}.data"
        p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "499", "-o", str(data), "-p", str(pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop() -> dict:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                return {"name": name, "error": "perf did not stop"}
            rep = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                                  "--sort", "dso,sym", "--percent-limit", "1.5"],
                                 capture_output=True, text=True).stdout
            dsos = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "dso"],
                                  capture_output=True, text=True).stdout
            samples = next((l.split()[2] for l in rep.splitlines() if l.startswith("# Samples:")), "?")
            return {"name": name, "top": _perf_rows(rep, 14), "dso": _perf_rows(dsos, 8), "samples": samples}
        return stop

    def check_metersync(self, expect: dict, table: str = "MeterMaster") -> dict:
        with self.pg() as conn:
            total, deleted, live_us = conn.execute(
                'SELECT count(*), count(*) FILTER (WHERE "IsDeleted"), '
                'coalesce(sum((extract(epoch FROM "LastReadingAt") * 1000000)::bigint) '
                f'FILTER (WHERE NOT "IsDeleted"), 0) FROM "{table}"').fetchone()
        ok = total == expect["meters"] and deleted == expect["deleted"] and int(live_us) == expect["live_reading_at_us"]
        return {"rows": total, "soft_deleted": deleted, "final_state_matches": ok}

    # --- Debezium JDBC sink --------------------------------------------------------------
    def run_jdbc(self, expect: dict, name: str, settings: dict, timeout: float, limit_records: int | None = None) -> dict:
        connect = self.env["CONNECT_URL"]
        table = name.replace("-", "_")
        config = {**JDBC_BASE, **settings, "topics": self.topic,
                  "connection.url": f"jdbc:postgresql://{self.env['PG_HOST']}:{self.env['PG_PORT']}/{self.db}",
                  "connection.username": self.env["PG_USER"], "connection.password": self.env["PG_PASSWORD"],
                  "collection.name.format": table}
        pid = int((REPO / ".local/stack/connect/connect.pid").read_text().strip())
        sampler = procstat.Sampler(pid)
        t0 = time.monotonic()
        r = requests.put(f"{connect}/connectors/{name}/config", json=config, timeout=30)
        r.raise_for_status()
        state = None
        try:
            with self.pg() as conn:
                while True:
                    if time.monotonic() - t0 > timeout:
                        raise RuntimeError(f"JDBC sink {name} did not drain in {timeout:.0f}s: {state}")
                    st = requests.get(f"{connect}/connectors/{name}/status", timeout=10).json()
                    tasks = st.get("tasks", [])
                    if any(t.get("state") == "FAILED" for t in tasks):
                        raise RuntimeError(f"JDBC sink {name} failed: {tasks[0].get('trace', '')[:2000]}")
                    try:
                        state = conn.execute(
                            f'SELECT count(*), coalesce(sum((extract(epoch FROM last_reading_at::timestamptz) '
                            f'* 1000000)::bigint), 0) FROM "{table}"').fetchone()
                    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
                        state = None
                    if state and state[0] == expect["live"] and int(state[1]) == expect["live_reading_at_us"]:
                        break
                    time.sleep(0.25)
            elapsed = time.monotonic() - t0
        finally:
            res = sampler.stop()
            remove_connector(connect, name)
        column_types = self.column_types(table)
        return {"elapsed_s": elapsed, **res, "rows": state[0], "final_state_matches": True,
                "settings": {k: v for k, v in config.items() if k not in ("connection.password",)},
                "column_types": column_types, "worker_pid": pid}

    def column_types(self, table: str) -> dict:
        with self.pg() as conn:
            rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
        return dict(rows)

    # --- database ceiling ----------------------------------------------------------------
    def run_ceiling(self, expect: dict) -> dict:
        """What PostgreSQL itself takes: the Meter Master row of every event (mapped in Python,
        `events.meter_master_row`) COPYed into a staging table, then one set-based upsert of the
        latest row per meter (DISTINCT ON, the same newer-position guard as metersync), in one
        transaction. Also, as an aside, the final rows alone (COPY of metersync's result + upsert)."""
        cols = [r[0] for r in self.pg().execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'MeterMaster' "
            "ORDER BY ordinal_position").fetchall()]
        data = [c for c in cols if c != "SyncedAt"]
        q = lambda names: ", ".join(f'"{c}"' for c in names)  # noqa: E731
        key = ("SourceSystem", "SourceMeterId")
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in cols if c not in key)
        with self.pg() as conn:
            conn.execute('CREATE TABLE "MeterMasterCeiling" (LIKE "MeterMaster" INCLUDING ALL)')
            conn.execute('CREATE TABLE "MeterMasterFinalOnly" (LIKE "MeterMaster" INCLUDING ALL)')
        res = {}
        with self.pg(autocommit=False) as conn:
            t0 = time.monotonic()
            conn.execute(f'CREATE TEMP TABLE stage (seq bigint, LIKE "MeterMaster") ON COMMIT DROP')
            conn.execute('ALTER TABLE stage DROP COLUMN "SyncedAt"')
            with conn.cursor() as cur, open(self.rows_path, "rb") as f:
                with cur.copy(f'COPY stage (seq, {q(data)}) FROM STDIN') as copy:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            res["copy_s"] = time.monotonic() - t0
            res["rows_copied"] = conn.execute("SELECT count(*) FROM stage").fetchone()[0]
            res["rows"] = conn.execute(
                f'INSERT INTO "MeterMasterCeiling" AS t ({q(cols)}) '
                f'SELECT DISTINCT ON ("SourceSystem", "SourceMeterId") {q(data)}, now() FROM stage '
                f'ORDER BY "SourceSystem", "SourceMeterId", seq DESC '
                f'ON CONFLICT ("SourceSystem", "SourceMeterId") DO UPDATE SET {updates} '
                f'WHERE t."SourcePosition" < EXCLUDED."SourcePosition"').rowcount
            conn.commit()
            res["elapsed_s"] = time.monotonic() - t0
        with self.pg() as conn:
            total, deleted, live_us = conn.execute(
                'SELECT count(*), count(*) FILTER (WHERE "IsDeleted"), '
                'coalesce(sum((extract(epoch FROM "LastReadingAt") * 1000000)::bigint) '
                'FILTER (WHERE NOT "IsDeleted"), 0) FROM "MeterMasterCeiling"').fetchone()
            res["final_state_matches"] = (total == expect["meters"] and deleted == expect["deleted"]
                                          and int(live_us) == expect["live_reading_at_us"])
            # Same values as metersync wrote? (every mapped column, bookkeeping aside)
            mapped = [c for c in data if c not in ("SourceCommittedAt", "SourcePosition")]
            res["rows_differing_from_metersync"] = conn.execute(
                f'SELECT count(*) FROM (SELECT {q(mapped)} FROM "MeterMasterCeiling" EXCEPT '
                f'SELECT {q(mapped)} FROM "MeterMaster") d').fetchone()[0]
            with conn.cursor() as cur:
                buf = bytearray()
                with cur.copy('COPY "MeterMaster" TO STDOUT (FORMAT binary)') as copy:
                    for chunk in copy:
                        buf += chunk
        with self.pg(autocommit=False) as conn:
            t0 = time.monotonic()
            conn.execute('CREATE TEMP TABLE stage (LIKE "MeterMaster") ON COMMIT DROP')
            with conn.cursor() as cur:
                with cur.copy("COPY stage FROM STDIN (FORMAT binary)") as copy:
                    copy.write(bytes(buf))
            conn.execute(f'INSERT INTO "MeterMasterFinalOnly" ({q(cols)}) SELECT {q(cols)} FROM stage '
                         f'ON CONFLICT ("SourceSystem", "SourceMeterId") DO UPDATE SET {updates}')
            conn.commit()
            res["final_only_s"] = time.monotonic() - t0
        return res


class Scraper:
    """GETs http://<address>/metrics every `period` seconds on a thread until stopped; counts
    the answers (200 with a body) and the failures (none before the listener is up are
    counted: the first answer starts the count) and times each scrape."""

    def __init__(self, address: str, period: float):
        self.url = f"http://{address}/metrics"
        self.period = period
        self.ok = 0
        self.failed = 0
        self.durations: list[float] = []
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            t = time.monotonic()
            try:
                r = requests.get(self.url, timeout=5)
                r.raise_for_status()
                self.durations.append(time.monotonic() - t)
                self.ok += 1
                self.bytes = len(r.content)
            except requests.RequestException:
                if self.ok:
                    self.failed += 1

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        d = sorted(self.durations)
        return {"period_s": self.period, "ok": self.ok, "failed": self.failed, "body_bytes": self.bytes,
                "p50_ms": 1000 * d[len(d) // 2] if d else None, "max_ms": 1000 * d[-1] if d else None}


def _perf_rows(report: str, n: int) -> list[str]:
    rows = [l.strip() for l in report.splitlines() if l.strip() and not l.startswith("#") and "%" in l]
    return [" ".join(r.split()) for r in rows[:n]]


def remove_connector(connect: str, name: str, attempts: int = 20) -> None:
    """Deletes a bench connector, retrying while the worker is unreachable: a FAILED leftover
    would make the shared stack report itself unhealthy."""
    for _ in range(attempts):
        try:
            r = requests.delete(f"{connect}/connectors/{name}", timeout=30)
            if r.status_code in (204, 404):
                return
        except requests.RequestException:
            pass
        time.sleep(3)
    log(f"could not delete connector {name}: remove it with curl -X DELETE {connect}/connectors/{name}")


def remove_leftovers(connect: str) -> None:
    """Connectors of earlier bench runs that ended without cleaning up (bench-jdbc-*)."""
    try:
        names = requests.get(f"{connect}/connectors", timeout=10).json()
    except requests.RequestException:
        return
    for name in names:
        if name.startswith("bench-jdbc-"):
            log(f"removing leftover connector {name}")
            remove_connector(connect, name)


def _epoch_us(text: str) -> int:
    import datetime as dt
    t = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp()) * 1_000_000 + t.microsecond
