"""Debezium connectors: configuration from cdcstack/connectors/, validation, registration, readiness."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .connect import http
from .envfile import stack_env
from .kafka import topic_message_count
from .postgres import pg_connect
from .process import wait_for
from .settings import (
    APP_PASS, APP_USER, CDCSTACK, CONNECTORS, DBZ_PASS, DBZ_USER, HOST, ROOT, StackError,
)


def substitute(value, variables: dict[str, str], source: Path):
    import re
    def repl(m):
        name, default = m.group(1), m.group(3)
        if variables.get(name):
            return variables[name]
        if default is not None:
            return default
        raise StackError(f"{source.relative_to(ROOT)}: ${{{name}}} is not set (export {name}=...)")
    if isinstance(value, str):
        # ${VAR} or ${VAR:-default}, as in the shell.
        return re.sub(r"\$\{([A-Z0-9_]+)(:-([^}]*))?\}", repl, value)
    if isinstance(value, dict):
        return {k: substitute(v, variables, source) for k, v in value.items()}
    return value


def connectors_to_register(ports: dict) -> list[tuple[str, dict, str]]:
    variables = dict(stack_env(ports))
    variables.update({"PG_DEBEZIUM_USER": DBZ_USER, "PG_DEBEZIUM_PASSWORD": DBZ_PASS,
                      "MARIADB_DEBEZIUM_USER": DBZ_USER, "MARIADB_DEBEZIUM_PASSWORD": DBZ_PASS})
    # Real servers (SQL Server, Oracle, MySQL) are configured through the caller's environment.
    variables.update({k: v for k, v in os.environ.items() if k not in variables})
    out = []
    for name, enabling_var, topic in CONNECTORS:
        if enabling_var is not None and not os.environ.get(enabling_var):
            continue
        path = CDCSTACK / "connectors" / f"{name}.json"
        spec = json.loads(path.read_text())
        out.append((spec["name"], substitute(spec["config"], variables, path), topic))
    return out


def validation_errors(base: str, config: dict) -> list[str]:
    cls = config.get("connector.class", "")
    status, body = http("PUT", f"{base}/connector-plugins/{cls}/config/validate", config, timeout=120)
    if status != 200 or not isinstance(body, dict):
        return [f"validate returned HTTP {status}: {body}"]
    errors = []
    for item in body.get("configs", []):
        v = item.get("value") or {}
        for err in v.get("errors", []):
            errors.append(f"{v.get('name')}: {err}")
    return errors


def register_connector(base: str, name: str, config: dict) -> None:
    """Validates, then creates or updates the connector through the Connect REST API.

    Validation comes first because Connect 4.3 reports some refused configurations (e.g. the
    MySQL connector against MariaDB) only as an HTTP 500 NullPointerException on create;
    PUT /connector-plugins/<class>/config/validate carries the real message."""
    errors = validation_errors(base, dict(config, name=name))
    if errors:
        detail = "\n".join(f"         {e}" for e in errors)
        raise StackError(f"connector {name!r} is not valid; PUT /connector-plugins/"
                         f"{config.get('connector.class')}/config/validate says:\n{detail}\n"
                         f"       Fix cdcstack/connectors/ or the variables it uses, then run ./stack up again.")
    deadline = time.monotonic() + 60
    while True:
        status, body = http("PUT", f"{base}/connectors/{name}/config", config, timeout=120)
        if status in (200, 201):
            return
        # 409: the worker is still rebalancing after its start.
        if status == 409 and time.monotonic() < deadline:
            time.sleep(0.5)
            continue
        msg = body.get("message") if isinstance(body, dict) else body
        raise StackError(f"Kafka Connect refused connector {name!r} (HTTP {status}: {msg})")


def connector_status(base: str, name: str) -> dict | None:
    status, body = http("GET", f"{base}/connectors/{name}/status")
    return body if status == 200 else None


def failure_text(name: str, st: dict) -> str | None:
    parts = []
    c = st.get("connector", {})
    if c.get("state") == "FAILED":
        parts.append(f"connector {name} FAILED on {c.get('worker_id')}:\n{c.get('trace', '(no trace)')}")
    for t in st.get("tasks", []):
        if t.get("state") == "FAILED":
            parts.append(f"task {name}-{t.get('id')} FAILED on {t.get('worker_id')}:\n{t.get('trace', '(no trace)')}")
    return "\n".join(parts) or None


def all_running(st: dict | None) -> bool:
    return bool(st and st.get("connector", {}).get("state") == "RUNNING" and st.get("tasks")
                and all(t.get("state") == "RUNNING" for t in st["tasks"]))


def restart_if_failed(base: str, name: str) -> bool:
    """A connector or task left FAILED by an earlier run (say, its database was down) gets one
    restart; returns True when it had failed. A config that fails again is reported by the wait."""
    st = connector_status(base, name)
    if not st or not failure_text(name, st):
        return False
    status, body = http("POST", f"{base}/connectors/{name}/restart?includeTasks=true&onlyFailed=true")
    if status not in (200, 202, 204):
        raise StackError(f"restarting failed connector {name!r}: HTTP {status}: {body}")
    # The restart request marks the failed parts RESTARTING before it returns (HTTP 202), so the
    # next status read shows the new attempt, not the old failure.
    return True


def wait_connector_running(base: str, name: str) -> None:
    def probe():
        st = connector_status(base, name)
        if st is None:
            return False
        failed = failure_text(name, st)
        if failed:
            raise StackError(f"{failed}\n       (from GET {base}/connectors/{name}/status; "
                             f"fix the config in cdcstack/connectors/ and run ./stack up again)")
        return all_running(st)
    wait_for(f"connector {name} and its task to be RUNNING", probe, service="connect")


def source_row_count(ports: dict, which: str) -> int:
    if which == "postgres":
        with pg_connect(ports, dbname="meterdb", user=APP_USER, password=APP_PASS) as conn:
            return conn.execute("SELECT count(*) FROM public.meter").fetchone()[0]
    import pymysql
    conn = pymysql.connect(host=HOST, port=ports["mariadb"], user=APP_USER, password=APP_PASS, database="meterdb")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM meters")
            return cur.fetchone()[0]
    finally:
        conn.close()


def wait_snapshot(ports: dict, base: str, name: str, topic: str, which: str) -> int:
    """The initial snapshot is on Kafka once the topic holds at least one message per current row:
    every row is either in the snapshot or arrived later as its own create event."""
    rows = source_row_count(ports, which)

    def probe():
        st = connector_status(base, name)
        failed = st and failure_text(name, st)
        if failed:
            raise StackError(failed)
        n = topic_message_count(ports, topic)
        return n is not None and n >= rows and n
    n = wait_for(f"the initial snapshot of {rows} rows on {topic}", probe, service="connect", interval=0.5)
    return n
