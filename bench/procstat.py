"""CPU seconds and resident memory of one process, sampled from /proc while a phase runs."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def hwm_bytes(pid: int) -> int:
    """The kernel's own peak resident size of the process (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """Samples RSS every `interval` s in a thread; `stop()` gives CPU seconds used and peak RSS
    seen between start and stop (a long-running process's VmHWM may predate the phase)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._cpu0 = cpu_seconds(pid)
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                rss = rss_bytes(self.pid)
            except OSError:
                return
            self.peak = max(self.peak, rss)
            self.samples.append((time.monotonic() - self._t0, rss))
            self._stop.wait(self.interval)

    def stop(self) -> dict:
        cpu = cpu_seconds(self.pid)
        self._stop.set()
        self._thread.join()
        return {"cpu_s": cpu - self._cpu0, "peak_rss": self.peak, "wall_s": time.monotonic() - self._t0}


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
