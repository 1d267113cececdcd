"""Part `scale`: the same backlog drained by 1, 2 and 3 metersync instances sharing one consumer
group (same configuration, their own instance_id), into Meter Master on PostgreSQL.

One topic of Debezium PostgreSQL events (the throughput part's generator, three partitions like
the source topic) is produced once; each run gets its own Meter Master table, offsets table and
consumer group, starts its instances together and stops the clock when the offsets table covers
every record. Reported per run: events/s, CPU seconds of each instance, of the PostgreSQL backends
that served them (the sink) and of the Kafka broker, and what share of the CPU used the sink took.
The machine's cores bound the sum of all of them: on a 2-core machine more instances cannot add
CPU, only spread it.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from pathlib import Path

import psycopg

import procstat
import throughput
from throughput import log

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVENTS = 100_000
CHECK_EVENTS = 5_000
INSTANCES = (1, 2, 3)


def kafka_pid() -> int | None:
    try:
        return int((REPO / ".local/stack/kafka/kafka.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def instance_config(b: throughput.Bench, label: str, n: int, batch: int) -> Path:
    """The throughput part's configuration of run `label`, with this instance's id and status file."""
    shared = b.metersync_config(label, batch, {})
    path = b.workdir / f"metersync-{label}-{n}.yaml"
    text = shared.read_text().replace(f"metersync-status-{label}.json", f"metersync-status-{label}-{n}.json")
    path.write_text(text + f"instance_id: bench-{label}-{n}\n")
    return path


def drain(b: throughput.Bench, expect: dict, instances: int, batch: int, timeout: float) -> dict:
    label = f"scale{instances}"
    procs, logs, samplers = [], [], []
    backends: dict[int, float] = {}
    kpid = kafka_pid()
    kafka = procstat.Sampler(kpid) if kpid else None
    t0 = time.monotonic()
    try:
        for n in range(1, instances + 1):
            config = instance_config(b, label, n, batch)
            logf = open(b.workdir / f"metersync-{label}-{n}.log", "w")
            logs.append(logf)
            procs.append(subprocess.Popen([str(b.bin), "--config", str(config), "run"], stdout=logf,
                                          stderr=subprocess.STDOUT))
            samplers.append(procstat.Sampler(procs[-1].pid))
        applied = 0
        conn = None
        while True:
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"a metersync instance exited with {p.returncode}; see {b.workdir}")
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"{instances} instances did not drain {expect['records']} records in "
                                   f"{timeout:.0f}s ({applied} applied)")
            try:
                conn = conn or b.pg()
                for bpid in b.client_backends(conn):
                    if bpid not in backends:
                        try:
                            backends[bpid] = procstat.cpu_seconds(bpid)
                        except OSError:  # listed by pg_stat_activity, ended before its /proc entry was read
                            pass
                row = conn.execute(f'SELECT coalesce(sum(records_applied), 0) FROM "{b.offsets(label)}"').fetchone()
                applied = int(row[0])
            except psycopg.errors.UndefinedTable:
                pass
            except psycopg.OperationalError:
                conn = None
            if applied >= expect["records"]:
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - t0
        per_instance = [s.stop() for s in samplers]
        sink_cpu = 0.0
        for bpid, cpu0 in backends.items():
            try:
                sink_cpu += procstat.cpu_seconds(bpid) - cpu0
            except OSError:
                pass  # a backend that ended (a reconnect) is not counted after its last sample
        kafka_cpu = kafka.stop()["cpu_s"] if kafka else None
    finally:
        for p in procs:
            procstat.stop(p)
        for f in logs:
            f.close()
    check = b.check_metersync(expect, b.table(label))
    metersync_cpu = sum(r["cpu_s"] for r in per_instance)
    total = metersync_cpu + sink_cpu + (kafka_cpu or 0)
    return {"instances": instances, "elapsed_s": elapsed, "events_per_s": expect["records"] / elapsed,
            "instance_cpu_s": [r["cpu_s"] for r in per_instance],
            "instance_peak_rss": [r["peak_rss"] for r in per_instance],
            "metersync_cpu_s": metersync_cpu, "sink_cpu_s": sink_cpu, "kafka_cpu_s": kafka_cpu,
            "sink_share": sink_cpu / total if total else None,
            "cpu_per_wall_s": total / elapsed, "check": check}


def run(env: dict, run_id: str, workdir: Path, binary: Path, events: int, batch: int, seed: int,
        keep: bool = False) -> dict:
    b = throughput.Bench(env, run_id, workdir, binary)
    res: dict = {"events_requested": events, "run_id": run_id, "cores": os.cpu_count(),
                 "date": dt.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "batch": batch,
                 "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        b.create_database()
        log(f"scale: producing {events} events to {b.topic}")
        summary, expect, _ = b.produce(events, seed)
        res["workload"] = summary.__dict__
        res["partitions"] = len(b.admin.list_topics(b.topic, timeout=10).topics[b.topic].partitions)
        res["runs"] = []
        timeout = max(180, events / 100)
        for n in INSTANCES:
            log(f"scale: {n} instance(s) draining {expect['records']} records")
            r = drain(b, expect, n, batch, timeout)
            res["runs"].append(r)
            log(f"  {r['elapsed_s']:.1f}s {r['events_per_s']:.0f} events/s, instances "
                f"{[round(c, 1) for c in r['instance_cpu_s']]} CPU s, sink {r['sink_cpu_s']:.1f} CPU s "
                f"({100 * (r['sink_share'] or 0):.0f}%), kafka {r['kafka_cpu_s'] or 0:.1f} CPU s, {r['check']}")
    finally:
        if not keep:
            b.drop()
    return res


def section(sc: dict) -> list[str]:
    runs = sc["runs"]
    base = runs[0]["events_per_s"]
    lines = ["## 6. Scaling out: 1, 2 and 3 instances on one backlog", "",
             f"`bench/run --parts scale` (`--scale-events`, default {DEFAULT_EVENTS:,}; "
             f"`--scale-events 1000000` for the full run): {sc['workload']['events']:,} Debezium PostgreSQL events "
             f"on a topic of {sc['partitions']} partitions, drained into Meter Master on PostgreSQL by 1, 2 and 3 "
             "metersync processes with the same configuration and their own `instance_id`, sharing one consumer "
             "group (the shipped assignment settings; each run its own table, offsets table and group). The clock "
             "runs from starting the instances to the offsets table covering every record; the final table is "
             f"checked each time. `sink.max_batch_events` {sc['batch']:,}. {sc['cores']} cores; load average at the "
             f"start {sc['loadavg_at_start']}; run `{sc['run_id']}`, {sc['date']}.", "",
             "| instances | drain | events/s | vs 1 | CPU s per instance | metersync CPU s | sink (PostgreSQL backends) CPU s | Kafka broker CPU s | sink's share | CPU used / wall s | final state |",
             "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r['instances']} | {r['elapsed_s']:.1f} s | {r['events_per_s']:,.0f} | "
                     f"{r['events_per_s'] / base:.2f}× | {', '.join(f'{c:.1f}' for c in r['instance_cpu_s'])} | "
                     f"{r['metersync_cpu_s']:.1f} | {r['sink_cpu_s']:.1f} | "
                     f"{(r['kafka_cpu_s'] or 0):.1f} | {100 * (r['sink_share'] or 0):.0f}% | "
                     f"{r['cpu_per_wall_s']:.2f} | {'matches' if r['check']['final_state_matches'] else 'DIFFERS'} |")
    n = sc["workload"]["events"]
    records = n  # per event; tombstones ride along
    rates = ", ".join(f"{r['events_per_s']:,.0f}" for r in runs)
    used = ", ".join(f"{r['cpu_per_wall_s']:.2f}" for r in runs)
    mcpu = ", ".join(f"{r['metersync_cpu_s']:.1f}" for r in runs)
    us_m = 1e6 * runs[0]["metersync_cpu_s"] / records
    us_s = 1e6 * runs[0]["sink_cpu_s"] / records
    first = runs[0]
    m_share = first["metersync_cpu_s"] / (first["metersync_cpu_s"] + first["sink_cpu_s"] + (first["kafka_cpu_s"] or 0))
    lines += ["", "*Sink's share*: the PostgreSQL backends' CPU over the CPU of metersync, those backends and the "
              "Kafka broker together; *CPU used / wall s*: how many cores those processes kept busy on average "
              "(the stack's other services and the rest of the machine come on top).", "",
              f"**Flat or worse here, and why.** {rates} events/s with 1, 2 and 3 instances. The processes measured "
              f"kept only {used} of the machine's {sc['cores']} cores busy on average; the rest of the time they "
              f"waited: for CPU, on a machine whose load average was {sc['loadavg_at_start'][0]} at the start (other "
              "work shares it), and for the sink's commits. A second or third instance brings no CPU of its own "
              "here; it adds its start-up (joining the group, a rebalance, a sink connection), a fixed cost on a "
              "drain this short, and one more writer queueing on the source's writer lock. The work itself does not change with the "
              f"instances: metersync's CPU over all instances {mcpu} s, the sink's about the same each time. Per "
              f"event (1 instance): metersync {us_m:.0f} µs of CPU (decoding and mapping; the throughput part's "
              f"profile), PostgreSQL {us_s:.0f} µs.", "",
              f"**Sizing a real deployment.** Instances on cores of their own spread metersync's part "
              f"({100 * m_share:.0f} % of the CPU measured here) and the endpoint deliveries, up to one instance "
              "per partition (three per "
              "topic as shipped). Meter Master writes of one source do not spread: every instance's transactions "
              "for that source take the source's writer lock (docs/sink.md), so they run one at a time, and the "
              "sink database's time per transaction (its CPU for the upserts and the commit) bounds one source's "
              "apply rate whatever the number of instances. Several sources write in parallel. Scale out for "
              "decoding, mapping and endpoint throughput, or for availability; for one source's Meter Master rate, "
              "give the sink database the resources.", ""]
    return lines
