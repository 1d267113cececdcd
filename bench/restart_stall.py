"""How long a source stands still after metersync is SIGKILLed and started again at once:
restart-to-first-apply, measured by hand for a binary, under a steady load on PostgreSQL.

One metersync (the shipped configuration, fresh tables and groups, the PostgreSQL source only)
catches up, then is SIGKILLed and restarted `--kills` times; each time the clock runs from the
new process's start until the offsets table's records_applied for the source grows (its first
committed batch). Comparing two binaries shows what static membership and the shorter session
timeout change (docs/operating.md, "Several instances, one group"):

  .local/venv/bin/python bench/restart_stall.py --bin /path/to/old/metersync
  .local/venv/bin/python bench/restart_stall.py --bin build/src/app/metersync
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "cdcstack"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import loadgen  # noqa: E402
import stackenv  # noqa: E402
import metersync_harness as harness  # noqa: E402


def applied(sink, names) -> int:
    return sum(r["records_applied"] for r in harness.offsets(sink, names) if r["pipeline"] == names.group("postgres"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--rate", type=float, default=50, help="changes/s on PostgreSQL meanwhile")
    args = ap.parse_args(argv)
    import os
    os.environ["METERSYNC_BIN"] = str(Path(args.bin).resolve())
    env = stackenv.load()
    names = harness.Names.fresh()
    stop = threading.Event()
    load = threading.Thread(target=loadgen.run, args=("postgres", env),
                            kwargs={"rate": args.rate, "duration": 3600, "seed": 11, "stop": stop}, daemon=True)
    sink = harness.sink_connect(env)
    stalls = []
    with tempfile.TemporaryDirectory() as tmp:
        ms = harness.MeterSync(env, names, Path(tmp))
        try:
            ms.start("--source", "postgres")
            load.start()
            # Caught up: the source's lag at 0 with the load running.
            harness.wait_until(lambda: (s := ms.status()) and s["sources"]["postgres"].get("lag") == 0
                               and s["sources"]["postgres"]["records_applied"] > 0, 600, "catching up")
            for i in range(args.kills):
                time.sleep(3)
                ms.kill()
                before = applied(sink, names)
                t0 = time.monotonic()
                ms.start("--source", "postgres")
                harness.wait_until(lambda: applied(sink, names) > before, 300, "the first apply after the restart",
                                   interval=0.05)
                stalls.append(time.monotonic() - t0)
                print(f"kill {i + 1}: restart to first apply {stalls[-1]:.1f} s", flush=True)
        finally:
            stop.set()
            ms.close()
            harness.drop_sink_tables(sink, names)
            sink.close()
    print(f"{args.bin}: restart-to-first-apply after SIGKILL, {len(stalls)} kills: "
          f"median {statistics.median(stalls):.1f} s, min {min(stalls):.1f} s, max {max(stalls):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
