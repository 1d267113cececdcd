"""The bench's verify part without servers: the test's measurement lines are parsed, a skipped
server is named with gtest's reason, and the report renders the table, the 10 s target (met and
missed) beside the other parts' sections, which it leaves as they are."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import report  # noqa: E402
import verify  # noqa: E402


def measurement(source: str, rows: int, equal_s: float) -> dict:
    return {"source": source, "rows": rows, "read_whole_s": 2 * equal_s, "read_whole_cpu_s": equal_s,
            "read_rows": 2 * rows, "equal_s": equal_s, "equal_cpu_s": equal_s / 2, "equal": True,
            "buckets": 65536, "digest_s": 1.5, "first_pass_s": equal_s - 0.1, "differing_s": 2 * equal_s,
            "differences": rows // 1000, "differing_buckets": rows // 1000, "source_passes": 2,
            "meter_master_rows_read": 16 * rows // 1000}


OUTPUT = """[ RUN      ] Servers/VerifyServerTest.MeasureLargeTable/postgres
postgres 1000 rows: read both tables whole 0.1 s
METERSYNC_VERIFY_MEASURE {"source": "postgres", "rows": 1000, "equal_s": 0.5, "equal": true}
[       OK ] Servers/VerifyServerTest.MeasureLargeTable/postgres (10 ms)
[ RUN      ] Servers/VerifyServerTest.MeasureLargeTable/mariadb
../src/verify/tests/server/verify_server_test.cpp:45: Skipped
mariadb skipped: mariadbd not found (install mariadb-server)
[  SKIPPED ] Servers/VerifyServerTest.MeasureLargeTable/mariadb (0 ms)
[  SKIPPED ] Servers/VerifyServerTest.MeasureLargeTable/sqlserver (0 ms)
"""


def test_the_measurement_lines_and_skipped_servers_are_read_from_the_output():
    assert verify.parse(OUTPUT) == [{"source": "postgres", "rows": 1000, "equal_s": 0.5, "equal": True}]
    assert verify.skipped_sources(OUTPUT) == {"mariadb": "mariadb skipped: mariadbd not found (install mariadb-server)"}


def test_the_report_renders_the_part_and_its_target(tmp_path):
    runs = [{"rows": 100_000, "measurements": [measurement("postgres", 100_000, 1.2), measurement("mariadb", 100_000, 1.9)],
             "skipped": {}, "loadavg_before": [1.0, 1.0, 1.0], "loadavg_after": [2.0, 1.0, 1.0], "wall_s": 60},
            {"rows": 1_000_000, "measurements": [measurement("postgres", 1_000_000, 9.5), measurement("mariadb", 1_000_000, 12.25)],
             "skipped": {}, "loadavg_before": [2.0, 1.0, 1.0], "loadavg_after": [3.0, 2.0, 1.0], "wall_s": 600}]
    md = tmp_path / "benchmarks.md"
    other = {"skipped": True, "reason": "no server", "date": "2026-12-06 20:00 UTC"}
    report.write({"verify": {"date": "2026-12-06 22:00 UTC", "runs": runs}, "sqlserver": other}, md, tmp_path / "bench")
    text = md.read_text()
    assert "## 7. Verify: Meter Master against the source tables" in text
    assert "| PostgreSQL | 1,000,000 | 19.0 s | **9.5 s** | 4.8 s |" in text
    assert "| MariaDB | 100,000 | 3.8 s | **1.9 s** | 0.9 s |" in text
    assert "| an equal 1,000,000-row table verified in under 10 s (postgres) | 9.5 s | met |" in text
    assert "| an equal 1,000,000-row table verified in under 10 s (mariadb) | 12.2 s | **missed** by 2.2 s |" in text
    # the other part's section is still rendered from its own record
    assert "## 5. The SQL Server path" in text and "no server" in text


def test_a_size_without_the_target_row_count_says_not_measured():
    v = {"runs": [{"rows": 2000, "measurements": [measurement("postgres", 2000, 0.1)], "skipped": {}}]}
    assert all("not measured" in line for line in verify.target_rows(v))
