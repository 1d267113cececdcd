"""`bench/run --check` end to end on a tiny workload: proves the command works against the running
stack (the `stack` fixture brings it up) and that every system reached the expected final state.
Not a benchmark: no timing is asserted."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]


def metersync_built() -> bool:
    return (REPO / "build" / "src" / "app" / "metersync").exists()


def test_bench_run_check_mode_reaches_the_final_state_everywhere(stack):
    assert metersync_built(), "metersync is not built: cmake --build build"
    out = REPO / ".local" / "bench" / "check"
    results = out / "bench" / "results.json"
    results.unlink(missing_ok=True)
    proc = subprocess.run([str(REPO / "bench" / "run"), "--check", "--events", "2000", "--parts", "throughput",
                           "--no-profile"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tp = json.loads(results.read_text())["throughput"]
    w, expect = tp["workload"], tp["expect"]
    assert w["events"] == 2000
    assert w["snapshot"] + w["creates"] + w["updates"] + w["deletes"] == 2000
    assert expect["records"] == 2000 + w["tombstones"]
    # generated events have the captured Debezium shape
    assert tp["shape"]["identical_shape"], tp["shape"]["problems"]
    # every system ends in the expected final state
    assert tp["metersync"]["check"] == {"rows": expect["meters"], "soft_deleted": expect["deleted"],
                                        "final_state_matches": True}
    assert tp["metersync_lowmem"]["check"]["final_state_matches"]
    assert tp["ceiling"]["final_state_matches"]
    assert tp["ceiling"]["rows_differing_from_metersync"] == 0
    assert tp["ceiling"]["rows_copied"] == 2000
    assert [j["rows"] for j in tp["jdbc"]] == [expect["live"]]
    report = (out / "benchmarks.md").read_text()
    assert "## 1. Sink throughput" in report and "identical shape" in report
    assert (out / "bench" / "throughput.png").stat().st_size > 10_000
