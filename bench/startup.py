"""Part 4: cold and warm `./stack up` until the first change is in Meter Master.

The shared stack is never touched: the part exports the committed tree (`git archive HEAD`) into
a scratch directory, links the installed parts (venv, Kafka, Connect plugins) into its `.local/`,
and runs that copy's `./stack` on ports of its own (STACK_*_PORT). Cold: `up` on empty data
directories (initdb, MariaDB install, Kafka format, seed, connectors, snapshot). Warm: `down`,
then `up` again on the kept data. Each time, when `up` returns, metersync starts on that stack's
PostgreSQL source; measured: `up` alone, up to the first snapshot row in Meter Master, and up to a
change committed after `up` appearing in Meter Master. `reset` and removal of the scratch copy
follow.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

import procstat
from throughput import log, shipped_pg_mapping

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "cdcstack"))
import stackenv  # noqa: E402

PORTS = {"STACK_PG_PORT": 56432, "STACK_MARIADB_PORT": 56306, "STACK_KAFKA_PORT": 56092,
         "STACK_KAFKA_CONTROLLER_PORT": 56093, "STACK_CONNECT_PORT": 56083, "STACK_ENDPOINT_PORT": 56080}



class Scratch:
    def __init__(self, workdir: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="metersync-bench-startup-", dir="/var/tmp"))
        os.chmod(self.dir, 0o755)
        tar = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(self.dir)], input=tar, check=True)
        local = self.dir / ".local"
        local.mkdir()
        for part in ("venv", "kafka", "connect-plugins"):
            (local / part).symlink_to(REPO / ".local" / part)
        self.env = {**os.environ, **{k: str(v) for k, v in PORTS.items()}}
        self.logs = workdir

    def stack(self, *args: str, timeout: float = 600) -> float:
        t0 = time.monotonic()
        with open(self.logs / f"startup-stack-{args[0]}.log", "a") as out:
            subprocess.run([str(self.dir / "stack"), *args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                           check=True, timeout=timeout)
        return time.monotonic() - t0

    def stackenv(self) -> dict:
        return stackenv.load(self.dir / ".local" / "stack.env")

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def first_change(scratch: Scratch, binary: Path, workdir: Path, label: str, t_up_start: float) -> dict:
    env = scratch.stackenv()
    cfg = workdir / f"startup-{label}.yaml"
    odbc = (f"Driver={{PostgreSQL Unicode}};Server={env['PG_HOST']};Port={env['PG_PORT']};"
            f"Database={env['PG_SINK_DB']};Uid={env['PG_USER']};Pwd={env['PG_PASSWORD']}")
    cfg.write_text(f"""\
kafka:
  bootstrap_servers: {env['KAFKA_BOOTSTRAP']}
  group_prefix: bench-startup-{label}-{uuid.uuid4().hex[:6]}
sink:
  dialect: postgres
  connection: "{odbc}"
  table: MeterMaster_{label}
  offsets_table: MeterSyncOffsets_{label}
sources:
  postgres:
    connector: postgres
    topic: {env['PG_TOPIC']}
{shipped_pg_mapping()}""")
    proc = subprocess.Popen([str(binary), "--config", str(cfg), "run"],
                            stdout=open(workdir / f"startup-metersync-{label}.log", "w"), stderr=subprocess.STDOUT)
    res = {}
    try:
        sink = psycopg.connect(**stackenv.pg_connect_kwargs(env, env["PG_SINK_DB"]), autocommit=True)
        table = f'"MeterMaster_{label}"'
        deadline = time.monotonic() + 300
        while True:
            try:
                if sink.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0:
                    break
            except psycopg.errors.UndefinedTable:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("no snapshot row reached Meter Master within 300 s")
            time.sleep(0.05)
        res["first_snapshot_row_s"] = time.monotonic() - t_up_start
        src = psycopg.connect(**stackenv.pg_connect_kwargs(env, env["PG_SOURCE_DB"]), autocommit=True)
        serial = f"BENCH-STARTUP-{uuid.uuid4().hex[:8]}"
        t_commit = time.monotonic()
        src.execute("INSERT INTO public.meter (meter_id, serial_number, kind, multiplier) "
                    "VALUES (gen_random_uuid(), %s, 'electric', 1)", (serial,))
        while sink.execute(f'SELECT count(*) FROM {table} WHERE "SerialNumber" = %s', (serial,)).fetchone()[0] == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the new change did not reach Meter Master within 300 s")
            time.sleep(0.02)
        res["new_change_s"] = time.monotonic() - t_up_start
        res["new_change_after_commit_s"] = time.monotonic() - t_commit
        src.close()
        sink.close()
    finally:
        procstat.stop(proc)
    return res


def run(env, workdir: Path, binary: Path) -> dict:
    busy = [f"{k}={p}" for k, p in PORTS.items() if not stackenv.port_free(p)]
    if busy:
        raise RuntimeError(f"start-up part: ports in use ({', '.join(busy)}); another bench start-up run?")
    scratch = Scratch(workdir)
    out = {"ports": PORTS, "seed_count": int(os.environ.get("STACK_SEED_COUNT", "3000"))}
    try:
        for label in ("cold", "warm"):
            if label == "warm":
                scratch.stack("down")
            log(f"start-up: {label} ./stack up (scratch copy {scratch.dir})")
            t0 = time.monotonic()
            up_s = scratch.stack("up")
            res = {"up_s": up_s}
            res.update(first_change(scratch, binary, workdir, label, t0))
            out[label] = res
            log(f"  {res}")
    finally:
        try:
            scratch.stack("reset", timeout=180)
        finally:
            scratch.remove()
    return out


def section(st: dict) -> list[str]:
    lines = ["## 4. Start-up", "",
             "A scratch copy of the committed tree runs its own `./stack` on ports of its own "
             f"({', '.join(f'{k}={v}' for k, v in st['ports'].items())}), seeded with {st['seed_count']:,} meters per source; "
             "the shared stack is not touched. *Cold*: empty data directories (initdb, MariaDB install, Kafka format, "
             "seed, connectors, initial snapshot). *Warm*: `./stack down` then `./stack up` on the kept data. When `up` "
             "returns, metersync starts (PostgreSQL source, a fresh Meter Master table and consumer group).", "",
             "| | `./stack up` returns | first snapshot row in Meter Master | a change committed then, in Meter Master | that change alone |",
             "|---|---:|---:|---:|---:|"]
    for label in ("cold", "warm"):
        r = st.get(label)
        if r:
            lines.append(f"| {label} | {r['up_s']:.1f} s | {r['first_snapshot_row_s']:.1f} s | {r['new_change_s']:.1f} s | "
                         f"{r['new_change_after_commit_s'] * 1000:.0f} ms |")
    lines += ["", "Times from the start of `./stack up`.", ""]
    return lines
