"""Operating metersync: a real Prometheus scrapes its /metrics and reads back what it did, and
/readyz tells which destination stalls and why, on the real stack.

Every test runs the endpoint rig of test_dispatch_endpoint.py (two endpoint services of the
test's own, metersync sending to them) so that both destinations of both sources are healthy to
begin with. The stall time is 3 s (METERSYNC_STALL_AFTER_MS) so a stall shows quickly.
"""
from __future__ import annotations

import json
import re
import time

import pytest

from metersync_harness import CuttableRelay, offsets, wait_until
from prometheus_harness import Prometheus
from test_dispatch_endpoint import TOPICS, load, rig  # noqa: F401  (rig is a fixture)

STALL_MS = 3000
WAIT_S = 600
DESTINATIONS = [(s, d) for s in TOPICS for d in ("meter_master", "endpoint")]


@pytest.fixture
def quick_stall(monkeypatch):
    monkeypatch.setenv("METERSYNC_STALL_AFTER_MS", str(STALL_MS))


def readyz(ms) -> tuple[int, dict]:
    status, body = ms.get("/readyz")
    return status, (json.loads(body) if status else {"error": body})


def verdicts(body: dict) -> dict[tuple[str, str], dict]:
    return {(d["source"], d["destination"]): d for d in body.get("destinations", [])}


def wait_ready(ms, what: str) -> dict:
    last = [None]

    def ready():
        status, body = last[0] = readyz(ms)
        return status == 200 and body
    try:
        return wait_until(ready, WAIT_S, what, interval=0.5)
    except AssertionError as e:
        raise AssertionError(f"{e}; last /readyz: {last[0]}\n{ms.log_tail()}") from None


def caught_up(ms) -> bool:
    s = ms.status()
    return bool(s) and all(s["sources"][x]["lag"] == 0 and s["sources"][x]["records_applied"] > 0 for x in TOPICS)


def applied_in_sink(sink, names, source: str) -> int:
    return sum(r["records_applied"] for r in offsets(sink, names)
               if r["pipeline"] == names.group(source) and r["topic"] == TOPICS[source])


def settled_expr(source: str) -> str:
    """What Prometheus says the Meter Master pipeline settled: changes written, dead letters and
    tombstones; together they are every record the stored offsets cover."""
    def total(metric: str, labels: str) -> str:
        return f"(sum({metric}{{{labels}}}) or vector(0))"
    mm = f'source="{source}",destination="meter_master"'
    return " + ".join([total("metersync_changes_written_total", f'source="{source}"'),
                       total("metersync_dead_letters_total", mm),
                       total("metersync_tombstones_skipped_total", mm)])


def test_prometheus_reads_back_what_metersync_did(stack, rig, tmp_path):
    endpoints, ms, recorders, sink = rig
    prometheus = Prometheus(tmp_path, [f"127.0.0.1:{ms.http_port}"])
    try:
        ms.start()
        wait_until(lambda: caught_up(ms), WAIT_S, "metersync to catch up with both topics", interval=1)
        prometheus.wait_value('up{job="metersync"}', lambda v: v == 1, 60, "Prometheus to scrape metersync")

        # Changes written, dead letters and tombstones add up to the records the sink's own
        # offsets table says were applied, as Prometheus has them.
        load(stack, 120, seed=71)
        wait_until(lambda: caught_up(ms), WAIT_S, "metersync to catch up after the load", interval=1)
        for source in TOPICS:
            # Read together: the connector may still be producing the load's last records.
            seen = {}

            def settled_equals_applied(source=source):
                seen["applied"] = applied_in_sink(sink, names=ms.names, source=source)
                seen["prometheus"] = prometheus.value(settled_expr(source))
                return seen["prometheus"] == seen["applied"]
            try:
                wait_until(settled_equals_applied, 120, f"{source}: changes + dead letters + tombstones = "
                           "the records the offsets table says were applied", interval=1)
            except AssertionError as e:
                raise AssertionError(f"{e}: {seen}") from None
            applied = seen["applied"]
            prometheus.wait_value(f'sum(metersync_consumer_lag_records{{source="{source}",destination="meter_master"}})',
                                  lambda v: v == 0, 60, f"{source}: Meter Master lag back to 0")
            consumed = prometheus.value(f'metersync_records_consumed_total{{source="{source}",destination="meter_master"}}')
            assert consumed is not None and consumed >= applied
            assert prometheus.value(f'metersync_transaction_duration_seconds_count{{source="{source}"}}') > 0
            # Every committed batch's records: the same total, read from the same scrape (the
            # connector may still be adding records, so not against `applied` read before).
            prometheus.wait_value(f'sum(metersync_batch_records_sum{{source="{source}",destination="meter_master"}})'
                                  f' - ({settled_expr(source)})', lambda v: v == 0, 60,
                                  f"{source}: the batches' records = changes + dead letters + tombstones")
            assert prometheus.value(f'sum(metersync_endpoint_posts_total{{source="{source}",status="200"}})') > 0

        # A record that is not a Debezium envelope: one dead letter (stage decode) on each
        # destination, seen in the counters and by the shipped alert rules.
        dl = 'metersync_dead_letters_total{source="postgres",destination="%s",stage="decode"}'
        before = {d: prometheus.value(dl % d) or 0 for d in ("meter_master", "endpoint")}
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": stack["KAFKA_BOOTSTRAP"]})
        p.produce(TOPICS["postgres"], key=b'{"id":"operate-test"}', value=b"not an envelope")
        assert p.flush(30) == 0
        for d in ("meter_master", "endpoint"):
            prometheus.wait_value(dl % d, lambda v, b=before[d]: v == b + 1, 120, f"one more dead letter ({d})")
        prometheus.wait_value('count(ALERTS{alertname="MetersyncDeadLetters",source="postgres",stage="decode"})',
                              lambda v: v == 1, 60, "the MetersyncDeadLetters alert")
        prometheus.wait_value('count(ALERTS{alertname="MetersyncEndpointDeadLetters",source="postgres",stage="decode"})',
                              lambda v: v == 1, 60, "the MetersyncEndpointDeadLetters alert")

        body = wait_ready(ms, "every destination ready")
        assert set(verdicts(body)) == set(DESTINATIONS)
        for source, destination in DESTINATIONS:
            assert prometheus.value(
                f'metersync_destination_ready{{source="{source}",destination="{destination}"}}') == 1
        info = prometheus.query("metersync_build_info")
        assert len(info) == 1 and info[0]["metric"]["librdkafka_version"] and info[0]["metric"]["version"]
        assert prometheus.value("process_resident_memory_bytes") > 1e6
        assert ms.stop() == 0, ms.log_tail()
    finally:
        prometheus.close()


def test_readyz_names_an_unreachable_sink_and_recovers(quick_stall, stack, rig):
    endpoints, ms, recorders, sink = rig
    relay = CuttableRelay(int(stack["PG_PORT"]))
    try:
        ms.env["SINK_ODBC"] = re.sub(r"(?i)\bPort=\d+", f"Port={relay.port}", ms.env["SINK_ODBC"])
        ms.start()
        wait_until(lambda: caught_up(ms), WAIT_S, "metersync to catch up", interval=1)
        wait_ready(ms, "ready before the cut")

        relay.cut()
        cut_at = time.monotonic()
        load(stack, 40, seed=72)  # work waiting for the sink
        # Not ready within twice the stall time (plus the one-second status tick).
        wait_until(lambda: readyz(ms)[0] == 503, 2 * STALL_MS / 1000 + 2, "/readyz to answer 503", interval=0.2)
        assert time.monotonic() - cut_at <= 2 * STALL_MS / 1000 + 2
        status, body = readyz(ms)
        v = verdicts(body)
        for source in TOPICS:
            mm = v[(source, "meter_master")]
            if not mm["ready"]:
                assert mm["reason"].startswith("sink failing"), mm
                assert mm["since"]
        assert any(not v[(s, "meter_master")]["ready"] for s in TOPICS)
        # The endpoints are not held back by the sink: they stay ready.
        assert all(v[(s, "endpoint")]["ready"] for s in TOPICS), body

        relay.restore()
        wait_ready(ms, "ready again after the sink came back")
        assert ms.stop() == 0, ms.log_tail()
    finally:
        ms.close()
        relay.close()


def test_readyz_names_a_failing_endpoint_and_only_it(quick_stall, stack, rig):
    endpoints, ms, recorders, sink = rig
    ms.start()
    wait_until(lambda: caught_up(ms), WAIT_S, "metersync to catch up", interval=1)
    wait_ready(ms, "ready before the fault")

    endpoints["postgres"].fault("postgres", "status:500")
    load(stack, 20, seed=73, targets=("postgres",))
    wait_until(lambda: readyz(ms)[0] == 503, WAIT_S, "/readyz to answer 503", interval=0.5)
    status, body = readyz(ms)
    v = verdicts(body)
    assert not v[("postgres", "endpoint")]["ready"]
    # "endpoint failing (last status 500)" until endpoint.breaker_failures posts in a row have
    # failed, then the open circuit's reason; the status is named either way.
    reason = v[("postgres", "endpoint")]["reason"]
    assert "endpoint" in reason and "last status 500" in reason, body
    for other in [d for d in DESTINATIONS if d != ("postgres", "endpoint")]:
        assert v[other]["ready"], (other, body)

    endpoints["postgres"].fault("postgres", None)
    wait_ready(ms, "ready again once the endpoint answers 200")
    assert ms.stop() == 0, ms.log_tail()
