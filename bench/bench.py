"""`bench/run`: metersync against Debezium's JDBC sink connector and the database ceiling,
end-to-end latency, resources, start-up, and (when METERSYNC_SQLSERVER_ODBC names a SQL Server-
compatible server) the SQL Server path beside the PostgreSQL one and that server's own ceiling;
writes docs/benchmarks.md and docs/bench/*.png.

Each part stores its figures in docs/bench/results.json under its own name, and the report is
rendered from that file, so a part run on its own (`--parts latency`) updates only its section.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "cdcstack"))

import stackenv  # noqa: E402
import throughput  # noqa: E402
from throughput import log  # noqa: E402

PARTS = ("throughput", "latency", "startup", "sqlserver", "scale", "verify", "faults")
# The fault suite's long version takes about an hour: only when asked for (--parts faults). So is
# verify (about 6 minutes with its 1M-row tables), which would take the default run past 30 minutes.
DEFAULT_PARTS = ("throughput", "latency", "startup", "sqlserver", "scale")
RESULTS = REPO / "docs" / "bench" / "results.json"


def find_binary(name: str, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    # build/ is what ./test and the README build; another build directory may hold older code.
    p = REPO / "build" / "src" / ("app" if name == "metersync" else "endpoint") / name
    if p.exists():
        return p
    raise SystemExit(f"{name} not built: cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && "
                     f"cmake --build build -j2 (or pass --{name.replace('metersync-', '')}-bin)")


def history_entry(tp: dict) -> dict:
    """One line per throughput run: how much the figures move with the machine's load."""
    n = tp["workload"]["events"]
    best = min(tp["jdbc"], key=lambda r: r["elapsed_s"]) if tp.get("jdbc") else None
    return {"run_id": tp["run_id"], "date": tp["date"], "events": n,
            "loadavg_at_start": tp["machine"]["loadavg_at_start"],
            "metersync": n / tp["metersync"]["elapsed_s"], "jdbc": n / best["elapsed_s"] if best else None,
            "ceiling": n / tp["ceiling"]["elapsed_s"], "metersync_peak_rss": tp["metersync"]["peak_rss"]}


def save(path: Path, results: dict) -> None:
    """After each part: a later part failing keeps the earlier parts' figures."""
    path.write_text(json.dumps(results, indent=1, default=str))


def machine() -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    mem = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")))
    load = os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 1048576, 1),
            "kernel": platform.release(), "os": out(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
            "loadavg_at_start": [round(x, 2) for x in load],
            "postgres": out(["sh", "-c", "ls /usr/lib/postgresql | tail -1"]),
            "java": out(["sh", "-c", "java -version 2>&1 | head -1"]),
            "git": out(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000, help="change events for the throughput part")
    ap.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                    help=f"comma list of {', '.join(PARTS)} (default: all but verify and faults, the long fault "
                         f"suite of tests/faults, which writes docs/reliability.md)")
    ap.add_argument("--rates", default="100,1000,5000", help="changes/s of the latency workloads")
    ap.add_argument("--sqlserver-events", type=int,
                    help="change events of the sqlserver part, half new keys then half updates of them "
                         "(default 100000; 2000 with --check); the part runs only when METERSYNC_SQLSERVER_ODBC is set")
    ap.add_argument("--sqlserver-stage", choices=("auto", "json", "rows"),
                    help="sink.sqlserver_stage for the sqlserver part (default: not set, the shipped default)")
    ap.add_argument("--sqlserver-drains", type=int,
                    help="drains of each path per phase in the sqlserver part, the order alternated; a path's rate is "
                         "the median (default 3, 1 with --check)")
    ap.add_argument("--sqlserver-batch-events", type=int,
                    help="sink.max_batch_events of the sqlserver part's drains (both dialects) and of its ceiling in "
                         "metersync's transactions (default: the shipped configuration's)")
    ap.add_argument("--sqlserver-batch-bytes", type=int,
                    help="sink.max_batch_bytes of the sqlserver part's drains (both dialects; default: the shipped "
                         "configuration's, else 10 MiB)")
    ap.add_argument("--scale-events", type=int,
                    help="change events of the scale part, drained by 1, 2 and 3 instances (default 100000; "
                         "5000 with --check; 1000000 for the full run)")
    ap.add_argument("--verify-rows",
                    help="source table sizes of the verify part, comma list (default 100000,1000000; 4000 with "
                         "--check); it starts throwaway PostgreSQL and MariaDB servers of its own, no stack")
    ap.add_argument("--verify-test", help="the verify_server_test binary (default build/src/verify/verify_server_test)")
    ap.add_argument("--duration", type=float, default=30, help="seconds per latency workload")
    ap.add_argument("--batch", type=int, default=5000, help="metersync sink.max_batch_events")
    ap.add_argument("--jdbc-sweep", action="store_true",
                    help="run the JDBC sink with each setting of the sweep (stored as the part jdbc_sweep)")
    ap.add_argument("--no-profile", action="store_true", help="no perf sampling of metersync and its backend")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--metersync-bin")
    ap.add_argument("--endpoint-bin")
    ap.add_argument("--check", action="store_true",
                    help="a quick run that proves the command works: writes under .local/bench/check, not docs/")
    ap.add_argument("--keep", action="store_true", help="keep the bench topic and database")
    ap.add_argument("--env-file", help="the stack's addresses (default .local/stack.env)")
    ap.add_argument("--scratch-stack", action="store_true",
                    help="run the latency part on a private copy of the stack (own ports, see bench/startup.py), "
                         "leaving the shared stack's source tables alone")
    ap.add_argument("--report-only", action="store_true", help="render docs/benchmarks.md from the stored results")
    args = ap.parse_args(argv)
    if args.report_only:
        import report
        report.write(json.loads(RESULTS.read_text()), REPO / "docs" / "benchmarks.md", REPO / "docs" / "bench")
        return 0

    parts = [p for p in args.parts.split(",") if p]
    for p in parts:
        if p not in PARTS:
            raise SystemExit(f"--parts: unknown part {p!r} ({', '.join(PARTS)})")
    import sqlserver
    # The sqlserver part alone and skipped (no server given) needs neither the stack nor the binary;
    # the verify part starts servers of its own.
    needs_stack = any(p not in ("sqlserver", "verify") for p in parts) or (
        "sqlserver" in parts and sqlserver.skip_reason() is None)
    env = (stackenv.load(args.env_file) if args.env_file else stackenv.load()) if needs_stack else None
    run_id = dt.datetime.utcnow().strftime("%m%d%H%M%S") + uuid.uuid4().hex[:4]
    workdir = REPO / ".local" / "bench" / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    out_dir = (REPO / ".local" / "bench" / "check") if args.check else (REPO / "docs")
    results_path = out_dir / "bench" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    t_start = time.monotonic()

    binary = find_binary("metersync", args.metersync_bin) if needs_stack else None
    if "faults" in parts:
        # tests/faults's long version against the same stack; its table goes to docs/reliability.md
        # (under .local/faults/ with --check, which runs the short version instead).
        t0 = time.monotonic()
        cmd = [str(REPO / "tests" / "faults" / "run"), *([] if args.check else ["--long", "--doc"])]
        log(f"faults: {' '.join(cmd)}")
        code = subprocess.run(cmd, cwd=REPO, env={**os.environ, "METERSYNC_BIN": str(binary)}).returncode
        log(f"faults: exit {code} after {time.monotonic() - t0:.0f}s")
        if code != 0:
            raise SystemExit(f"the fault suite failed (exit {code}); its table is in .local/faults/")
        if parts == ["faults"]:
            return 0
    if "throughput" in parts:
        t0 = time.monotonic()
        m = machine()
        res = run_throughput(env, run_id, workdir, binary, args)
        res["machine"] = m
        res["part_s"] = time.monotonic() - t0
        results["jdbc_sweep" if args.jdbc_sweep else "throughput"] = res
        if not args.jdbc_sweep:
            results.setdefault("history", []).append(history_entry(res))
        save(results_path, results)
    if "latency" in parts:
        import latency
        endpoint = find_binary("metersync-endpoint", args.endpoint_bin)
        rates = [int(r) for r in args.rates.split(",") if r]
        t0 = time.monotonic()
        m = machine()
        if args.scratch_stack:
            import startup
            scratch = startup.Scratch(workdir)
            try:
                log(f"latency: private stack copy in {scratch.dir}")
                scratch.stack("up")
                results["latency"] = latency.run(scratch.stackenv(), run_id, workdir, binary, endpoint, rates, args.duration)
                results["latency"]["stack"] = "a private copy of the stack (bench/startup.py's scratch copy, own ports)"
            finally:
                scratch.stack("reset", timeout=240)
                scratch.remove()
        else:
            results["latency"] = latency.run(env, run_id, workdir, binary, endpoint, rates, args.duration)
            results["latency"]["stack"] = "the shared local stack (./stack up)"
        results["latency"]["machine"] = m
        results["latency"]["part_s"] = time.monotonic() - t0
        save(results_path, results)
    if "startup" in parts:
        import startup
        t0 = time.monotonic()
        results["startup"] = startup.run(env, workdir, binary)
        results["startup"]["part_s"] = time.monotonic() - t0
        save(results_path, results)
    if "sqlserver" in parts:
        t0 = time.monotonic()
        m = machine()
        n = args.sqlserver_events or (sqlserver.CHECK_EVENTS if args.check else sqlserver.DEFAULT_EVENTS)
        res = sqlserver.run(env, run_id, workdir, binary, n, stage=args.sqlserver_stage,
                            batch_events=args.sqlserver_batch_events, batch_bytes=args.sqlserver_batch_bytes,
                            keep=args.keep,
                            drains=args.sqlserver_drains or (1 if args.check else sqlserver.DEFAULT_DRAINS))
        res["machine"] = m
        res["part_s"] = time.monotonic() - t0
        earlier = results.get("sqlserver")
        if res.get("skipped") and earlier and not earlier.get("skipped"):
            # keep the last measurement (a machine without the server says so beside it)
            earlier["skipped_later"] = {"date": res["date"], "reason": res["reason"]}
        else:
            results["sqlserver"] = res
    if "scale" in parts:
        import scale
        t0 = time.monotonic()
        n = args.scale_events or (scale.CHECK_EVENTS if args.check else scale.DEFAULT_EVENTS)
        results["scale"] = scale.run(env, run_id, workdir, binary, n, args.batch, args.seed, keep=args.keep)
        results["scale"]["part_s"] = time.monotonic() - t0
        save(results_path, results)
    if "verify" in parts:
        import verify
        t0 = time.monotonic()
        m = machine()
        rows = ([int(n) for n in args.verify_rows.split(",") if n] if args.verify_rows
                else list(verify.CHECK_ROWS if args.check else verify.DEFAULT_ROWS))
        results["verify"] = verify.run(rows, workdir, verify.find_test(args.verify_test))
        results["verify"]["machine"] = m
        results["verify"]["part_s"] = time.monotonic() - t0
    save(results_path, results)
    import report
    report.write(results, out_dir / "benchmarks.md", out_dir / "bench")
    log(f"done in {time.monotonic() - t_start:.0f}s: {out_dir / 'benchmarks.md'}")
    return 0


# The JDBC sink's settings: the best of the sweep (`--jdbc-sweep`, results in docs/benchmarks.md).
JDBC_FETCH = {"consumer.override.fetch.max.bytes": "104857600",
              "consumer.override.max.partition.fetch.bytes": "10485760"}
JDBC_SWEEP = [
    {"batch.size": "500", "consumer.override.max.poll.records": "500"},  # the connector's defaults
    {"batch.size": "2000", "consumer.override.max.poll.records": "2000", **JDBC_FETCH},
    {"batch.size": "5000", "consumer.override.max.poll.records": "5000", **JDBC_FETCH},
    {"batch.size": "10000", "consumer.override.max.poll.records": "10000", **JDBC_FETCH},
    {"batch.size": "5000", "consumer.override.max.poll.records": "5000", **JDBC_FETCH, "tasks.max": "3"},
]
JDBC_BEST = JDBC_SWEEP[4]


# endpoint.max_in_flight's default, and how long an endpoint drain may take before its rate so
# far is what the report shows (a full 1M-event drain to the endpoint would dominate the part).
ENDPOINT_IN_FLIGHT = 4
ENDPOINT_DRAIN_LIMIT_S = 120


def run_throughput(env, run_id, workdir, binary, args) -> dict:
    b = throughput.Bench(env, run_id, workdir, binary)
    throughput.remove_leftovers(env["CONNECT_URL"])
    res: dict = {"events_requested": args.events, "run_id": run_id,
                 "date": dt.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")}
    try:
        b.create_database()
        log(f"producing {args.events} events to {b.topic}")
        summary, expect, t_prod = b.produce(args.events, args.seed)
        res["workload"] = summary.__dict__
        res["expect"] = expect
        res["produce_s"] = t_prod
        res["shape"] = shape_proof(b)
        timeout = max(120, args.events / 200)
        log(f"metersync draining {expect['records']} records")
        res["metersync"] = b.run_metersync(expect, "main", args.batch, {}, timeout, profile=not args.no_profile)
        log(f"  {res['metersync']['elapsed_s']:.1f}s {res['metersync']['check']}")
        # A second drain with a smaller consumer prefetch and batch: what memory costs in throughput.
        # (A prefetch below the 12 MiB default is not tried: librdkafka 2.0 then spends most of the
        # time waiting to refetch, see docs/design.md.)
        low: dict = {}
        log("metersync (low memory: batch 1000) draining again")
        res["metersync_lowmem"] = b.run_metersync(expect, "lowmem", 1000, low, timeout, profile=False)
        log(f"  {res['metersync_lowmem']['elapsed_s']:.1f}s {res['metersync_lowmem']['check']}")
        # What a Prometheus server costs the pipeline: the same drain with the HTTP listener on,
        # once left alone and once scraped every second, twice each in turn (A B A B) so the
        # machine's drift shows as the spread of each pair.
        res["scrape"] = []
        for round_ in (1, 2):
            for scraped in (False, True):
                label = f"scrape{round_}{'on' if scraped else 'off'}"
                log(f"metersync with its listener, {'scraped every second' if scraped else 'not scraped'} (round {round_})")
                r = b.run_metersync(expect, label, args.batch, {}, timeout, profile=False, listen=True,
                                    scrape_every_s=1.0 if scraped else None)
                res["scrape"].append(r)
                log(f"  {r['elapsed_s']:.1f}s {r['check']}" + (f" scrapes {r['scrapes']}" if scraped else ""))
        # The endpoint path's sustained rate beside the table path's: both destinations drain
        # the same backlog at once, with parallel delivery (shipped) and with posts one at a time.
        endpoint_bin = find_binary("metersync-endpoint", args.endpoint_bin)
        res["endpoint_drain"] = []
        for in_flight in (ENDPOINT_IN_FLIGHT, 1):
            log(f"metersync draining to Meter Master and an endpoint at once (max_in_flight={in_flight})")
            r = b.run_endpoint_drain(expect, endpoint_bin, in_flight, args.batch, limit_s=ENDPOINT_DRAIN_LIMIT_S)
            res["endpoint_drain"].append(r)
            log(f"  Meter Master {r['meter_master']['per_s']:,.0f}/s, endpoint {r['endpoint']['per_s']:,.0f}/s"
                + ("" if r["endpoint"]["drained"] else f" (not drained in {r['limit_s']:.0f} s)"))
        log("database ceiling")
        res["ceiling"] = b.run_ceiling(expect)
        log(f"  {res['ceiling']['elapsed_s']:.1f}s")
        res["jdbc"] = []
        for i, settings in enumerate(JDBC_SWEEP if args.jdbc_sweep else [JDBC_BEST]):
            name = f"bench-jdbc-{run_id}-{i}"
            log(f"JDBC sink {name} {settings}")
            r = b.run_jdbc(expect, name, settings, timeout=max(300, args.events / 50))
            res["jdbc"].append(r)
            log(f"  {r['elapsed_s']:.1f}s")
    finally:
        if not args.keep:
            b.drop()
    return res


def shape_proof(b) -> dict:
    """The generated messages against the captured ones: same decoder (json), schema blocks equal,
    payload keys in the same order at every level, the same JSON types per field."""
    import shape
    return shape.compare(b.env["KAFKA_BOOTSTRAP"], b.topic, b.templates)


if __name__ == "__main__":
    sys.exit(main())
