"""A real Prometheus (Debian's package, installed by ./install) scraping metersync in a test.

One process on a free loopback port with its own data directory, scraping every second, loading
the shipped alert rules (ops/prometheus/metersync-alerts.yml); read back through its HTTP query
API. close() ends it.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests

from metersync_harness import REPO, free_port, wait_until


class Prometheus:
    def __init__(self, directory: Path, targets: list[str]):
        binary = shutil.which("prometheus")
        if binary is None:
            raise AssertionError("prometheus not found: ./install installs Debian's prometheus")
        self.directory = directory / "prometheus"
        self.directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "ops" / "prometheus" / "metersync-alerts.yml", self.directory)
        config = self.directory / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "rule_files:\n  - metersync-alerts.yml\n"
            "scrape_configs:\n  - job_name: metersync\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.directory / "prometheus.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={self.directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_until(self._ready, 60, f"prometheus on port {self.port}", interval=0.3)
        except BaseException:
            self.close()
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def query(self, expr: str) -> list[dict]:
        """An instant query's result vector: [{'metric': {...}, 'value': [t, 'v']}, ...]."""
        r = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The single value of `expr`, or None when it has no sample (yet)."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr} has {len(result)} series: {result}"
        return float(result[0]["value"][1]) if result else None

    def wait_value(self, expr: str, holds, timeout: float, what: str) -> float:
        last = [None]

        def check():
            last[0] = self.value(expr)
            return last[0] is not None and holds(last[0])
        try:
            wait_until(check, timeout, what, interval=1)
        except AssertionError as e:
            raise AssertionError(f"{e}; {expr} = {last[0]}") from None
        return last[0]

    def targets_up(self) -> bool:
        return self.value('up{job="metersync"}') == 1

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
