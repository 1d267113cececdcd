"""Part 5: the SQL Server path, measured like the PostgreSQL one.

Runs only when METERSYNC_SQLSERVER_ODBC holds an ODBC connection string to SQL Server or a
compatible server (Babelfish); otherwise the part returns a "skipped" record with the reason.

The workload: `events` Debezium SQL Server change events of dbo.Meters (the connector's shape: the
opt-in suite's `SqlServerEvents`, built on the captured fixture's schema block) on a topic of the
run's own, in two phases over the same meters: one insert (`c`) per meter (new keys), then one update
(`u`, with `before`) per meter (the update path). Each phase's records are produced first, with no
metersync running; then, one after the other:

- metersync with `sink.dialect: sqlserver` drains them into a Meter Master of the run's own on that
  server (MM_bench_<run id>, MSO_…, MST_…, created by `metersync init`);
- a second metersync with `sink.dialect: postgres` drains the same records into the stack's
  PostgreSQL sink database (tables of the same names);
- the server's own ceiling for the same net effect: the phase's rows, mapped beforehand in Python
  (not timed), sent as JSON documents (the fastest of several sizes and two statement shapes,
  tried first) through `INSERT … SELECT … OPENJSON … WITH (…)` into a #temp table, then the one
  statement the phase needs, into a fresh table: the new keys INSERTed as they are, or the
  `UPDATE … FROM … JOIN` (with the newer-position guard) of the stored ones; in one transaction
  (pyodbc).

Each drain is timed from the first commit seen to the last (the offsets table's `records_applied`
polled every 20 ms), and from the process start. Both paths are drained `drains` times per phase
(3 by default), each time into tables and consumer groups of that round's own, the order alternated
(SQL Server first, then PostgreSQL first, ...); a path's rate is the median of its drains, and every
drain's rate is reported beside it. One drain of the PostgreSQL path moved by 25% between runs of the
same code, which alone decided whether the ratio to it met its target. Everything created is dropped
at the end (tables on both servers, topics, consumer groups) unless --keep.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# The opt-in suite's support code: Debezium SQL Server events, the config writer, Kafka helpers.
if str(REPO / "tests" / "integration") not in sys.path:
    sys.path.append(str(REPO / "tests" / "integration"))

import sqlserver_suite_support as sss  # noqa: E402

ENV_VAR = sss.ENV_VAR  # METERSYNC_SQLSERVER_ODBC
# The variables the config files name: the connection strings stay in the environment.
CONNECTION_VAR = "METERSYNC_BENCH_SINK_ODBC"
POLL_S = 0.02
DEFAULT_EVENTS = 100_000
DEFAULT_DRAINS = 3  # drains of each path per phase; the median is the path's rate
CHECK_EVENTS = 2_000
MB = 1024 * 1024

# Targets (reported, not asserted).
TARGET_RATE = 15_000      # changes/s on Babelfish, new keys and updates
TARGET_VS_PG = 0.5        # × the PostgreSQL path in the same run
TARGET_VS_CEILING = 0.7   # × the server's own ceiling
TARGET_RSS = 100e6        # bytes

# Meter Master's columns (the spec's types), SyncedAt aside.
COLUMNS = [("SourceSystem", "VARCHAR(16)"), ("SourceMeterId", "NVARCHAR(64)"), ("SerialNumber", "NVARCHAR(64)"),
           ("MeterType", "VARCHAR(16)"), ("Manufacturer", "NVARCHAR(100)"), ("Status", "VARCHAR(16)"),
           ("InstallDate", "DATE"), ("Multiplier", "DECIMAL(9,4)"), ("LastReadingValue", "DECIMAL(18,3)"),
           ("LastReadingAt", "DATETIME2(6)"), ("Latitude", "DECIMAL(9,6)"), ("Longitude", "DECIMAL(9,6)"),
           ("IsDeleted", "BIT"), ("SourceCommittedAt", "DATETIME2(3)"), ("SourcePosition", "VARCHAR(100)")]
KEY = ("SourceSystem", "SourceMeterId")
PHASES = (("new keys", 1), ("updates", 2))
CHUNKS = (50, 70, 100, 250, 500, 1000, 2000, 5000)  # rows per OPENJSON document tried for the ceiling (and the whole phase)
# How the ceiling's documents reach the #temp table, both tried: one INSERT reading up to
# STATEMENT_DOCUMENTS of them (VALUES … CROSS APPLY OPENJSON, as metersync), or one INSERT each.
FORMS = {"one": "one statement for all", "each": "one statement each"}
STATEMENT_DOCUMENTS = 1000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def skip_reason(environ=None) -> str | None:
    environ = os.environ if environ is None else environ
    if not environ.get(ENV_VAR):
        return (f"{ENV_VAR} is not set (no SQL Server-compatible server to run the sink's SQL Server path on; "
                f"set it to an ODBC connection string, see docs/sqlserver.md)")
    try:
        import pyodbc  # noqa: F401
    except ImportError:
        return "pyodbc is not installed (requirements.txt; ./install puts it in .local/venv)"
    return None


def skipped(reason: str) -> dict:
    return {"skipped": True, "reason": reason, "date": dt.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")}


def run(env: dict | None, run_id: str, workdir: Path | None, binary: Path | None, events: int = DEFAULT_EVENTS,
        stage: str | None = None, batch_events: int | None = None, batch_bytes: int | None = None, keep: bool = False,
        environ=None, drains: int = DEFAULT_DRAINS) -> dict:
    """The part: a "skipped" record without the variable, else the measurements."""
    reason = skip_reason(environ)
    if reason:
        log(f"sqlserver: skipped: {reason}")
        return skipped(reason)
    environ = os.environ if environ is None else environ
    b = SqlServerBench(env, run_id, workdir, binary, environ[ENV_VAR], max(2, events // 2), stage, batch_events,
                       batch_bytes, max(1, drains))
    try:
        return b.run()
    finally:
        if not keep:
            b.drop()


# ---------------------------------------------------------------------------------------------
# The workload

EPOCH = dt.datetime(1970, 1, 1)
MANUFACTURERS = ("Landis+Gyr", "Itron", "Kamstrup", "Sensus", None)


def stage_sql(documents: int) -> str:
    """One INSERT into the #temp table reading `documents` bound documents: FROM OPENJSON(?) for
    one, a VALUES list through CROSS APPLY OPENJSON for more (the shape metersync sends; on
    Babelfish one statement per document costs a compile each)."""
    names = [c for c, _ in COLUMNS]
    q = ", ".join(f"[{c}]" for c in names)
    with_ = ", ".join(f"[{c}] {t} '$[{i}]'" for i, (c, t) in enumerate(COLUMNS))
    if documents == 1:
        return f"INSERT INTO #bench_ceiling_stage ({q}) SELECT {q} FROM OPENJSON(?) WITH ({with_}) AS j"
    values = ", ".join("(?)" for _ in range(documents))
    return (f"INSERT INTO #bench_ceiling_stage ({q}) SELECT {q} FROM (VALUES {values}) AS d([document]) "
            f"CROSS APPLY OPENJSON(d.[document]) WITH ({with_}) AS j")


def meter_fields(k: int, version: int) -> dict:
    """The dbo.Meters row of meter k at a version, as SqlServerEvents.create's keywords."""
    at = dt.datetime(2026, 1, 1) + dt.timedelta(seconds=k, microseconds=(k * 7919 + version) % 1_000_000)
    return dict(meter_id=k, serial=f"SN-{version}-{k:07d}", type_code="EWG"[k % 3],
                manufacturer=MANUFACTURERS[k % len(MANUFACTURERS)], status_code=1 + (k + version) % 3,
                install_date=dt.date(2015, 1, 1) + dt.timedelta(days=k % 3650),
                multiplier=Decimal(1 + k % 7) / 4, last_read_kwh=Decimal(k * 1000 + version * 7) / 1000,
                last_read_at=sss.nano_timestamp(at, extra_nanos=900),
                lat=Decimal(k % 180_000 - 90_000) / 1000, lon=Decimal(k % 360_000 - 180_000) / 1000)


def ts_ms_of(k: int, version: int) -> int:
    return 1764000000000 + version * 100_000_000 + k


def mapped_row(f: dict, ts_ms: int, lsn: int) -> list:
    """The Meter Master row metersync writes for that event (the shipped mssql mapping), as JSON
    values in COLUMNS order: what the ceiling loads, mapped beforehand."""
    nanos = f["last_read_at"]
    at = EPOCH + dt.timedelta(microseconds=nanos // 1000)  # truncate: microseconds
    committed = EPOCH + dt.timedelta(milliseconds=ts_ms)
    lsn_text = f"{lsn:08X}:00000010:"
    return ["mssql", str(f["meter_id"]), f["serial"].rstrip(), {"E": "electric", "W": "water", "G": "gas"}[f["type_code"]],
            f["manufacturer"], {1: "active", 2: "inactive", 3: "removed"}[f["status_code"]],
            f["install_date"].isoformat(), str(f["multiplier"]), str(f["last_read_kwh"]),
            at.strftime("%Y-%m-%dT%H:%M:%S.%f"), str(f["lat"]), str(f["lon"]), 0,
            committed.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3], f"{lsn_text}0003/{lsn_text}0002/0000000001"]


# ---------------------------------------------------------------------------------------------

class SqlServerBench:
    def __init__(self, env: dict, run_id: str, workdir: Path, binary: Path, connection: str, keys: int,
                 stage: str | None, batch_events: int | None = None, batch_bytes: int | None = None,
                 drains: int = 1):
        self.env = env
        self.run_id = run_id
        self.workdir = workdir
        self.bin = binary
        self.connection = connection
        self.keys = keys
        self.stage = stage
        self.batch_events = batch_events  # sink.max_batch_events of both drains; None: as shipped
        self.batch_bytes = batch_bytes    # sink.max_batch_bytes of both drains; None: as shipped
        self.bootstrap = env["KAFKA_BOOTSTRAP"]
        self.topic = f"bench-sqlsrv.{run_id}.mssql"
        self.names = {"table": f"MM_bench_{run_id}", "offsets_table": f"MSO_bench_{run_id}",
                      "truncates_table": f"MST_bench_{run_id}"}
        # Each round of drains has tables (and consumer groups) of its own; the first round's are
        # `names`, compared with the ceiling's and between the servers after each phase.
        self.rounds = [self.names] + [{k: f"{v}_d{r}" for k, v in self.names.items()} for r in range(2, drains + 1)]
        self.ceiling_names = {k: v + "_ceil" for k, v in self.names.items()}
        # The same ceiling in transactions of metersync's size (sink.max_batch_events).
        self.batched_names = {k: v + "_ceilb" for k, v in self.names.items()}
        # The ceiling timed again on the connection that staged the whole-phase document (see ceiling()).
        self.warm_names = {k: v + "_ceilw" for k, v in self.names.items()}
        self.labels = {"sqlserver": "sqlsrv", "postgres": "pg"}
        self.groups = [f"bench-{run_id}-{self.label(d, r)}-mssql" for d in self.labels for r in range(drains)]
        self.dlq = {d: f"bench-sqlsrv.{run_id}.{lbl}.mssql.dlq" for d, lbl in self.labels.items()}
        self.tds = None
        self.pg = None
        self.created: dict[str, bool] = {}

    def label(self, dialect: str, round_: int) -> str:
        """The drain's name in file names and its consumer group: `sqlsrv`, `pg`, then `sqlsrv2`, …."""
        return self.labels[dialect] + (str(round_ + 1) if round_ else "")

    # --- connections --------------------------------------------------------------------
    def tds_connect(self):
        import pyodbc
        conn = pyodbc.connect(self.connection, autocommit=True)
        return conn

    def pg_connect(self):
        import psycopg
        sys.path.insert(0, str(REPO / "cdcstack"))
        import stackenv
        return psycopg.connect(**stackenv.pg_connect_kwargs(self.env, self.env["PG_SINK_DB"]), autocommit=True)

    def server(self) -> dict:
        cur = self.tds.cursor()
        version = cur.execute("SELECT @@VERSION").fetchall()[0][0] or ""
        bbf = None
        try:
            bbf = cur.execute("SELECT CAST(SERVERPROPERTY('BabelfishVersion') AS NVARCHAR(128))").fetchall()[0][0]
        except Exception:  # noqa: BLE001 - SQL Server has no such property: NULL or an error
            pass
        product = cur.execute("SELECT CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128))").fetchall()[0][0]
        database = cur.execute("SELECT DB_NAME()").fetchall()[0][0]
        babelfish = "babelfish" in version.lower()
        if babelfish:
            m = re.search(r"Babelfish (\d+(?:\.\d+)*)", version)
            bv = bbf or (m.group(1) if m else "")
            short = ".".join(bv.split(".")[:2]) if bv else "?"
            summary = f"Babelfish {short}, not SQL Server"
        else:
            summary = version.splitlines()[0].strip() if version else "unknown server"
        driver = re.search(r"(?i)(?:^|;)\s*driver\s*=\s*\{?([^;}]*)", self.connection)
        tds_version = re.search(r"(?i)(?:^|;)\s*tds_version\s*=\s*([^;]*)", self.connection)
        host = re.search(r"(?i)(?:^|;)\s*server\s*=\s*(?:tcp:)?([^;,\\]*)", self.connection)
        return {"version": " ".join(version.split()), "babelfish": babelfish, "babelfish_version": bbf,
                "product_version": product, "database": database, "summary": summary,
                "driver": driver.group(1).strip() if driver else None,
                "tds_version": tds_version.group(1).strip() if tds_version else None,
                "local": bool(host) and host.group(1).strip().lower() in ("127.0.0.1", "localhost", "::1", "(local)", ".")}

    # --- configuration ------------------------------------------------------------------
    def config(self, dialect: str, names: dict, label: str) -> Path:
        settings = {"sqlserver_stage": self.stage} if (dialect == "sqlserver" and self.stage) else {}
        if self.batch_events:
            settings["max_batch_events"] = str(self.batch_events)
        if self.batch_bytes:
            settings["max_batch_bytes"] = str(self.batch_bytes)
        return sss.write_suite_config(
            self.workdir / f"sqlserver-{label}.yaml", dialect=dialect, connection_var=CONNECTION_VAR,
            group_prefix=f"bench-{self.run_id}-{label}", topics={"mssql": self.topic},
            dead_letter_topics={"mssql": self.dlq.get(dialect, self.topic + ".dlq")},
            sink_settings=settings or None, **names)

    def proc_env(self, dialect: str, label: str) -> dict:
        conn = self.connection if dialect == "sqlserver" else self.env["SINK_ODBC"]
        return {**os.environ, CONNECTION_VAR: conn,
                "METERSYNC_STATUS_FILE": str(self.workdir / f"sqlserver-status-{label}.json")}

    def init(self, config: Path, label: str) -> None:
        r = subprocess.run([str(self.bin), "--config", str(config), "init"], cwd=REPO, env=self.proc_env("sqlserver", label),
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"metersync init ({label}) failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")

    # --- applied counts -----------------------------------------------------------------
    def tds_applied(self, names: dict):
        cur = self.tds.cursor()
        sql = (f"SELECT COALESCE(SUM(CAST([records_applied] AS BIGINT)), 0) FROM [dbo].[{names['offsets_table']}] "
               f"WHERE [topic] = ?")
        return lambda: int(cur.execute(sql, self.topic).fetchall()[0][0])

    def pg_applied(self, names: dict):
        import psycopg
        sql = f'SELECT coalesce(sum(records_applied), 0) FROM public."{names["offsets_table"]}" WHERE topic = %s'

        def applied() -> int:
            try:
                return int(self.pg.execute(sql, (self.topic,)).fetchone()[0])
            except psycopg.errors.UndefinedTable:  # metersync creates it when it starts
                return 0
        return applied

    # --- one drain ----------------------------------------------------------------------
    def drain(self, dialect: str, name: str, config: Path, phase: int, records: int, applied, timeout: float) -> dict:
        """One metersync process (`name`, the drain's label) drains the phase's records."""
        import procstat
        label = f"{name}-{phase}"
        log_path = self.workdir / f"sqlserver-metersync-{label}.log"
        held: dict = {}

        def start():
            with open(log_path, "w") as out:
                held["proc"] = subprocess.Popen([str(self.bin), "--config", str(config), "run"], cwd=REPO,
                                                env=self.proc_env(dialect, name), stdout=out,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            held["sampler"] = procstat.Sampler(held["proc"].pid)

        status_path = self.workdir / f"sqlserver-status-{name}.json"
        status_path.unlink(missing_ok=True)  # the previous phase's process wrote it

        def alive():
            if held["proc"].poll() is not None:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"metersync ({dialect}) exited with {held['proc'].returncode}:\n{tail}")
            try:
                error = sss.failing(json.loads(status_path.read_text()))
            except (OSError, ValueError):
                error = None
            if error:
                raise RuntimeError(f"metersync ({dialect}) keeps failing: {error}; log: {log_path}")

        before = applied()
        try:
            d = sss.timed_drain(start, applied, before, records, timeout, alive=alive, interval=POLL_S)
            hwm = procstat.hwm_bytes(held["proc"].pid)
            usage = held["sampler"].stop()
        finally:
            if "proc" in held:
                procstat.stop(held["proc"])
        text = log_path.read_text(errors="replace")
        status = None
        try:
            status = json.loads(status_path.read_text())
        except (OSError, ValueError):
            pass
        stage_line = next((ln.split("stage:", 1)[1].strip()[:300] for ln in text.splitlines()
                           if f"{dialect} stage:" in ln), None)
        out = {**d.as_dict(), "applied_before": before, "peak_rss": max(usage["peak_rss"], hwm), "hwm": hwm,
               "cpu_s": usage["cpu_s"], "exit_code": held["proc"].returncode,
               "stage": sss.stage_used(text, status) if dialect == "sqlserver" else None, "stage_line": stage_line}
        rate = d.steady_rate
        log(f"  {name}: {d.line(dialect)}; peak RSS {out['peak_rss'] / MB:.0f} MiB"
            + (f"; stage {out['stage']}" if out["stage"] else ""))
        if rate is None:
            log("  (one commit took the whole phase: no steady rate; use more events)")
        return out

    # --- the ceiling --------------------------------------------------------------------
    def stage_documents(self, cur, pieces: list[str], form: str) -> None:
        """The documents into the #temp table: `each` one statement per document, `one` one
        statement for up to STATEMENT_DOCUMENTS of them."""
        if form == "each":
            sql = stage_sql(1)
            for doc in pieces:
                cur.execute(sql, doc)
            return
        for first in range(0, len(pieces), STATEMENT_DOCUMENTS):
            group = pieces[first:first + STATEMENT_DOCUMENTS]
            cur.execute(stage_sql(len(group)), *group)

    def ceiling_sql(self, table_name: str, new_keys: bool) -> tuple[str, str, str]:
        """The #temp table, the staging INSERT, and the one statement the phase's net effect needs:
        every staged row INSERTed as it is (new keys, none stored), or the UPDATE of the stored
        rows (updates). What metersync runs for such a segment, without the statement it skips
        or the check that lets it skip it."""
        table = f"[dbo].[{table_name}]"
        names = [c for c, _ in COLUMNS]
        q = lambda cs: ", ".join(f"[{c}]" for c in cs)  # noqa: E731
        create = ("CREATE TABLE #bench_ceiling_stage (" + ", ".join(
            f"[{c}] {t}" + (" COLLATE DATABASE_DEFAULT" if "CHAR" in t else "") for c, t in COLUMNS) +
            f", PRIMARY KEY ({q(KEY)}))")
        stage = stage_sql(1)
        newer = ("t.[SourcePosition] COLLATE Latin1_General_BIN2 < s.[SourcePosition] COLLATE Latin1_General_BIN2")
        update = (f"UPDATE t SET " + ", ".join(f"[{c}] = s.[{c}]" for c in names if c not in KEY) +
                  f", [SyncedAt] = SYSUTCDATETIME() FROM {table} AS t INNER JOIN #bench_ceiling_stage AS s "
                  f"ON t.[SourceSystem] = s.[SourceSystem] AND t.[SourceMeterId] = s.[SourceMeterId] WHERE {newer}")
        insert = (f"INSERT INTO {table} ({q(names)}, [SyncedAt]) SELECT " + ", ".join(f"s.[{c}]" for c in names) +
                  ", SYSUTCDATETIME() FROM #bench_ceiling_stage AS s")
        return create, stage, insert if new_keys else update

    def ceiling_ready(self, conn, table_name: str, new_keys: bool):
        """A cursor with the #temp table created and the ceiling's statements for `table_name`, run
        once on an empty document and rolled back before the clock: the server's first sight of them
        (parsing, catalog lookups) is not what the ceiling is about, just as the drains' rates leave
        out their first batch."""
        statements = self.ceiling_sql(table_name, new_keys)
        create, stage, apply = statements
        cur = conn.cursor()
        cur.execute("SET NOCOUNT ON; SET XACT_ABORT ON;")
        cur.execute("DROP TABLE IF EXISTS #bench_ceiling_stage")
        cur.execute(create)
        cur.execute("BEGIN TRANSACTION")
        cur.execute(stage, "[]")
        cur.execute(stage_sql(2), "[]", "[]")
        cur.execute(apply)
        cur.execute("ROLLBACK TRANSACTION")
        return cur, statements

    def ceiling(self, rows: list[list], new_keys: bool) -> dict:
        """The server's own best for the phase's net effect. The rows go in as JSON documents of
        `chunk` rows read into the #temp table (`form`: one INSERT for all, or one each), then the
        INSERT (`new_keys`) or the UPDATE, in one transaction. `chunk` and `form` are the fastest
        of CHUNKS × FORMS and the whole phase as one document, tried on the staging step alone
        before the clock (on Babelfish OPENJSON slows down with the document's size, so one
        document is not the server's best).

        Each try runs on a fresh connection, and so does the timed load, as each metersync drain
        starts on one. On Babelfish a backend that has once handled a
        document of several MB stages faster for the rest of its session (glibc's malloc raises its
        mmap threshold after freeing a chunk that large; docs/sqlserver.md), so the same load is
        also timed on the connection that staged the whole-phase document, into a table of its
        own: `warm`."""
        docs = {}
        for size in sorted({c for c in CHUNKS if c < len(rows)} | {len(rows)}):
            docs[size] = [json.dumps(rows[i:i + size], separators=(",", ":")) for i in range(0, len(rows), size)]
        tried = []

        def attempt(conn, size: int, form: str) -> None:
            cur, _ = self.ceiling_ready(conn, self.ceiling_names["table"], new_keys)
            t = time.monotonic()
            self.stage_documents(cur, docs[size], form)
            tried.append({"rows": size, "form": form, "s": time.monotonic() - t})
            cur.execute("DROP TABLE #bench_ceiling_stage")

        # Each size and shape on a fresh connection, so that no try stages on a backend an
        # earlier one warmed; the whole phase as one document last, on the connection then
        # timed again as `warm`.
        for size, pieces in docs.items():
            if size == len(rows):
                continue
            for form in ("one", "each"):
                conn = self.tds_connect()
                try:
                    attempt(conn, size, form)
                finally:
                    conn.close()
        tries_conn = self.tds_connect()
        try:
            attempt(tries_conn, len(rows), "each")
            best = min(tried, key=lambda x: x["s"])
            chunk, form = best["rows"], best["form"]
            pieces = docs[chunk]
            warm = self.timed_load(tries_conn, self.warm_names["table"], pieces, form, new_keys)
        finally:
            tries_conn.close()
        conn = self.tds_connect()
        try:
            res = self.timed_load(conn, self.ceiling_names["table"], pieces, form, new_keys)
        finally:
            conn.close()
        res.update({"rows": len(rows), "chunk": chunk, "form": form, "documents": len(pieces),
                    "apply": "insert" if new_keys else "update",
                    "document_bytes": sum(len(d.encode()) for d in pieces), "staging_tried": tried,
                    "rate": len(rows) / res["elapsed_s"] if res["elapsed_s"] > 0 else 0.0})
        warm["rate"] = len(rows) / warm["elapsed_s"] if warm["elapsed_s"] > 0 else 0.0
        res["warm"] = warm
        log(f"  ceiling: {len(rows)} rows in {res['elapsed_s']:.2f}s = {res['rate']:,.0f} changes/s (OPENJSON into #temp "
            f"{res['stage_s']:.2f}s in {len(pieces)} documents of {chunk} rows, {FORMS[form]}; staging alone tried: "
            + ", ".join(f"{x['rows']} rows/document {x['form']} {x['s']:.2f}s" for x in tried) + "); on the connection "
            f"that staged the whole phase {warm['elapsed_s']:.2f}s = {warm['rate']:,.0f} changes/s (OPENJSON {warm['stage_s']:.2f}s)")
        return res

    def timed_load(self, conn, table_name: str, pieces: list[str], form: str, new_keys: bool) -> dict:
        """One transaction: the documents into the #temp table, then the INSERT or the UPDATE."""
        cur, (_, _, apply) = self.ceiling_ready(conn, table_name, new_keys)
        t0 = time.monotonic()
        cur.execute("BEGIN TRANSACTION")
        self.stage_documents(cur, pieces, form)
        t_stage = time.monotonic()
        cur.execute(apply)
        cur.execute("COMMIT TRANSACTION")
        elapsed = time.monotonic() - t0
        staged = cur.execute("SELECT COUNT(*) FROM #bench_ceiling_stage").fetchall()[0][0]
        cur.execute("DROP TABLE #bench_ceiling_stage")
        return {"staged": int(staged), "elapsed_s": elapsed, "stage_s": t_stage - t0,
                "apply_s": elapsed - (t_stage - t0)}

    def ceiling_batched(self, rows: list[list], chunk: int, batch: int, form: str, new_keys: bool) -> dict:
        """The ceiling's statements and documents of `chunk` rows, in transactions of `batch` rows
        (metersync's sink.max_batch_events): one BEGIN, the documents, the INSERT or the UPDATE,
        COMMIT, the #temp table emptied, per transaction. What the server does for the same net
        effect when it must commit as often as metersync does. On a fresh connection, as `ceiling`."""
        transactions = [[json.dumps(rows[d:d + chunk], separators=(",", ":"))
                         for d in range(b, min(b + batch, len(rows)), chunk)]
                        for b in range(0, len(rows), batch)]
        conn = self.tds_connect()
        try:
            cur, (_, _, apply) = self.ceiling_ready(conn, self.batched_names["table"], new_keys)
            t0 = time.monotonic()
            for pieces in transactions:
                cur.execute("BEGIN TRANSACTION")
                self.stage_documents(cur, pieces, form)
                cur.execute(apply)
                cur.execute("COMMIT TRANSACTION")
                cur.execute("TRUNCATE TABLE #bench_ceiling_stage")
            elapsed = time.monotonic() - t0
        finally:
            conn.close()
        res = {"rows": len(rows), "batch": batch, "chunk": chunk, "form": form, "transactions": len(transactions),
               "elapsed_s": elapsed, "rate": len(rows) / elapsed if elapsed > 0 else 0.0}
        log(f"  ceiling in transactions of {batch} rows: {len(rows)} rows in {elapsed:.2f}s = "
            f"{res['rate']:,.0f} changes/s ({len(transactions)} transactions, documents of {chunk} rows, {FORMS[form]})")
        return res

    # --- checks -------------------------------------------------------------------------
    @staticmethod
    def tds_rows_at_version(cur, table: str, version: int) -> tuple[int, int]:
        """A table's rows on the SQL Server side, and how many of them are at the phase's version."""
        n, at = cur.execute(f"SELECT COUNT(*), SUM(CASE WHEN [SerialNumber] LIKE ? THEN 1 ELSE 0 END) FROM {table}",
                            f"SN-{version}-%").fetchall()[0]
        return int(n), int(at or 0)

    @staticmethod
    def tds_differing(cur, a: str, b: str) -> int:
        """Rows of two SQL Server-side tables that differ in any column but SyncedAt (EXCEPT both ways)."""
        cols = ", ".join(f"[{c}]" for c, _ in COLUMNS)
        return int(cur.execute(
            f"SELECT (SELECT COUNT(*) FROM (SELECT {cols} FROM {a} EXCEPT SELECT {cols} FROM {b}) x) + "
            f"(SELECT COUNT(*) FROM (SELECT {cols} FROM {b} EXCEPT SELECT {cols} FROM {a}) y)").fetchall()[0][0])

    def check(self, version: int) -> dict:
        """Outcomes after a phase: row counts, every row at the phase's version on both sinks and in
        the ceiling's table, the SQL Server Meter Master equal to the ceiling's (server-side EXCEPT
        both ways over every column but SyncedAt) and to the PostgreSQL one (row for row)."""
        cur = self.tds.cursor()
        mm, ce = f"[dbo].[{self.names['table']}]", f"[dbo].[{self.ceiling_names['table']}]"
        prefix = f"SN-{version}-"
        res = {}
        cb = f"[dbo].[{self.batched_names['table']}]"
        cw = f"[dbo].[{self.warm_names['table']}]"
        for name, table in (("sqlserver", mm), ("ceiling", ce), ("ceiling_batched", cb), ("ceiling_warm", cw)):
            res[f"{name}_rows"], res[f"{name}_at_version"] = self.tds_rows_at_version(cur, table, version)
        res["sqlserver_vs_ceiling_differing"] = self.tds_differing(cur, mm, ce)
        pg_rows = {}
        try:
            from metersync_harness import meter_master
            self.pg.execute("SET TIME ZONE 'UTC'")
            pg_rows = meter_master(self.pg, SimpleNamespace(table=self.names["table"]))
        except Exception as e:  # noqa: BLE001 - reported as a difference
            res["postgres_error"] = str(e)
        res["postgres_rows"] = len(pg_rows)
        res["postgres_at_version"] = sum(1 for r in pg_rows.values() if r["SerialNumber"].startswith(prefix))
        tds_rows = sss.tds_meter_master(self.tds, self.names["table"])
        diffs = sss.differences(tds_rows, pg_rows)
        res["sqlserver_vs_postgres_differing"] = len(diffs)
        res["first_differences"] = diffs[:5]
        res["rounds"] = self.check_rounds(version)
        res["final_state_matches"] = (all(r["matches"] for r in res["rounds"])
                                      and res["sqlserver_rows"] == res["sqlserver_at_version"] == self.keys
                                      and res["ceiling_rows"] == res["ceiling_at_version"] == self.keys
                                      and res["ceiling_batched_rows"] == res["ceiling_batched_at_version"] == self.keys
                                      and res["ceiling_warm_rows"] == res["ceiling_warm_at_version"] == self.keys
                                      and res["postgres_rows"] == res["postgres_at_version"] == self.keys
                                      and res["sqlserver_vs_ceiling_differing"] == 0 and not diffs)
        return res

    def check_rounds(self, version: int) -> list[dict]:
        """The later rounds' tables after a phase: every row at the phase's version on both servers, and
        the SQL Server one equal to the first round's in every column but SyncedAt."""
        out = []
        cur = self.tds.cursor()
        first = f"[dbo].[{self.names['table']}]"
        prefix = f"SN-{version}-"
        for names in self.rounds[1:]:
            mm = f"[dbo].[{names['table']}]"
            n, at = self.tds_rows_at_version(cur, mm, version)
            differing = self.tds_differing(cur, mm, first)
            pn, pat = self.pg.execute(f'SELECT count(*), count(*) FILTER (WHERE "SerialNumber" LIKE %s) '
                                      f'FROM public."{names["table"]}"', (prefix + "%",)).fetchone()
            r = {"table": names["table"], "sqlserver_rows": n, "sqlserver_at_version": at,
                 "differing_from_first": differing, "postgres_rows": int(pn), "postgres_at_version": int(pat)}
            r["matches"] = (r["sqlserver_rows"] == r["sqlserver_at_version"] == self.keys == r["postgres_rows"]
                            == r["postgres_at_version"] and differing == 0)
            out.append(r)
        return out

    # --- the run ------------------------------------------------------------------------
    def run(self) -> dict:
        from confluent_kafka import Producer
        res: dict = {"skipped": False, "run_id": self.run_id, "date": dt.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                     "keys": self.keys, "events": 2 * self.keys, "stage_setting": self.stage, "drains": len(self.rounds),
                     "topic_partitions": 1, "phases": []}
        self.tds = self.tds_connect()
        self.pg = self.pg_connect()
        res["server"] = self.server()
        log(f"sqlserver: server {res['server']['summary']} ({_short_version(res['server']['version'])})")
        configs = [{d: self.config(d, names, self.label(d, r)) for d in self.labels} for r, names in enumerate(self.rounds)]
        ceiling_config = self.config("sqlserver", self.ceiling_names, "ceil")
        self.created["tds"] = True
        for r, cfg in enumerate(configs):
            self.init(cfg["sqlserver"], self.label("sqlserver", r))
        self.init(ceiling_config, "ceil")
        self.init(self.config("sqlserver", self.batched_names, "ceilb"), "ceilb")
        self.init(self.config("sqlserver", self.warm_names, "ceilw"), "ceilw")
        self.created["pg"] = True
        self.created["topic"] = True
        sss.create_topic(self.bootstrap, self.topic, 1)
        res["sink"] = {"max_batch_events": str(self.batch_events) if self.batch_events else _shipped_sink_value("max_batch_events"),
                       "max_batch_wait_ms": _shipped_sink_value("max_batch_wait_ms"),
                       "max_batch_bytes": str(self.batch_bytes) if self.batch_bytes
                       else _shipped_sink_value("max_batch_bytes") or str(10 << 20),
                       "batch_bytes_set": bool(self.batch_bytes),
                       "batch_events_set": bool(self.batch_events)}
        events = sss.SqlServerEvents(first_lsn=0x100000)
        before_rows: dict[int, dict] = {}
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20, "batch.size": 1_000_000,
                             "queue.buffering.max.kbytes": 1_048_576, "acks": "all", "enable.idempotence": True,
                             "compression.type": "none"})
        timeout = max(300.0, self.keys / 100)
        for phase, (name, version) in enumerate(PHASES, start=1):
            log(f"sqlserver: phase {phase} ({name}): producing {self.keys} events to {self.topic}")
            t0 = time.monotonic()
            rows = []
            size = 0
            for k in range(1, self.keys + 1):
                f = meter_fields(k, version)
                ts = ts_ms_of(k, version)
                key, value = events.create(ts_ms=ts, op="c" if version == 1 else "u",
                                           before=before_rows.get(k), **f)
                before_rows[k] = sss.SqlServerEvents.row(**f)
                rows.append(mapped_row(f, ts, events.lsn))
                size += len(key) + len(value)
                while True:
                    try:
                        producer.produce(self.topic, key=key, value=value)
                        break
                    except BufferError:
                        producer.poll(0.05)
                if k % 5000 == 0:
                    producer.poll(0)
            if producer.flush(120) != 0:
                raise RuntimeError(f"records to {self.topic} not acknowledged")
            p = {"name": name, "changes": self.keys, "bytes": size, "produce_s": time.monotonic() - t0}
            drains: dict[str, list[dict]] = {d: [] for d in self.labels}
            for r, names in enumerate(self.rounds):
                # The order alternates, so that neither path always drains on a server the other just used.
                for dialect in (("sqlserver", "postgres") if r % 2 == 0 else ("postgres", "sqlserver")):
                    log(f"sqlserver: phase {phase}, round {r + 1} of {len(self.rounds)}: metersync ({dialect}) "
                        f"draining {self.keys} records")
                    applied = self.tds_applied(names) if dialect == "sqlserver" else self.pg_applied(names)
                    d = self.drain(dialect, self.label(dialect, r), configs[r][dialect], phase, self.keys, applied, timeout)
                    drains[dialect].append({**d, "round": r + 1, "order": len(drains["sqlserver"]) + len(drains["postgres"])})
            for dialect, ds in drains.items():
                p[dialect] = median_drain(ds)
                log(f"  {dialect}: median of {len(ds)} drains {_fmt_rate(p[dialect]['steady_rate'])} changes/s "
                    f"(" + ", ".join(_fmt_rate(d["steady_rate"]) for d in ds) + ")")
            log(f"sqlserver: phase {phase}: the server's ceiling")
            p["ceiling"] = self.ceiling(rows, new_keys=version == 1)
            p["ceiling_batched"] = self.ceiling_batched(rows, p["ceiling"]["chunk"],
                                                        int(res["sink"]["max_batch_events"] or 5000),
                                                        p["ceiling"]["form"], new_keys=version == 1)
            p["check"] = self.check(version)
            log(f"  check: {p['check']}")
            res["phases"].append(p)
        res["stage"] = next((p["sqlserver"]["stage"] for p in res["phases"] if p["sqlserver"].get("stage")), None)
        res["stage_line"] = next((p["sqlserver"]["stage_line"] for p in res["phases"] if p["sqlserver"].get("stage_line")), None)
        res["final_state_matches"] = all(p["check"]["final_state_matches"] for p in res["phases"])
        return res

    def drop(self) -> None:
        try:
            if self.created.get("tds"):
                conn = self.tds or self.tds_connect()
                sss.tds_drop(conn, *(t for names in self.rounds for t in names.values()), *self.ceiling_names.values(),
                             *self.batched_names.values(), *self.warm_names.values())
        except Exception as e:  # noqa: BLE001 - cleanup must not hide the results
            log(f"sqlserver: could not drop the tables on the server: {e}")
        try:
            if self.created.get("pg"):
                conn = self.pg or self.pg_connect()
                for t in (t for names in self.rounds for t in names.values()):
                    conn.execute(f'DROP TABLE IF EXISTS public."{t}"')
        except Exception as e:  # noqa: BLE001
            log(f"sqlserver: could not drop the PostgreSQL tables: {e}")
        for c in (self.tds, self.pg):
            try:
                if c is not None:
                    c.close()
            except Exception:  # noqa: BLE001
                pass
        if self.created.get("topic"):
            try:
                sss.delete_groups(self.bootstrap, self.groups, patience_s=30)
                sss.delete_topics(self.bootstrap, [self.topic, *self.dlq.values()])
            except Exception as e:  # noqa: BLE001
                log(f"sqlserver: could not delete topics/groups: {e}")


def median_drain(drains: list[dict]) -> dict:
    """A path's drains of one phase as one: the drain with the median steady rate (the lower middle
    one of an even count; a drain without a steady rate counts as the slowest), with every drain's
    rate beside it (`drains`) and the largest peak RSS of them all."""
    ranked = sorted(drains, key=lambda d: -1.0 if d["steady_rate"] is None else d["steady_rate"])
    middle = ranked[(len(ranked) - 1) // 2]
    return {**middle, "peak_rss": max(d["peak_rss"] for d in drains),
            "drains": [{"round": d.get("round"), "order": d.get("order"), "steady_rate": d["steady_rate"],
                        "steady_records": d["steady_records"], "steady_s": d["steady_s"], "peak_rss": d["peak_rss"]}
                       for d in drains]}


def _mib(value: str | None) -> str:
    """sink.max_batch_bytes as the report says it; results stored before the key existed have none."""
    return f"{int(value) / MB:g} MiB" if value else "10 MiB"


def _shipped_sink_value(key: str) -> str | None:
    m = re.search(rf"^  {key}:\s*(\S+)", (REPO / "config" / "metersync.yaml").read_text(), flags=re.MULTILINE)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# The report

def _short_version(version: str) -> str:
    """@@VERSION without its build date and copyright lines: the product line, and the line
    naming the engine underneath where there is one (Babelfish's PostgreSQL line)."""
    text = " ".join(version.split())
    product = text.split(" - ")[0] + (" - " + text.split(" - ")[1].split()[0] if " - " in text else "")
    under = re.search(r"PostgreSQL \d[^(]*\([^)]*\)", text)
    return product + (f" … {under.group(0).strip()}" if under else "")


def _fmt_rate(r: float | None) -> str:
    return "–" if r is None else f"{r:,.0f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _verdict(ok: bool | None, miss: str = "") -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else f"**missed**{miss}"


def _drains_note(d: dict) -> str:
    """`; median of 3: a, b, c` after a path's rate when the phase drained it more than once."""
    ds = d.get("drains") or []
    if len(ds) < 2:
        return ""
    return f"; median of {len(ds)}: " + ", ".join(_fmt_rate(x["steady_rate"]) for x in ds)


def _batched_cells(rate, cb: dict | None) -> str:
    """The two cells of the ceiling in metersync's transaction size (absent in runs before it)."""
    if not cb:
        return "– | – | "
    x = _ratio(rate, cb["rate"])
    return f"{cb['rate']:,.0f}/s ({cb['elapsed_s']:.2f} s) | {'–' if x is None else f'{100 * x:.0f}%'} | "


def _tries(ceiling: dict) -> list[str]:
    """The staging tries as `rows form seconds`; runs stored before both forms were tried kept a
    dict of rows → seconds."""
    if "staging_tried" in ceiling:
        return [f"{x['rows']:,} rows ({FORMS[x['form']]}) {x['s']:.2f} s" for x in ceiling["staging_tried"]]
    return [f"{int(k):,} rows {v:.2f} s" for k, v in ceiling.get("staging_tried_s", {}).items()]


def section(sq: dict) -> list[str]:
    head = ["## 5. The SQL Server path", ""]
    pointer = ("The opt-in suite's throughput test (`tests/integration/test_sqlserver_throughput.py`: new, updated "
               "and stale changes with each dialect and each stage path) and what the figures on Babelfish do and do "
               "not say are in [sqlserver.md](sqlserver.md#throughput-of-the-sql-server-path--on-babelfish-not-sql-server).")
    if sq.get("skipped"):
        return head + [f"Skipped ({sq.get('date', '?')}): {sq['reason']}. With the variable set, "
                       "`bench/run --parts sqlserver` drains the same Debezium-shaped workload into Meter Master on "
                       "that server and into PostgreSQL, and measures the server's own ceiling.", "", pointer, ""]
    srv = sq["server"]
    phases = sq["phases"]
    lines = head + [
        f"Run `{sq['run_id']}`, {sq['date']}, on **{srv['summary']}** (`@@VERSION`: \"{_short_version(srv['version'])}\"; "
        f"database `{srv['database']}`), through the {srv.get('driver') or '?'} ODBC driver"
        + (f" (TDS {srv['tds_version']})" if srv.get("tds_version") else "") + ". "
        + ("Figures from Babelfish say nothing about SQL Server's own plans, tempdb or log. " if srv["babelfish"] else "")
        + f"Workload: **{sq['keys']:,} meters** of the SQL Server connector's `dbo.Meters`, in Debezium's shape (the captured "
        "fixture's schema block; `SqlServerEvents` of the opt-in suite), on a topic of the run's own (1 partition), in two "
        f"phases: one insert (`c`) per meter (new keys), then one update (`u`, with `before`) per meter; {sq['events']:,} events. "
        "Each phase's records are produced with no metersync running; then, one after the other on the same stack: "
        "metersync with `sink.dialect: sqlserver` ("
        + (f"`sink.sqlserver_stage: {sq['stage_setting']}`" if sq.get("stage_setting") else "`sink.sqlserver_stage` not set: auto")
        + ") into a Meter Master of the run's own on that server, metersync with "
        "`sink.dialect: postgres` into the stack's PostgreSQL, and the server's own ceiling.", "",
        "| phase | changes | SQL Server path, first → last commit | with process start | PostgreSQL path, first → last | "
        "with process start | SQL Server ÷ PostgreSQL | server ceiling, one transaction | SQL Server ÷ ceiling | "
        "server ceiling, metersync's transactions | SQL Server ÷ that | final state |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for p in phases:
        s, g, c = p["sqlserver"], p["postgres"], p["ceiling"]
        rs, rg = s["steady_rate"], g["steady_rate"]
        vs_pg, vs_ce = _ratio(rs, rg), _ratio(rs, c["rate"])
        ck = p["check"]
        lines.append(
            f"| {p['name']} | {p['changes']:,} | **{_fmt_rate(rs)}**/s ({s['steady_records']:,} in {s['steady_s']:.2f} s"
            f"{_drains_note(s)}) | {s['rate_with_start']:,.0f}/s ({s['last_s']:.2f} s) | "
            f"{_fmt_rate(rg)}/s ({g['steady_records']:,} in {g['steady_s']:.2f} s{_drains_note(g)}) | "
            f"{g['rate_with_start']:,.0f}/s ({g['last_s']:.2f} s) | {'–' if vs_pg is None else f'{vs_pg:.2f}×'} | "
            f"{c['rate']:,.0f}/s ({c['elapsed_s']:.2f} s) | {'–' if vs_ce is None else f'{100 * vs_ce:.0f}%'} | "
            + _batched_cells(rs, p.get("ceiling_batched"))
            + ("matches" if ck["final_state_matches"] else
               f"**differs** (SQL Server {ck['sqlserver_rows']:,} rows, {ck['sqlserver_at_version']:,} at the phase's version; "
               f"PostgreSQL {ck['postgres_rows']:,}/{ck['postgres_at_version']:,}; ceiling {ck['ceiling_rows']:,}/{ck['ceiling_at_version']:,}; "
               f"{ck['sqlserver_vs_ceiling_differing']} rows differ from the ceiling's, {ck['sqlserver_vs_postgres_differing']} from PostgreSQL's)")
            + " |")
    peak = max(p["sqlserver"]["peak_rss"] for p in phases)
    lines += [
        "",
        "*First → last commit*: each metersync starts on the phase's records already on the topic; the offsets table's "
        "`records_applied` (committed in the same transaction as the rows) is polled every 20 ms; the rate counts the "
        "records applied after the first commit seen, over the time from that commit to the last, so neither the process "
        "start (connecting, the schema check, the consumer group joining) nor the first batch is in it. *With process start*: all "
        "of the phase's records over the time from starting the process to the last commit. "
        + (f"Each path drained each phase {sq['drains']} times, each time into tables and consumer groups of that "
           "round's own, the order alternated (round 1 SQL Server first, round 2 PostgreSQL first, …); its rate is the "
           "median of its drains (the drain shown, every drain's rate beside it; ratios use the medians), its peak RSS "
           "the largest. " if sq.get("drains", 1) > 1 else "")
        + "Each drain is a fresh "
        f"process (stopped after the phase); `sink.max_batch_events` {sq['sink'].get('max_batch_events')}"
        + (" (`--sqlserver-batch-events`, both dialects)" if sq["sink"].get("batch_events_set") else " as shipped")
        + f" and `max_batch_wait_ms` {sq['sink'].get('max_batch_wait_ms')} as shipped; a batch also ends at "
        + _mib(sq["sink"].get("max_batch_bytes"))
        + (" of held records (`sink.max_batch_bytes`, `--sqlserver-batch-bytes`, both dialects)."
           if sq["sink"].get("batch_bytes_set") else " of held records (`sink.max_batch_bytes` as shipped)."),
        "",
        "*Server ceiling*: the phase's Meter Master rows, mapped in Python beforehand (not timed), as JSON documents read "
        "into a temp table by `INSERT INTO #temp … SELECT … OPENJSON … WITH (…typed columns…)`, one statement for all of "
        "them (`FROM (VALUES (?), …) AS d CROSS APPLY OPENJSON(d.[document])`, as metersync sends them) or one "
        "`FROM OPENJSON(?)` statement each, whichever staged faster; then "
        + ("the one statement the phase's net effect needs, as metersync writes such a segment without the statement it "
           "skips: the new keys' `INSERT … SELECT` of every staged row (no key stored before), the updates' `UPDATE t … "
           "FROM … INNER JOIN #temp` with the same newer-position guard as metersync"
           if all(p["ceiling"].get("apply") for p in phases) else
           "one `UPDATE t … FROM … INNER JOIN #temp` with the same newer-position guard as metersync and one "
           "`INSERT … SELECT … WHERE NOT EXISTS`")
        + ", in one transaction (pyodbc, `BEGIN TRANSACTION` … `COMMIT TRANSACTION`, on a fresh connection as each metersync "
        "drain starts on one; the temp table created and the statements run once on an empty document before the clock): "
        "the same net effect with no per-event work on the client. The rows per document and the shape are the fastest of "
        "those tried on the staging step alone, before the clock, each on a fresh connection (a Babelfish backend that has "
        "handled a document of several MB stages faster for the rest of its session), the whole phase as one document "
        "last: "
        + "; ".join(f"{p['name']}: " + ", ".join(_tries(p["ceiling"]))
                    + f" → {p['ceiling'].get('chunk', p['changes']):,}"
                    + (f" ({FORMS[p['ceiling']['form']]})" if p["ceiling"].get("form") else "") for p in phases)
        + ". OPENJSON into the temp table took "
        + ", ".join(f"{p['ceiling']['stage_s']:.2f} s" for p in phases) + " of it. The same load timed again on the "
        "connection that staged the whole-phase document, into a table of its own (docs/sqlserver.md): "
        + ", ".join(f"{p['name']} {p['ceiling']['warm']['rate']:,.0f}/s ({p['ceiling']['warm']['elapsed_s']:.2f} s)"
                    for p in phases if p["ceiling"].get("warm"))
        + ". *Server ceiling, metersync's "
        "transactions*: the same statements and documents, committed every `sink.max_batch_events` rows as metersync "
        "commits (one `BEGIN`, the documents, "
        + ("the same statement" if all(p["ceiling"].get("apply") for p in phases) else "the `UPDATE` and the `INSERT`")
        + ", `COMMIT`, the temp table emptied), into a "
        "table of its own: what the server itself does when it must commit as often. *Final state*, checked after each "
        "phase: every row at the phase's version in every table, the SQL "
        "Server Meter Master equal to the ceiling's table in every column but `SyncedAt` (server-side `EXCEPT` both ways) "
        "and to the PostgreSQL one row for row.",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    for p in phases:
        r = p["sqlserver"]["steady_rate"]
        lines.append(f"| SQL Server path ≥ {TARGET_RATE:,} changes/s on Babelfish ({p['name']}) | {_fmt_rate(r)} changes/s | "
                     + _verdict(None if r is None else r >= TARGET_RATE,
                                "" if r is None or r >= TARGET_RATE else f" ({r / TARGET_RATE:.2f}× the target)") + " |")
    for p in phases:
        x = _ratio(p["sqlserver"]["steady_rate"], p["postgres"]["steady_rate"])
        lines.append(f"| ≥ {TARGET_VS_PG}× the PostgreSQL path in the same run ({p['name']}) | "
                     f"{'–' if x is None else f'{x:.2f}×'} ({_fmt_rate(p['sqlserver']['steady_rate'])} vs "
                     f"{_fmt_rate(p['postgres']['steady_rate'])} changes/s) | "
                     + _verdict(None if x is None else x >= TARGET_VS_PG) + " |")
    for p in phases:
        x = _ratio(p["sqlserver"]["steady_rate"], p["ceiling"]["rate"])
        lines.append(f"| ≥ {100 * TARGET_VS_CEILING:.0f}% of the server's own ceiling ({p['name']}) | "
                     f"{'–' if x is None else f'{100 * x:.0f}%'} ({_fmt_rate(p['sqlserver']['steady_rate'])} vs "
                     f"{p['ceiling']['rate']:,.0f} changes/s) | " + _verdict(None if x is None else x >= TARGET_VS_CEILING) + " |")
    for p in phases:
        w = p["ceiling"].get("warm")
        if not w:
            continue
        x = _ratio(p["sqlserver"]["steady_rate"], w["rate"])
        lines.append(f"| ≥ {100 * TARGET_VS_CEILING:.0f}% of the server's ceiling on the connection that staged the "
                     f"whole-phase document ({p['name']}) | {'–' if x is None else f'{100 * x:.0f}%'} "
                     f"({_fmt_rate(p['sqlserver']['steady_rate'])} vs {w['rate']:,.0f} changes/s) | "
                     + _verdict(None if x is None else x >= TARGET_VS_CEILING) + " |")
    for p in phases:
        cb = p.get("ceiling_batched")
        if not cb:
            continue
        x = _ratio(p["sqlserver"]["steady_rate"], cb["rate"])
        lines.append(f"| ≥ {100 * TARGET_VS_CEILING:.0f}% of the server's ceiling in transactions of {cb['batch']:,} rows "
                     f"({p['name']}) | {'–' if x is None else f'{100 * x:.0f}%'} ({_fmt_rate(p['sqlserver']['steady_rate'])} "
                     f"vs {cb['rate']:,.0f} changes/s) | " + _verdict(None if x is None else x >= TARGET_VS_CEILING) + " |")
    lines.append(f"| metersync ≤ 100 MB resident | {peak / MB:.0f} MiB peak ({peak / 1e6:.0f} MB), SQL Server drains | "
                 + _verdict(peak <= TARGET_RSS) + " |")
    stage = sq.get("stage")
    lines.append(f"| stage path used (`sink.sqlserver_stage`: {sq.get('stage_setting') or 'not set, auto'}) | "
                 f"{stage or 'not logged'} | – |")
    if sq.get("stage_line"):
        said = sq["stage_line"].split("; server ")[0]  # the server's facts are named above
        lines += ["", f"metersync's log, at the start of the SQL Server drains: `sqlserver stage: {said}`"]
    later = sq.get("skipped_later")
    if later:
        lines += ["", f"A later `bench/run` ({later['date']}) skipped this part: {later['reason']}; the figures above are "
                      "from the run named at the top of this section."]
    m = sq.get("machine")
    if m:
        lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; metersync at `{m['git']}`; "
                      f"load average at the start of the part (1, 5, 15 min): {m['loadavg_at_start']}."
                      + (" The server ran on the same machine as Kafka, PostgreSQL and metersync." if sq["server"].get("local") else "")]
    lines += ["", pointer, ""]
    return lines
