"""The PostgreSQL 15 server: source database meterdb (logical WAL) and the Meter Master metermaster."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

from .process import check_user_can_reach, chown_tree, run_as_kwargs, service_home, service_user, spawn
from .settings import (
    APP_PASS, APP_USER, CDCSTACK, DBZ_PASS, HOST, PG_BIN, PG_SUPERPASS, PG_SUPERUSER,
    StackError, split_sql,
)


def pg_dirs():
    d = service_home("postgres")
    return d, d / "data"


def pg_start(ports: dict) -> bool:
    """Starts PostgreSQL; returns True when the cluster was created now (and needs provisioning)."""
    base, data = pg_dirs()
    user = service_user("postgres")
    fresh = not (base / ".provisioned").exists()
    if fresh:
        # A cluster that never finished provisioning holds nothing of value: start over.
        shutil.rmtree(data, ignore_errors=True)
        base.mkdir(parents=True, exist_ok=True)
        chown_tree(base, user)
        check_user_can_reach(base, user)
        pwfile = base / "superuser.pw"
        pwfile.write_text(PG_SUPERPASS + "\n")
        chown_tree(base, user)
        r = subprocess.run([str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "-E", "UTF8",
                            "--no-locale", "--auth-host=scram-sha-256", "--auth-local=peer",
                            f"--pwfile={pwfile}"],
                           cwd=base, capture_output=True, text=True, **run_as_kwargs(user))
        pwfile.unlink()
        if r.returncode != 0:
            raise StackError(f"initdb failed:\n{r.stdout}{r.stderr}")
    argv = [str(PG_BIN / "postgres"), "-D", str(data),
            "-c", f"listen_addresses={HOST}", "-c", f"port={ports['postgres']}",
            # TCP only: no socket path length limits, nothing outside .local/.
            "-c", "unix_socket_directories=",
            # CDC: logical decoding for Debezium's pgoutput slot.
            "-c", "wal_level=logical", "-c", "max_wal_senders=10", "-c", "max_replication_slots=10",
            "-c", "shared_buffers=128MB", "-c", "max_connections=100",
            "-c", "timezone=UTC", "-c", "log_timezone=UTC",
            "-c", "logging_collector=off", "-c", "log_line_prefix=%m [%p] %q%u@%d "]
    spawn("postgres", argv, user=user)
    return fresh


def pg_connect(ports: dict, dbname: str = "postgres", user: str = PG_SUPERUSER, password: str = PG_SUPERPASS):
    import psycopg
    return psycopg.connect(host=HOST, port=ports["postgres"], user=user, password=password,
                           dbname=dbname, connect_timeout=2, autocommit=True)


def pg_ready(ports: dict) -> bool:
    with pg_connect(ports) as conn:
        return conn.execute("SELECT 1").fetchone()[0] == 1


def pg_provision(ports: dict, seed_count: int) -> int:
    import psycopg.sql as psql
    sys.path.insert(0, str(CDCSTACK))
    import seed
    with pg_connect(ports) as conn:
        sql = (CDCSTACK / "sql" / "postgres-roles.sql").read_text()
        sql = sql.replace(":'metersync_password'", psql.Literal(APP_PASS).as_string(conn))
        sql = sql.replace(":'debezium_password'", psql.Literal(DBZ_PASS).as_string(conn))
        for stmt in split_sql(sql):
            conn.execute(stmt)
    with pg_connect(ports, dbname="meterdb") as conn:
        for stmt in split_sql((CDCSTACK / "sql" / "postgres-source.sql").read_text()):
            conn.execute(stmt)
    with pg_connect(ports, dbname="meterdb", user=APP_USER, password=APP_PASS) as conn:
        conn.autocommit = False
        conn.execute("SET TIME ZONE 'UTC'")
        n = seed.seed_postgres(conn, seed_count)
    (service_home("postgres") / ".provisioned").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return n
