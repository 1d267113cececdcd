"""The scrape-cost measurement of the throughput part without a stack: the scraper against a
local HTTP server, and the report's table and ratio from stored drains."""
from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import report  # noqa: E402
import throughput  # noqa: E402


def test_the_scraper_gets_metrics_at_its_period_and_counts_failures_after_the_first_answer():
    served = []

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            served.append(self.path)
            body = b"metersync_records_consumed_total 1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scraper = throughput.Scraper(f"127.0.0.1:{server.server_address[1]}", 0.05)
    deadline = time.monotonic() + 10
    while scraper.ok < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.shutdown()
    server.server_close()
    time.sleep(0.2)  # a scrape or two against the closed port
    result = scraper.stop()
    assert result["ok"] >= 3 and set(served) == {"/metrics"}
    assert result["failed"] >= 1  # the listener went away after answering
    assert result["body_bytes"] == len(b"metersync_records_consumed_total 1\n")
    assert 0 <= result["p50_ms"] <= result["max_ms"]


def test_the_report_gives_the_ratio_and_the_noise_of_the_unscraped_pair():
    def drain(label, elapsed, scraped):
        r = {"label": label, "elapsed_s": elapsed, "cpu_s": 10.0}
        if scraped:
            r["scrapes"] = {"period_s": 1.0, "ok": 20, "failed": 0, "body_bytes": 8192, "p50_ms": 1.5, "max_ms": 4.0}
        return r

    tp = {"expect": {"records": 1_000_000},
          "scrape": [drain("scrape1off", 20.0, False), drain("scrape1on", 21.0, True),
                     drain("scrape2off", 22.0, False), drain("scrape2on", 21.0, True)]}
    text = "\n".join(report.scrape_section(tp))
    assert "| scrape1on | 21.0 | 47,619 | 10.0 | 20 / 0 | 1.5 / 4.0 ms | 8 KiB |" in text
    assert "| scrape1off | 20.0 | 50,000 | 10.0 | – | – | – |" in text
    assert "**1.000**" in text  # 21 ÷ 21
    assert "differ by 2.0 s, 9.5% of their mean" in text
    assert report.scrape_section({"expect": {"records": 1}}) == []
