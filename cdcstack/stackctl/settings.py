"""Paths, ports, credentials and the error type shared by every part of ./stack."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
STATE = LOCAL / "stack"
ENV_FILE = LOCAL / "stack.env"
STATE_FILE = STATE / "state.json"
VENV = LOCAL / "venv"
VENV_PY = VENV / "bin" / "python"
KAFKA_LIBS = LOCAL / "kafka" / "libs"
PLUGINS = LOCAL / "connect-plugins"
CDCSTACK = ROOT / "cdcstack"

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADBD = Path("/usr/sbin/mariadbd")
MARIADB_INSTALL_DB = Path("/usr/bin/mariadb-install-db")

HOST = "127.0.0.1"
# Local development credentials: every service listens on 127.0.0.1 only.
PG_SUPERUSER, PG_SUPERPASS = "postgres", "postgres"
APP_USER, APP_PASS = "metersync", "metersync"
DBZ_USER, DBZ_PASS = "debezium", "debezium"

# (env var, default). Defaults stay clear of the system services' 5432/3306/9092/8083.
PORT_SETTINGS = {
    "postgres": ("STACK_PG_PORT", 55432),
    "mariadb": ("STACK_MARIADB_PORT", 53306),
    "kafka": ("STACK_KAFKA_PORT", 59092),
    "kafka-controller": ("STACK_KAFKA_CONTROLLER_PORT", 59093),
    "connect": ("STACK_CONNECT_PORT", 58083),
    "endpoint": ("STACK_ENDPOINT_PORT", 58080),
}
SERVICES = ("postgres", "mariadb", "kafka", "connect")
SERVICE_PORTS = {"postgres": ["postgres"], "mariadb": ["mariadb"],
                 "kafka": ["kafka", "kafka-controller"], "connect": ["connect"]}

# Sized for a 2-core, 24 GiB machine shared with the C++ build and the consumer.
JVM_HEAP = os.environ.get("STACK_JVM_HEAP", "1g")
READY_TIMEOUT = float(os.environ.get("STACK_READY_TIMEOUT", "180"))

# Connectors registered by `up`: postgres and mariadb always; the others when the variable
# naming their server is set (see cdcstack/connectors/*.json for the rest of their settings).
CONNECTORS = (
    ("postgres", None, "postgres.public.meter"),
    ("mariadb", None, "mysql.meterdb.meters"),
    ("mysql", "MYSQL_HOST", "mysql.meterdb.meters"),
    ("sqlserver", "MSSQL_HOST", "mssql.MeterDB.dbo.Meters"),
    ("oracle", "ORACLE_HOST", "oracle.METERS.METER"),
)


class StackError(Exception):
    """A failure the user can act on; the message says what to do."""


def say(msg: str) -> None:
    print(f"stack: {msg}", flush=True)


def load_state() -> dict:
    try:
        return json.loads(STATE_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_state(state: dict) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2))


def ports_from_env() -> dict[str, int]:
    ports = {}
    for name, (var, default) in PORT_SETTINGS.items():
        raw = os.environ.get(var, str(default))
        try:
            ports[name] = int(raw)
        except ValueError:
            raise StackError(f"{var}={raw!r} is not a port number")
    return ports


def missing_install() -> list[str]:
    missing = []
    for path, what in ((PG_BIN / "postgres", "PostgreSQL 15 server"), (PG_BIN / "initdb", "PostgreSQL initdb"),
                       (MARIADBD, "MariaDB server"), (MARIADB_INSTALL_DB, "mariadb-install-db")):
        if not path.exists():
            missing.append(f"{what} ({path})")
    if shutil.which("java") is None:
        missing.append("Java 17 runtime (java)")
    if not KAFKA_LIBS.is_dir() or not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        missing.append(f"Kafka ({KAFKA_LIBS})")
    for plugin in ("postgres", "mariadb", "mysql", "sqlserver", "oracle"):
        if not (PLUGINS / f"debezium-connector-{plugin}").is_dir():
            missing.append(f"Debezium {plugin} plugin ({PLUGINS})")
    if not VENV_PY.exists():
        missing.append(f"Python venv ({VENV})")
    return missing


def require_install() -> None:
    missing = missing_install()
    if missing:
        raise StackError("the stack is not installed: missing " + ", ".join(missing) + ".\n"
                         "       Run ./install first (it is idempotent and fast when already done).")


def split_sql(text: str) -> list[str]:
    """Splits a plain DDL script (no functions, no quoted semicolons) into statements."""
    lines = [ln.split("--", 1)[0] for ln in text.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
