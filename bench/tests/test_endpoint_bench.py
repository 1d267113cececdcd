"""The endpoint measurements of the bench without a stack: the drain section's rates and ratio,
and the latency part's parallel-against-serial reading, from stored results."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import latency  # noqa: E402
import report  # noqa: E402


def _drain(in_flight: int, mm_s: float, ep_s: float, ep_drained: bool = True) -> dict:
    records = 100_000
    return {"label": f"endpoint{in_flight}", "max_in_flight": in_flight, "limit_s": 120.0,
            "meter_master": {"records": records, "seconds": mm_s, "per_s": records / mm_s, "drained": True},
            "endpoint": {"records": records if ep_drained else 60_000, "seconds": ep_s,
                         "per_s": (records if ep_drained else 60_000) / ep_s, "drained": ep_drained},
            "endpoint_events_received": 95_000, "metersync_cpu_s": 30.0, "endpoint_service_cpu_s": 12.0}


def test_the_drain_section_gives_both_rates_and_parallel_over_serial():
    text = "\n".join(report.endpoint_drain_section({"endpoint_drain": [_drain(4, 10.0, 20.0), _drain(1, 10.0, 50.0)]}))
    assert "| 4 | 10,000 | **5,000** | 0.50 | 95,000 |" in text
    assert "| 1 | 10,000 | **2,000** | 0.20 |" in text
    assert "Parallel ÷ serial delivery, endpoint rate: **2.50**" in text


def test_a_drain_cut_at_the_limit_says_so():
    text = "\n".join(report.endpoint_drain_section({"endpoint_drain": [_drain(4, 10.0, 120.0, ep_drained=False)]}))
    assert "**500** (in 120 s, not drained)" in text
    assert "Parallel ÷ serial" not in text


def test_no_drain_no_section():
    assert report.endpoint_drain_section({}) == []


def _phase(target: str, in_flight: int, endpoint_p99: float, row_p99: float) -> dict:
    s = lambda p99: {"n": 100, "p50": p99 / 2, "p95": p99, "p99": p99, "max": p99, "mean": p99 / 2}  # noqa: E731
    return {"target": target, "rate": 1000, "settings": {"sink.max_batch_wait_ms": 5, "endpoint.linger_ms": 5,
                                                          "endpoint.max_in_flight": in_flight},
            "metersync_endpoint_after_readable": s(endpoint_p99), "metersync_sink_after_readable": s(row_p99)}


def test_parallel_against_serial_reads_the_added_p99_over_the_row_path():
    lat = {"phases": [_phase("postgres", 4, 22.0, 16.0), _phase("postgres", 1, 31.0, 15.0),
                      _phase("mariadb", 4, 30.0, 13.0), _phase("mariadb", 1, 33.0, 13.0)]}
    text = "\n".join(latency.parallel_vs_serial(lat))
    assert "postgres at 1,000/s, readable → endpoint p50 / p99: **11 / 22 ms** with up to 4 posts in flight" in text
    assert "the endpoint adds **+6 ms** at p99 (serial: +16 ms); target ≤ 10 ms: met." in text
    assert "the endpoint adds **+17 ms** at p99 (serial: +20 ms); target ≤ 10 ms: missed by 7 ms." in text


def test_phases_from_before_parallel_delivery_read_as_serial():
    old = _phase("postgres", 1, 25.0, 16.0)
    del old["settings"]["endpoint.max_in_flight"]
    assert latency.in_flight_text(old["settings"]) == "posts one at a time"
    assert latency.parallel_vs_serial({"phases": [old]}) == []
