"""The MariaDB 10.11 server: source database meterdb with a row-based, full-image binlog."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .process import check_user_can_reach, chown_tree, service_home, service_user, spawn
from .settings import (
    APP_PASS, APP_USER, CDCSTACK, DBZ_PASS, HOST, MARIADBD, MARIADB_INSTALL_DB, ROOT,
    StackError, split_sql,
)


def mariadb_socket() -> Path:
    sock = service_home("mariadb") / "run" / "mariadb.sock"
    if len(str(sock)) > 100:  # sun_path is 108 bytes
        digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        sock = Path("/tmp") / f"metersync-stack-{digest}" / "mariadb.sock"
    return sock


def mariadb_start(ports: dict) -> bool:
    base = service_home("mariadb")
    data = base / "data"
    user = service_user("mariadb")
    fresh = not (base / ".provisioned").exists()
    sock = mariadb_socket()
    if fresh:
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True, exist_ok=True)
        sock.parent.mkdir(parents=True, exist_ok=True)
        chown_tree(base, user)
        check_user_can_reach(base, user)
        argv = [str(MARIADB_INSTALL_DB), "--no-defaults", f"--datadir={data}",
                # Its own tmpdir: bootstraps sharing /tmp were seen to collide.
                f"--tmpdir={base}", "--auth-root-authentication-method=normal", "--skip-test-db"]
        if user:
            argv.append(f"--user={user}")
        r = subprocess.run(argv, cwd=base, capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError(f"mariadb-install-db failed:\n{r.stdout}{r.stderr}")
    sock.parent.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(sock.parent, user, user)
    argv = [str(MARIADBD), "--no-defaults", f"--datadir={data}", f"--port={ports['mariadb']}",
            f"--bind-address={HOST}", f"--socket={sock}", f"--pid-file={base / 'mariadbd.pid'}",
            # No --log-error: the error log goes to stderr, which is .local/stack/mariadb/mariadb.log.
            f"--tmpdir={base}",
            # With skip-name-resolve '%' logins match 127.0.0.1 (no user@localhost shadowing).
            "--skip-name-resolve",
            # CDC: row-based binlog with full before/after images and a server id.
            f"--log-bin={data / 'mariadb-bin'}", "--binlog-format=ROW", "--binlog-row-image=FULL",
            "--server-id=1", "--expire-logs-days=7",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            "--default-time-zone=+00:00",
            "--innodb-buffer-pool-size=128M", "--performance-schema=OFF", "--max-connections=200"]
    if user:
        argv.append(f"--user={user}")
    spawn("mariadb", argv)
    return fresh


def mariadb_ready(ports: dict) -> bool:
    import pymysql
    conn = pymysql.connect(unix_socket=str(mariadb_socket()), user="root", password="", connect_timeout=2)
    try:
        conn.ping()
        return True
    finally:
        conn.close()


def mariadb_provision(ports: dict, seed_count: int) -> int:
    import pymysql
    sys.path.insert(0, str(CDCSTACK))
    import seed
    conn = pymysql.connect(unix_socket=str(mariadb_socket()), user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            for stmt in split_sql((CDCSTACK / "sql" / "mariadb-source.sql").read_text()):
                cur.execute(stmt)
            users = (CDCSTACK / "sql" / "mariadb-users.sql").read_text()
            users = users.replace("@METERSYNC_PASSWORD@", APP_PASS).replace("@DEBEZIUM_PASSWORD@", DBZ_PASS)
            for stmt in split_sql(users):
                cur.execute(stmt)
    finally:
        conn.close()
    conn = pymysql.connect(host=HOST, port=ports["mariadb"], user=APP_USER, password=APP_PASS,
                           database="meterdb", charset="utf8mb4", init_command="SET time_zone = '+00:00'")
    try:
        n = seed.seed_mariadb(conn, seed_count)
    finally:
        conn.close()
    (service_home("mariadb") / ".provisioned").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return n


def mariadb_tcp_ready(ports: dict) -> bool:
    import pymysql
    conn = pymysql.connect(host=HOST, port=ports["mariadb"], user=APP_USER, password=APP_PASS,
                           database="meterdb", connect_timeout=2)
    try:
        conn.ping()
        return True
    finally:
        conn.close()
