"""Part `verify`: `metersync verify` on source tables of 100,000 and 1,000,000 rows (PostgreSQL and
MariaDB), equal and with 0.1% of the Meter Master rows changed, beside the time to read both
tables whole in the same run.

The measurement is the real-server test's (`verify_server_test --gtest_filter='*Measure*'` with
METERSYNC_VERIFY_ROWS, docs/verify.md "Measured"): it starts a throwaway PostgreSQL and MariaDB
server of its own (no stack needed), creates a source table of the shipped schema with n rows,
writes Meter Master through the sink, then times, one after the other: both tables read whole over
ODBC page by page (the baseline), verify of the equal table, and verify after about 0.1% of the
Meter Master rows were changed. It prints one `METERSYNC_VERIFY_MEASURE {json}` line per server,
which this part stores.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

from throughput import log

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROWS = (100_000, 1_000_000)
# 4,000: the smallest round size at which the test's fixed choice of changed rows (4 in 4,096 by
# the key's MD5) picks at least one row on both servers (4 on PostgreSQL, 2 on MariaDB).
CHECK_ROWS = (4_000,)
MARK = "METERSYNC_VERIFY_MEASURE "
SOURCES = ("postgres", "mariadb")
TARGET_ROWS = 1_000_000
TARGET_S = 10.0  # an equal 1M-row table verified in under 10 s (issue 14)
# Generous: a 1M-row run creates the tables and writes Meter Master through the sink first.
TIMEOUT_S = 3600


def find_test(explicit: str | None = None) -> Path:
    p = Path(explicit) if explicit else REPO / "build" / "src" / "verify" / "verify_server_test"
    if not p.exists():
        raise SystemExit(f"{p} not built: cmake --build build --target verify_server_test")
    return p


def parse(stdout: str) -> list[dict]:
    """The measurement lines the test printed, in order."""
    return [json.loads(line[len(MARK):]) for line in stdout.splitlines() if line.startswith(MARK)]


def skipped_sources(stdout: str) -> dict[str, str]:
    """Servers the test skipped (binaries missing), with gtest's reason."""
    out: dict[str, str] = {}
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[  SKIPPED ]") and "MeasureLargeTable/" in line:
            source = line.split("MeasureLargeTable/")[1].split()[0]
            if source in SOURCES:
                reason = next((lines[j].strip() for j in range(i - 1, max(i - 4, -1), -1)
                               if "skipped" in lines[j].lower() and not lines[j].startswith("[")), "skipped")
                out[source] = reason
    return out


def measure(test: Path, rows: int, workdir: Path) -> dict:
    load_before = [round(x, 2) for x in os.getloadavg()]
    t0 = time.monotonic()
    filt = ":".join(f"Servers/VerifyServerTest.MeasureLargeTable/{s}" for s in SOURCES)
    proc = subprocess.run([str(test), f"--gtest_filter={filt}"], cwd=REPO, capture_output=True, text=True,
                          timeout=TIMEOUT_S, env={**os.environ, "METERSYNC_VERIFY_ROWS": str(rows)},
                          stdin=subprocess.DEVNULL)
    (workdir / f"verify-{rows}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"verify_server_test with {rows} rows failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    found = parse(proc.stdout)
    for m in found:
        if m["rows"] != rows:
            raise RuntimeError(f"verify_server_test measured {m['rows']} rows, asked for {rows}")
    return {"rows": rows, "measurements": found, "skipped": skipped_sources(proc.stdout),
            "loadavg_before": load_before, "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "wall_s": time.monotonic() - t0}


def run(rows: list[int], workdir: Path, test: Path | None = None) -> dict:
    test = test or find_test()
    res = {"date": dt.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "test": str(test.relative_to(REPO))
           if test.is_relative_to(REPO) else str(test), "runs": []}
    for n in rows:
        log(f"verify: {n:,} rows")
        r = measure(test, n, workdir)
        for m in r["measurements"]:
            log(f"  {m['source']}: read whole {m['read_whole_s']:.1f} s, verify equal {m['equal_s']:.1f} s "
                f"(source pass {m['first_pass_s']:.1f} s), 0.1% differing {m['differing_s']:.1f} s")
        for s, why in r["skipped"].items():
            log(f"  {s}: skipped: {why}")
        res["runs"].append(r)
    return res


# ---------------------------------------------------------------------------------------------
# The report

def target(v: dict) -> list[tuple[str, float | None]]:
    """Per source: the equal verify's seconds at TARGET_ROWS (None when not measured)."""
    out = []
    for s in SOURCES:
        t = next((m["equal_s"] for r in v.get("runs", []) if r["rows"] == TARGET_ROWS
                  for m in r["measurements"] if m["source"] == s), None)
        out.append((s, t))
    return out


def target_rows(v: dict) -> list[str]:
    lines = []
    for s, t in target(v):
        verdict = "not measured" if t is None else ("met" if t < TARGET_S else f"**missed** by {t - TARGET_S:.1f} s")
        lines.append(f"| an equal {TARGET_ROWS:,}-row table verified in under {TARGET_S:.0f} s ({s}) | "
                     f"{'–' if t is None else f'{t:.1f} s'} | {verdict} |")
    return lines


NAMES = {"postgres": "PostgreSQL", "mariadb": "MariaDB"}


def _cpu(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.1f} s"


def section(v: dict) -> list[str]:
    lines = ["## 7. Verify: Meter Master against the source tables", "",
             f"`bench/run --parts verify` (`--verify-rows`, default {','.join(str(n) for n in DEFAULT_ROWS)}) runs "
             "the real-server test's measurement (`verify_server_test --gtest_filter='*Measure*'` with "
             "`METERSYNC_VERIFY_ROWS`): on a throwaway PostgreSQL and MariaDB server of its own, a source table of the "
             "shipped schema with n rows, Meter Master written by the sink, then one after the other: both tables read "
             "whole over ODBC page by page (what comparing row by row in metersync would have to move), verify of the "
             "equal table, and verify after about 0.1% of the Meter Master rows were changed. How verify works and what "
             f"it costs: [verify.md](verify.md). Run {v['date']}; servers and metersync on the same cores.", "",
             "| source | rows | both tables read whole | verify, equal | metersync's CPU in it | of which: Meter Master digests "
             "(in parallel) / source pass | verify, 0.1% differing | load average before → after (1, 5, 15 min) |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for r in v.get("runs", []):
        for m in r["measurements"]:
            lines.append(f"| {NAMES.get(m['source'], m['source'])} | {m['rows']:,} | {m['read_whole_s']:.1f} s | "
                         f"**{m['equal_s']:.1f} s** | {_cpu(m.get('equal_cpu_s'))} | "
                         f"{m['digest_s']:.1f} s / {m['first_pass_s']:.1f} s | "
                         f"{m['differing_s']:.1f} s ({m['differences']:,} differing rows; {m['differing_buckets']:,} buckets, "
                         f"{m['source_passes']} source passes, {m['meter_master_rows_read']:,} Meter Master rows read) | "
                         f"{r['loadavg_before']} → {r['loadavg_after']} |")
        for s, why in r.get("skipped", {}).items():
            lines.append(f"| {NAMES.get(s, s)} | {r['rows']:,} | skipped: {why} | | | | | |")
    lines += ["", "*metersync's CPU*: CPU seconds of the test process, all its threads, during the equal verify "
              "(`CLOCK_PROCESS_CPUTIME_ID`): what metersync's side costs whatever else the cores were doing. The rest "
              "of the time is the servers' own work and waiting for the cores; where it goes: verify.md, *Measured*.",
              "", "| target | measured | |", "|---|---|---|", *target_rows(v), ""]
    m = v.get("machine")
    if m:
        lines += [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; metersync at `{m['git']}`.", ""]
    return lines
