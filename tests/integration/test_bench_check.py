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


def test_bench_scale_part_drains_with_one_two_and_three_instances(stack):
    """`bench/run --check --parts scale`: the same small backlog drained by 1, 2 and 3 instances
    sharing one group; each drain ends in the expected final state and measures every instance."""
    assert metersync_built(), "metersync is not built: cmake --build build"
    results = REPO / ".local" / "bench" / "check" / "bench" / "results.json"
    results.unlink(missing_ok=True)
    proc = subprocess.run([str(REPO / "bench" / "run"), "--check", "--parts", "scale", "--scale-events", "3000"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sc = json.loads(results.read_text())["scale"]
    assert sc["workload"]["events"] == 3000
    assert sc["partitions"] >= 3
    assert [r["instances"] for r in sc["runs"]] == [1, 2, 3]
    for r in sc["runs"]:
        assert r["check"]["final_state_matches"], r
        assert len(r["instance_cpu_s"]) == r["instances"]
        # Measured, not necessarily above zero: a 3,000-event drain of under a second can cost
        # the sink's backends less than one clock tick (10 ms) as /proc counts it.
        assert r["sink_cpu_s"] >= 0, r


def test_bench_verify_part_stores_and_reports_each_measurement():
    """`bench/run --check --parts verify`: the real-server test's measurement on 4,000 rows (it starts
    throwaway PostgreSQL and MariaDB servers itself, no stack), each server's figures stored and
    reported; verify finds the equal table equal and, after the change, exactly the changed rows."""
    test = REPO / "build" / "src" / "verify" / "verify_server_test"
    assert test.exists(), "verify_server_test is not built: cmake --build build"
    out = REPO / ".local" / "bench" / "check"
    results = out / "bench" / "results.json"
    results.unlink(missing_ok=True)
    proc = subprocess.run([str(REPO / "bench" / "run"), "--check", "--parts", "verify"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ve = json.loads(results.read_text())["verify"]
    assert [r["rows"] for r in ve["runs"]] == [4000]
    run = ve["runs"][0]
    measured = {m["source"]: m for m in run["measurements"]}
    # A server whose binaries are missing is skipped by the test and said so; the rest is measured.
    assert set(measured) | set(run["skipped"]) == {"postgres", "mariadb"}, run
    assert measured, run
    for source, m in measured.items():
        assert m["rows"] == 4000 and m["equal"], m
        assert m["read_rows"] == 8000, m  # both tables read whole
        assert m["changed"] > 0 and m["differences"] == m["changed"], m
        assert m["source_passes"] == 2, m
        assert m["equal_s"] > 0 and m["read_whole_s"] > 0, m
    report = (out / "benchmarks.md").read_text()
    assert "## 7. Verify: Meter Master against the source tables" in report
    assert "| PostgreSQL | 4,000 |" in report or "postgres" in run["skipped"]
    assert "| MariaDB | 4,000 |" in report or "mariadb" in run["skipped"]
