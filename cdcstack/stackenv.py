"""Reads .local/stack.env, the sourceable file `./stack up` writes (KEY=value lines, shell quoting)."""
from __future__ import annotations

import shlex
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / ".local" / "stack.env"


def load(path: Path | str = DEFAULT_PATH) -> dict[str, str]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run ./stack up first")
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        # Values are written with shlex.quote, so shlex.split undoes exactly that.
        parts = shlex.split(value)
        env[key.strip()] = parts[0] if parts else ""
    return env


def pg_connect_kwargs(env: dict[str, str], dbname: str | None = None) -> dict:
    return {
        "host": env["PG_HOST"],
        "port": int(env["PG_PORT"]),
        "user": env["PG_USER"],
        "password": env["PG_PASSWORD"],
        "dbname": dbname or env["PG_SOURCE_DB"],
    }


def mariadb_connect_kwargs(env: dict[str, str], database: str | None = None) -> dict:
    return {
        "host": env["MARIADB_HOST"],
        "port": int(env["MARIADB_PORT"]),
        "user": env["MARIADB_USER"],
        "password": env["MARIADB_PASSWORD"],
        "database": database or env["MARIADB_SOURCE_DB"],
        "charset": "utf8mb4",
        # TIMESTAMP columns are UTC in the spec: make the session agree.
        "init_command": "SET time_zone = '+00:00'",
    }


def free_port() -> int:
    """A loopback port nothing listens on now (bound to 0 and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """True when nothing holds `port` on 127.0.0.1, so a private stack can take it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
