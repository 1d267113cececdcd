"""docs/benchmarks.md and its plots, from the stored results (docs/bench/results.json)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MB = 1024 * 1024


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else 0.0


def best_jdbc(tp: dict) -> dict:
    return min(tp["jdbc"], key=lambda r: r["elapsed_s"])


def throughput_section(tp: dict, plots: Path) -> list[str]:
    w, e = tp["workload"], tp["expect"]
    n = w["events"]
    ms, ce = tp["metersync"], tp["ceiling"]
    jd = best_jdbc(tp) if tp.get("jdbc") else None
    r_ms, r_ce = _rate(n, ms["elapsed_s"]), _rate(n, ce["elapsed_s"])
    r_jd = _rate(n, jd["elapsed_s"]) if jd else 0.0
    lines = [
        "## 1. Sink throughput",
        "",
        f"Run `{tp['run_id']}`, {tp['date']}. Workload: **{n:,} change events** on a topic of its own "
        f"(3 partitions, like the source topic), {w['bytes'] / MB:,.0f} MiB: a snapshot of {w['snapshot']:,} meters "
        f"(`r`), {w['creates']:,} new meters (`c`), {w['updates']:,} updates concentrated on a working set of 10% "
        f"of the meters (`u`), {w['deletes']:,} deletes (`d`, each followed by its tombstone: "
        f"{w['tombstones']:,} more records, {e['records']:,} records in all). Final state: {e['meters']:,} meters, "
        f"{e['live']:,} live, {e['deleted']:,} deleted. Producing took {tp['produce_s']:.0f} s (not counted).",
        "",
        "| system | time to drain | events/s | vs JDBC sink | vs ceiling | final rows |",
        "|---|---:|---:|---:|---:|---|",
        f"| metersync (batch {ms['batch']}) | {ms['elapsed_s']:.1f} s | **{r_ms:,.0f}** | "
        f"{(r_ms / r_jd if r_jd else float('nan')):.1f}× | {100 * r_ms / r_ce:.0f}% | {ms['check']['rows']:,} "
        f"({ms['check']['soft_deleted']:,} soft-deleted), final state {'matches' if ms['check']['final_state_matches'] else '**differs**'} |",
    ]
    lm = tp.get("metersync_lowmem")
    if lm:
        r_lm = _rate(n, lm["elapsed_s"])
        lines.append(f"| metersync, low memory (batch {lm['batch']}, prefetch {_prefetch_mib(lm)} MiB) "
                     f"| {lm['elapsed_s']:.1f} s | {r_lm:,.0f} | "
                     f"{(r_lm / r_jd if r_jd else float('nan')):.1f}× | {100 * r_lm / r_ce:.0f}% | {lm['check']['rows']:,}, final state "
                     f"{'matches' if lm['check']['final_state_matches'] else '**differs**'} |")
    for r in tp.get("jdbc", []):
        s = r["settings"]
        label = f"batch.size={s.get('batch.size')}, max.poll.records={s.get('consumer.override.max.poll.records')}, tasks.max={s.get('tasks.max', '1')}"
        rr = _rate(n, r["elapsed_s"])
        lines.append(f"| Debezium JDBC sink ({label}) | {r['elapsed_s']:.1f} s | {rr:,.0f} | 1.0× | "
                     f"{100 * rr / r_ce:.0f}% | {r['rows']:,} (deletes are hard), final state matches |"
                     if r is jd else
                     f"| Debezium JDBC sink ({label}) | {r['elapsed_s']:.1f} s | {rr:,.0f} | {rr / r_jd:.2f}× | "
                     f"{100 * rr / r_ce:.0f}% | {r['rows']:,} |")
    lines += [
        f"| database ceiling: COPY of every event's row + one upsert | {ce['elapsed_s']:.1f} s (COPY {ce['copy_s']:.1f} s) | {r_ce:,.0f} | "
        f"{(r_ce / r_jd if r_jd else float('nan')):.1f}× | 100% | {ce['rows']:,}, final state "
        f"{'matches' if ce['final_state_matches'] else '**differs**'}, {ce['rows_differing_from_metersync']} rows differ from metersync's |",
        "",
        "Times run from the start of the process (metersync) or the connector's creation (JDBC sink) "
        "until the final state is in the database: metersync's `MeterSyncOffsets.records_applied` covers every "
        "record and the table then holds exactly the expected rows (count, soft deletes, and the sum of "
        "`LastReadingAt` of the live rows); the JDBC sink's table holds the live rows with the same sum (polled every 0.25 s). "
        "metersync keeps deleted meters as rows with `IsDeleted` (the spec's soft delete); the JDBC sink, with "
        "`delete.enabled=true`, deletes them: both end in the same final state of the same events.",
        "",
        f"**The ceiling** is what PostgreSQL takes with no per-event work on the client: the Meter Master row of each of the "
        f"{ce['rows_copied']:,} change events, mapped in Python beforehand (not timed), goes in by one `COPY` into a "
        "temporary staging table, then one `INSERT … SELECT DISTINCT ON (key) … ORDER BY key, seq DESC ON CONFLICT DO UPDATE "
        "… WHERE newer position`, in one transaction. Its final rows equal metersync's column for column. "
        f"Writing only the {ce['rows']:,} final rows (COPY + upsert, skipping every intermediate change) takes "
        f"{ce['final_only_s']:.1f} s ({_rate(n, ce['final_only_s']):,.0f} events/s): a bound no change-by-change sink can approach, "
        "since it presumes knowing the end state in advance.",
        "",
    ]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    names = ["metersync", "Debezium JDBC sink", "ceiling (COPY + upsert)"]
    vals = [r_ms, r_jd, r_ce]
    bars = ax.barh(names, vals, color=["#1f77b4", "#d62728", "#7f7f7f"])
    ax.bar_label(bars, labels=[f"{v:,.0f}/s" for v in vals], padding=3)
    ax.set_xlabel("change events per second (higher is better)")
    ax.set_title(f"{n:,} Debezium change events into Meter Master on PostgreSQL", fontsize=10)
    ax.invert_yaxis()
    ax.set_xlim(0, max(vals) * 1.25)
    fig.tight_layout()
    fig.savefig(plots / "throughput.png", dpi=110)
    plt.close(fig)
    lines += ["![throughput](bench/throughput.png)", ""]
    return lines


def resources_section(tp: dict, plots: Path) -> list[str]:
    n = tp["workload"]["events"]
    ms = tp["metersync"]
    jd = best_jdbc(tp) if tp.get("jdbc") else None
    per_m = 1_000_000 / n
    lines = ["## 3. Resources while draining", "",
             "| process | peak RSS | CPU seconds | CPU s per million events | wall s |", "|---|---:|---:|---:|---:|",
             f"| metersync | {ms['peak_rss'] / MB:.0f} MiB (VmHWM {ms['hwm'] / MB:.0f} MiB) | {ms['cpu_s']:.1f} | "
             f"{ms['cpu_s'] * per_m:.1f} | {ms['elapsed_s']:.1f} |"]
    lm = tp.get("metersync_lowmem")
    if lm:
        lines.append(f"| metersync, low memory (batch {lm['batch']}, prefetch {_prefetch_mib(lm)} MiB) | {lm['peak_rss'] / MB:.0f} MiB (VmHWM {lm['hwm'] / MB:.0f} MiB) | "
                     f"{lm['cpu_s']:.1f} | {lm['cpu_s'] * per_m:.1f} | {lm['elapsed_s']:.1f} |")
    lines.append(f"| PostgreSQL backend serving metersync (default settings) | – | {ms['postgres_backend_cpu_s']:.1f} | "
                 f"{ms['postgres_backend_cpu_s'] * per_m:.1f} | {ms['elapsed_s']:.1f} |")
    if jd:
        lines.append(f"| Kafka Connect worker (JVM) running the JDBC sink | {jd['peak_rss'] / MB:.0f} MiB | {jd['cpu_s']:.1f} | "
                     f"{jd['cpu_s'] * per_m:.1f} | {jd['elapsed_s']:.1f} |")
    lines += ["",
              "RSS is sampled from `/proc/<pid>/status` every 0.2 s during the drain (metersync's VmHWM is the kernel's own peak); "
              "CPU is user + system time from `/proc/<pid>/stat` over the drain. The Connect worker is the stack's shared worker "
              "(heap `-Xmx` from `STACK_JVM_HEAP`, 1 GiB by default); it also hosts the two Debezium source connectors, "
              "idle or nearly so during the run.", ""]
    return lines


def scrape_section(tp: dict) -> list[str]:
    """The same drain with the HTTP listener on, scraped every second or not (A B A B)."""
    runs = tp.get("scrape")
    if not runs:
        return []
    off = [r for r in runs if "scrapes" not in r]
    on = [r for r in runs if "scrapes" in r]
    lines = ["### What a scrape every second costs", "",
             "The same drain again with metersync's HTTP listener on (`http.listen`), left alone or with "
             "`GET /metrics` every second from the bench (as a Prometheus server would), alternated "
             "off, on, off, on so that the machine's drift shows in the spread of each pair:", "",
             "| drain | wall s | changes/s | CPU s | scrapes (ok / failed) | scrape p50 / max | body |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    n = tp["expect"]["records"]
    for r in runs:
        sc = r.get("scrapes")
        lines.append(f"| {r['label']} | {r['elapsed_s']:.1f} | {n / r['elapsed_s']:,.0f} | {r['cpu_s']:.1f} | "
                     + (f"{sc['ok']} / {sc['failed']} | {sc['p50_ms']:.1f} / {sc['max_ms']:.1f} ms | {sc['body_bytes'] / 1024:.0f} KiB |"
                        if sc and sc['ok'] else "– | – | – |"))
    if off and on:
        mean = lambda rs: sum(r["elapsed_s"] for r in rs) / len(rs)  # noqa: E731
        spread = max(r["elapsed_s"] for r in off) - min(r["elapsed_s"] for r in off)
        lines += ["", f"Scraped ÷ not scraped, mean wall time: **{mean(on) / mean(off):.3f}** "
                      f"(the two unscraped drains differ by {spread:.1f} s, "
                      f"{100 * spread / mean(off):.1f}% of their mean: the noise of this run)."]
    return lines + [""]


def endpoint_drain_section(tp: dict) -> list[str]:
    """The endpoint path's sustained rate beside the table path's, both draining the same backlog
    from one metersync at once, with parallel and with serial delivery."""
    runs = tp.get("endpoint_drain")
    if not runs:
        return []
    lines = ["### The endpoint path's sustained rate", "",
             "The same backlog drained by one metersync into Meter Master and, at the same time, posted to a "
             "metersync-endpoint of its own on this machine (each destination has its own consumer group, so they "
             "race each other and the endpoint service for the two cores). A destination's progress is what it "
             "committed: the offsets table for Meter Master, the dispatcher group's committed offsets for the endpoint "
             "(a batch is committed once the endpoint acknowledged it). A drain not finished within "
             f"{runs[0]['limit_s']:.0f} s is reported at the rate it kept until then.", "",
             "| endpoint.max_in_flight | Meter Master changes/s | endpoint changes/s | endpoint ÷ Meter Master | "
             "events the endpoint stored | metersync CPU s | endpoint service CPU s |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        mm, ep = r["meter_master"], r["endpoint"]
        note = lambda d: "" if d["drained"] else f" (in {d['seconds']:.0f} s, not drained)"  # noqa: E731
        lines.append(f"| {r['max_in_flight']} | {mm['per_s']:,.0f}{note(mm)} | **{ep['per_s']:,.0f}**{note(ep)} | "
                     f"{ep['per_s'] / mm['per_s'] if mm['per_s'] else float('nan'):.2f} | {r['endpoint_events_received']:,} | "
                     f"{r['metersync_cpu_s']:.1f} | {r['endpoint_service_cpu_s']:.1f} |")
    if len(runs) > 1 and runs[1]["endpoint"]["per_s"]:
        lines += ["", f"Parallel ÷ serial delivery, endpoint rate: **{runs[0]['endpoint']['per_s'] / runs[1]['endpoint']['per_s']:.2f}**."]
    return lines + [""]


def shape_section(tp: dict) -> list[str]:
    sh = tp["shape"]
    lines = ["### The events are Debezium's shape", "",
             f"Templates: one real message of each kind read from the stack's `postgres.public.meter` topic "
             f"(Debezium {', '.join(sorted(set(sh['template_versions'].values())))}). A generated message keeps the captured bytes up to "
             "`\"payload\":` (the schema block) and writes the payload with the captured key order and the "
             "connector's encodings (Decimal bytes, VariableScaleDecimal, Date days, ZonedTimestamp, Json text, Uuid text). "
             "The generator re-encodes each captured payload and checks it gets the captured bytes back. Then "
             "`bench/shape.py` decodes captured and generated messages with the same decoder and compares schema JSON, "
             "schema bytes, key schema, payload key order and the JSON type of every field:", "",
             f"- compared per kind: {sh['compared']}; tombstones seen: {sh['tombstones_seen']}",
             f"- differences: {sh['problems'] or 'none'} → **{'identical shape' if sh['identical_shape'] else 'DIFFERENT'}**", ""]
    return lines


def settings_section(tp: dict) -> list[str]:
    import json as _json
    ms = tp["metersync"]
    jd = best_jdbc(tp) if tp.get("jdbc") else None
    lines = ["### Exact settings", "",
             f"metersync (`bench/throughput.py`, `Bench.metersync_config`): `kafka.bootstrap_servers`, "
             f"`sink.dialect: postgres` over psqlODBC (`Driver={{PostgreSQL Unicode}}`), `sink.max_batch_events: {ms['batch']}`, "
             "`sink.max_batch_wait_ms: 5` (the default), no `kafka.properties` (metersync's consumer defaults over librdkafka's, "
             "listed in docs/design.md), the shipped PostgreSQL mapping of "
             "`config/metersync.yaml`, one pipeline (the source), no endpoint.", ""]
    if jd:
        shown = {k: v for k, v in jd["settings"].items() if k not in ("connection.password",)}
        lines += ["Debezium JDBC sink connector 3.6.0 (`io.debezium.connector.jdbc.JdbcSinkConnector`), created with "
                  "`PUT /connectors/<name>/config` on the stack's Connect worker (Kafka Connect 4.3, `-Xmx1g`, G1):", "",
                  "```json", _json.dumps(shown, indent=1), "```", "",
                  "The table it created: " + ", ".join(f"`{c}` {t}" for c, t in jd["column_types"].items()) +
                  ". (It maps Debezium's VariableScaleDecimal to double precision: `last_reading` is not exact there; "
                  "metersync writes DECIMAL(18,3).)", ""]
    return lines


def write(results: dict, md: Path, plots: Path) -> None:
    plots.mkdir(parents=True, exist_ok=True)
    out = ["# Benchmarks", "",
           "<!-- Generated by bench/run from docs/bench/results.json; rerun it rather than editing. -->", "",
           "`bench/run` measures metersync on the local stack (`./stack up`) against Debezium's JDBC sink "
           "connector in the stack's Kafka Connect worker and against what PostgreSQL itself takes. "
           "`bench/run --help` lists the options; `--events` scales the throughput part, `--parts` runs parts alone.", ""]
    tp = results.get("throughput")
    if tp:
        m = tp["machine"]
        out += ["## Machine", "",
                f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, kernel {m['kernel']}; "
                f"PostgreSQL {m['postgres']}, {m['java']}, Kafka 4.3, Debezium 3.6 (JDBC sink 3.6.0); metersync at `{m['git']}`. "
                f"Load average at the start (1, 5, 15 min): {m['loadavg_at_start']}: what else the machine was doing "
                "shows there; the stack's own services run beside every system measured, and the systems of a part run "
                "one after the other on the same stack.", ""]
        out += targets_section(results)
        out += throughput_section(tp, plots) + shape_section(tp)
        if results.get("jdbc_sweep"):
            out += sweep_section(results["jdbc_sweep"])
        out += settings_section(tp) + profile_section(tp) + ceiling_analysis(tp) + resources_section(tp, plots) + scrape_section(tp) + endpoint_drain_section(tp)
    lat = results.get("latency")
    if lat:
        import latency
        out += latency.section(lat, plots)
    st = results.get("startup")
    if st:
        import startup
        out += startup.section(st)
    sq = results.get("sqlserver")
    if sq:
        import sqlserver
        out += sqlserver.section(sq)
    else:
        out += ["## The SQL Server path", "",
                "No SQL Server runs on these machines, so `bench/run` measures the PostgreSQL sink. The SQL Server "
                "dialect's throughput was measured over TDS against **Babelfish for PostgreSQL 4.3.0, not SQL Server**, by "
                "the opt-in suite's `tests/integration/test_sqlserver_throughput.py` (20,000 new, updated and stale changes "
                "with each dialect, side by side in one run); its figures and what they do and do not say are in "
                "[sqlserver.md](sqlserver.md#throughput-of-the-sql-server-path--on-babelfish-not-sql-server).", ""]
    sc = results.get("scale")
    if sc:
        import scale
        out += scale.section(sc)
    ve = results.get("verify")
    if ve:
        import verify
        out += verify.section(ve)
    hist = results.get("history", [])
    if len(hist) > 1:
        out += ["## Earlier runs", "",
                "The throughput part of each run stored here (same command, same machine); the spread is the shared "
                "machine's load, which moves all systems but not equally (the JDBC sink's three tasks gain most from idle cores).", "",
                "| run | date | events | load average (1, 5, 15 min) | metersync | JDBC sink | ratio | ceiling | metersync peak RSS |",
                "|---|---|---:|---|---:|---:|---:|---:|---:|"]
        for h in hist:
            ratio = f"{h['metersync'] / h['jdbc']:.1f}×" if h.get("jdbc") else "–"
            out.append(f"| `{h['run_id']}` | {h['date']} | {h['events']:,} | {h['loadavg_at_start']} | {h['metersync']:,.0f}/s | "
                       f"{(h['jdbc'] or 0):,.0f}/s | {ratio} | {h['ceiling']:,.0f}/s | {h['metersync_peak_rss'] / MB:.0f} MiB |")
        out.append("")
    times = [(name, results[name]["part_s"]) for name in ("throughput", "latency", "startup", "sqlserver", "scale", "verify")
             if results.get(name, {}).get("part_s")]
    if times:
        out += ["## Running time", "",
                "Each part's wall time in the run recorded here: " + ", ".join(f"{n} {t / 60:.1f} min" for n, t in times) +
                f"; {sum(t for _, t in times) / 60:.1f} min in all (the bench command's limit is 30 minutes on this 2-core machine).", ""]
    md.write_text("\n".join(out) + "\n")


def sweep_section(sw: dict) -> list[str]:
    n = sw["workload"]["events"]
    lines = ["### JDBC sink settings tried", "",
             f"`bench/run --parts throughput --jdbc-sweep --events {sw['events_requested']:,}` ({sw['date']}): the same "
             f"kind of workload ({n:,} events), one connector after the other in the same worker, each from the topic's start "
             "into a table of its own. All with `insert.mode=upsert`, `delete.enabled=true`, `primary.key.mode=record_key`, "
             "`primary.key.fields=meter_id`, `schema.evolution=basic`, JSON converters with schemas (as the topic is written). "
             "The first run also pays the JIT warm-up of the connector's code.", "",
             "| batch.size | consumer max.poll.records | fetch.max.bytes / max.partition.fetch.bytes | tasks.max | time | events/s |",
             "|---:|---:|---|---:|---:|---:|"]
    for r in sw["jdbc"]:
        s = r["settings"]
        fetch = (f"{int(s['consumer.override.fetch.max.bytes']) // MB} MiB / {int(s['consumer.override.max.partition.fetch.bytes']) // MB} MiB"
                 if "consumer.override.fetch.max.bytes" in s else "defaults (50 MiB / 1 MiB)")
        lines.append(f"| {s.get('batch.size')} | {s.get('consumer.override.max.poll.records')} | {fetch} | {s.get('tasks.max', '1')} | "
                     f"{r['elapsed_s']:.1f} s | {_rate(n, r['elapsed_s']):,.0f} |")
    ms = sw["metersync"]
    lines += ["", f"metersync on the same topic in that run: {ms['elapsed_s']:.1f} s, {_rate(n, ms['elapsed_s']):,.0f} events/s.", ""]
    return lines


def profile_section(tp: dict) -> list[str]:
    ms = tp["metersync"]
    if not ms.get("profiles"):
        return []
    n = tp["workload"]["events"]
    lines = ["### Where metersync's time goes", "",
             f"During the measured drain ({ms['elapsed_s']:.1f} s wall), metersync used {ms['cpu_s']:.1f} CPU seconds and the "
             f"PostgreSQL backend serving its connection {ms['postgres_backend_cpu_s']:.1f}: "
             f"{100 * ms['cpu_s'] / ms['elapsed_s']:.0f}% and {100 * ms['postgres_backend_cpu_s'] / ms['elapsed_s']:.0f}% of one core. "
             f"`perf record -e cpu-clock -F 499` sampled both processes (on-CPU time only; the rest is waiting on each other "
             "and on Kafka). Self time by shared object, then the top symbols:", ""]
    for p in ms["profiles"]:
        if "error" in p:
            lines.append(f"- {p['name']}: {p['error']}")
            continue
        if not p["dso"]:
            continue  # an idle connection (metersync's start-up checks)
        lines += [f"**{p['name']}** ({p['samples']} samples)", "", "```"] + p["dso"] + ["", *p["top"], "```", ""]
    return lines


def _share(rows: list[str], needle: str) -> float:
    total = 0.0
    for r in rows:
        if needle in r:
            try:
                total += float(r.split("%", 1)[0])
            except ValueError:
                pass
    return total


def targets_section(results: dict) -> list[str]:
    tp = results.get("throughput")
    lat = results.get("latency")
    lines = ["## Targets", "", "| target | measured | |", "|---|---|---|"]
    if tp and tp.get("jdbc"):
        n = tp["workload"]["events"]
        ms, ce, jd = tp["metersync"], tp["ceiling"], best_jdbc(tp)
        r_ms, r_jd, r_ce = _rate(n, ms["elapsed_s"]), _rate(n, jd["elapsed_s"]), _rate(n, ce["elapsed_s"])
        x = r_ms / r_jd
        lines.append(f"| metersync ≥ 5× the JDBC sink | {x:.1f}× ({r_ms:,.0f} vs {r_jd:,.0f} events/s) | "
                     + ("met" if x >= 5 else f"**missed** by {5 - x:.1f}× (needs {5 * r_jd:,.0f} events/s, {5 * r_jd / r_ms:.1f}× its rate); "
                        "the JDBC sink's best setting runs 3 tasks, metersync one pipeline (a reading and a writing thread); see *Where metersync's time goes*") + " |")
        pc = 100 * r_ms / r_ce
        lines.append(f"| metersync ≥ 70% of the database ceiling | {pc:.0f}% ({r_ms:,.0f} vs {r_ce:,.0f} events/s) | "
                     + ("met" if pc >= 70 else f"**missed** by {70 - pc:.0f} points (needs {0.7 * r_ce:,.0f} events/s, {0.7 * r_ce / r_ms:.1f}× its rate); see *Where metersync's time goes*") + " |")
        mb = ms["peak_rss"] / MB
        lm = tp.get("metersync_lowmem")
        alt = (f"; with batch {lm['batch']} and a {_prefetch_mib(lm)} MiB prefetch "
               f"{lm['peak_rss'] / MB:.0f} MiB at {_rate(n, lm['elapsed_s']):,.0f} events/s") if lm else ""
        lines.append(f"| ≤ 100 MB resident at full speed | {mb:.0f} MiB peak ({mb * MB / 1e6:.0f} MB){alt} | "
                     + ("met" if mb * MB <= 100e6 else f"**missed** by {mb * MB / 1e6 - 100:.0f} MB at the default settings: librdkafka's "
                        "prefetch queue (`queued.max.messages.kbytes`) plus the two batches held (one being written, one filling)") + " |")
    if lat:
        for p in lat["phases"]:
            if p["rate"] == 1000:
                s = p["metersync_sink"]["p99"]
                e = p["metersync_endpoint"]["p99"]
                sr = p.get("metersync_sink_after_readable", {}).get("p99", float("nan"))
                st = p["settings"]
                er = p.get("metersync_endpoint_after_readable", {}).get("p99", float("nan"))
                lines.append(f"| ≤ 20 ms added by metersync at p99, 1,000/s ({p['target']}, {p['achieved_rate']:,.0f}/s done, batch wait {st['sink.max_batch_wait_ms']} ms, "
                             f"endpoint linger {st['endpoint.linger_ms']} ms) | readable on Kafka → row p99 {sr:.0f} ms, → endpoint {er:.0f} ms "
                             f"(from the Kafka timestamp: {s:.0f} and {e:.0f} ms) | "
                             + ("row: met" if sr <= 20 else f"row: **missed** by {sr - 20:.0f} ms") + "; "
                             + ("endpoint: met" if er <= 20 else f"endpoint: **missed** by {er - 20:.0f} ms")
                             + ("" if sr <= 20 and er <= 20 else "; see *Reading the figures* in part 2") + " |")
    if results.get("verify"):
        import verify
        lines += verify.target_rows(results["verify"])
    lines.append("")
    return lines


def _prefetch_mib(run: dict) -> int:
    """The consumer prefetch bound of a drain: its kafka.properties, else metersync's default."""
    return int(run["kafka_properties"].get("queued.max.messages.kbytes", 12288)) // 1024


def ceiling_analysis(tp: dict) -> list[str]:
    ms = tp["metersync"]
    prof = {p["name"].split("-")[0]: p for p in ms.get("profiles", []) if "error" not in p}
    m, pg = prof.get("metersync"), prof.get("postgres")
    if not m or not pg:
        return []
    wall = ms["elapsed_s"]
    mib = tp["workload"].get("bytes", 0) / MB

    def top(rows: list[str], k: int) -> str:
        return ", ".join(f"{r.split(None, 1)[1]} {r.split('%', 1)[0]}%" for r in rows[:k])

    return [f"Reading the figures: a pipeline runs two threads, one that fetches, decodes and maps the next batch while the "
            f"other writes the current one (one `INSERT … SELECT` from a JSON document of the batch's rows, the offsets, the "
            f"commit), so metersync's CPU ({ms['cpu_s']:.1f} s, {100 * ms['cpu_s'] / wall:.0f}% of one core over {wall:.1f} s) and "
            f"its backend's ({ms['postgres_backend_cpu_s']:.1f} s, {100 * ms['postgres_backend_cpu_s'] / wall:.0f}%) overlap. "
            f"metersync's samples by shared object: {top(m['dso'], 4)}; the backend's: {top(pg['dso'], 3)}. "
            + (f"metersync reads every event whole from Kafka ({mib:,.0f} MiB, mostly the schema block Debezium repeats in "
               "each message) and decodes and maps it; " if mib else "metersync decodes and maps every event; ")
            + "the ceiling starts from rows mapped beforehand (not timed) and sends them with `COPY`, which the server "
            "takes without parsing a document. The symbol lists above say which of these costs leads.", ""]
