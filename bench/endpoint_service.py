"""A metersync-endpoint of the bench's own: started on a free loopback port with a database in the
run's work directory, read back through SQLite (read-only) for what it received."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import procstat


class EndpointService:
    def __init__(self, binary: Path, workdir: Path, name: str = "endpoint"):
        self.db = workdir / f"{name}.db"
        self._log = open(workdir / f"{name}.log", "w")
        env = {**os.environ, "METERSYNC_ENDPOINT_TOKEN": "bench"}
        self.proc = subprocess.Popen([str(binary), "--port", "0", "--db", str(self.db)],
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        seen = []
        while True:  # its log goes to stdout too; the port comes on a line of its own
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"metersync-endpoint did not start: {''.join(seen)[-2000:]}")
            if line.startswith("listening "):
                break
            seen.append(line)
        self.port = int(line.split()[1])
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    @property
    def url(self) -> str:
        """The base of the per-source routes: <url>/<source>/changes."""
        return f"http://127.0.0.1:{self.port}/v1/sources"

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            try:
                return db.execute(sql, args).fetchall()
            except sqlite3.OperationalError:  # before the first post the tables may not exist yet
                return []

    def count(self, source: str, after_seq: int = 0) -> int:
        rows = self.query("SELECT count(*) FROM events WHERE seq > ? AND source = ?", (after_seq, source))
        return rows[0][0] if rows else 0

    def stop(self) -> None:
        procstat.stop(self.proc, 15)
        self._log.close()
