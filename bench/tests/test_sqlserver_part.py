"""The bench's sqlserver part without a server: without METERSYNC_SQLSERVER_ODBC it returns a
"skipped" record with the reason (touching neither the stack nor the binary), and the report
renders that; a stored measurement renders its table and targets; the pre-mapped ceiling rows
follow the shipped mssql mapping's encodings; the suite's config writer adds sink settings."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import report  # noqa: E402
import sqlserver  # noqa: E402


def test_without_the_variable_the_part_is_skipped_with_the_reason():
    res = sqlserver.run(None, "r1", None, None, 1000, environ={})
    assert res["skipped"] is True
    assert "METERSYNC_SQLSERVER_ODBC is not set" in res["reason"]
    assert json.loads(json.dumps(res)) == res  # stored in results.json as it is


def test_the_report_says_skipped_and_why(tmp_path):
    res = sqlserver.skipped("METERSYNC_SQLSERVER_ODBC is not set (no server)")
    md = tmp_path / "benchmarks.md"
    report.write({"sqlserver": res}, md, tmp_path / "bench")
    text = md.read_text()
    assert "## 5. The SQL Server path" in text
    assert "Skipped" in text and "METERSYNC_SQLSERVER_ODBC is not set (no server)" in text
    assert "No SQL Server runs on these machines" not in text


def test_without_a_stored_sqlserver_part_the_report_keeps_its_earlier_paragraph(tmp_path):
    md = tmp_path / "benchmarks.md"
    report.write({}, md, tmp_path / "bench")
    assert "## The SQL Server path" in md.read_text()


def _drain(rate_records: int, seconds: float, first: int = 1000, start_s: float = 1.0, rss: int = 60 << 20) -> dict:
    return {"records": rate_records + first, "first_applied": first, "first_s": start_s, "last_s": start_s + seconds,
            "steady_records": rate_records, "steady_s": seconds, "steady_rate": rate_records / seconds,
            "rate_with_start": (rate_records + first) / (start_s + seconds), "peak_rss": rss, "hwm": rss,
            "cpu_s": 1.0, "stage": "json", "stage_line": "json: one JSON document per segment"}


def test_a_measurement_renders_its_rates_ratios_and_targets(tmp_path):
    check = {"final_state_matches": True, "sqlserver_rows": 5000, "sqlserver_at_version": 5000, "postgres_rows": 5000,
             "postgres_at_version": 5000, "ceiling_rows": 5000, "ceiling_at_version": 5000,
             "sqlserver_vs_ceiling_differing": 0, "sqlserver_vs_postgres_differing": 0}
    phases = [{"name": name, "changes": 5000, "bytes": 1, "produce_s": 1.0,
               "sqlserver": _drain(4000, 0.2), "postgres": _drain(4000, 0.1),
               "ceiling": {"rows": 5000, "staged": 5000, "document_bytes": 2 << 20, "elapsed_s": 0.25, "chunk": 1000,
                           "documents": 5, "staging_tried_s": {"1000": 0.1, "5000": 0.3},
                           "stage_s": 0.1, "apply_s": 0.15, "rate": 20000.0,
                           "warm": {"staged": 5000, "elapsed_s": 0.125, "stage_s": 0.05, "apply_s": 0.075,
                                    "rate": 40000.0}},
               "ceiling_batched": {"rows": 5000, "batch": 1000, "chunk": 1000, "transactions": 5,
                                   "elapsed_s": 0.5, "rate": 10000.0},
               "check": check} for name in ("new keys", "updates")]
    res = {"skipped": False, "run_id": "r2", "date": "2026-11-28 10:00 UTC", "keys": 5000, "events": 10000,
           "stage_setting": None, "topic_partitions": 1, "phases": phases, "stage": "json",
           "stage_line": "json: one JSON document per segment", "final_state_matches": True,
           "sink": {"max_batch_events": "5000", "max_batch_wait_ms": "5"},
           "server": {"version": "Babelfish for PostgreSQL with SQL Server Compatibility - 12.0.2000.8 (Babelfish 4.3.0)",
                      "babelfish": True, "babelfish_version": "4.3.0", "summary": "Babelfish 4.3, not SQL Server",
                      "database": "MeterMaster", "driver": "FreeTDS", "tds_version": "7.4", "local": True}}
    md = tmp_path / "benchmarks.md"
    report.write({"sqlserver": res}, md, tmp_path / "bench")
    text = md.read_text()
    assert "**Babelfish 4.3, not SQL Server**" in text
    assert "**20,000**/s (4,000 in 0.20 s)" in text          # SQL Server path, first -> last commit
    assert "0.50×" in text and "100%" in text                # vs PostgreSQL (40,000/s), vs the ceiling (20,000/s)
    assert "| SQL Server path ≥ 15,000 changes/s on Babelfish (new keys) | 20,000 changes/s | met |" in text
    assert "| metersync ≤ 100 MB resident | 60 MiB peak" in text
    # The ceiling committed as often as metersync (10,000/s): the SQL Server path is twice it.
    assert "| 10,000/s (0.50 s) | 200% |" in text
    assert "| ≥ 70% of the server's ceiling in transactions of 1,000 rows (updates) | 200% (20,000 vs 10,000 changes/s) | met |" in text
    assert "new keys: 1,000 rows 0.10 s, 5,000 rows 0.30 s → 1,000" in text   # a run stored before the forms
    for p in phases:
        p["ceiling"].update(form="one", staging_tried=[{"rows": 1000, "form": "one", "s": 0.1},
                                                       {"rows": 1000, "form": "each", "s": 0.2},
                                                       {"rows": 5000, "form": "each", "s": 0.3}])
    report.write({"sqlserver": res}, md, tmp_path / "bench")
    text = md.read_text()
    assert ("new keys: 1,000 rows (one statement for all) 0.10 s, 1,000 rows (one statement each) 0.20 s, 5,000 rows "
            "(one statement each) 0.30 s → 1,000 (one statement for all)") in text
    # The ceiling on the connection that staged the whole-phase document (40,000/s): the path is at half of it.
    assert "whole-phase document, into a table of its own" in text and "new keys 40,000/s (0.12 s)" in text
    assert ("| ≥ 70% of the server's ceiling on the connection that staged the whole-phase document (updates) | 50% "
            "(20,000 vs 40,000 changes/s) | **missed** |") in text
    assert "| stage path used (`sink.sqlserver_stage`: not set, auto) | json |" in text
    assert "a batch also ends at 10 MiB of held records (`sink.max_batch_bytes` as shipped)" in text
    res["sink"].update({"max_batch_bytes": str(32 << 20), "batch_bytes_set": True})
    report.write({"sqlserver": res}, md, tmp_path / "bench")
    assert "a batch also ends at 32 MiB of held records (`sink.max_batch_bytes`, `--sqlserver-batch-bytes`" in md.read_text()


def test_ceiling_rows_follow_the_mssql_mapping():
    f = sqlserver.meter_fields(7, 2)
    row = sqlserver.mapped_row(f, sqlserver.ts_ms_of(7, 2), 0x100001)
    names = [c for c, _ in sqlserver.COLUMNS]
    got = dict(zip(names, row))
    assert got["SourceSystem"] == "mssql" and got["SourceMeterId"] == "7"
    assert got["SerialNumber"] == "SN-2-0000007"
    assert got["MeterType"] == "water" and got["Status"] == "active"  # "EWG"[7 % 3], 1 + (7 + 2) % 3
    assert got["SourcePosition"] == "00100001:00000010:0003/00100001:00000010:0002/0000000001"
    assert len(got["LastReadingAt"]) == 26 and len(got["SourceCommittedAt"]) == 23


@pytest.mark.parametrize("settings", [None, {"sqlserver_stage": "rows"}])
def test_suite_config_adds_sink_settings(tmp_path, settings):
    import sqlserver_suite_support as sss
    path = sss.write_suite_config(tmp_path / "c.yaml", dialect="sqlserver", connection_var="X", table="T",
                                  offsets_table="O", truncates_table="R", group_prefix="g",
                                  topics={"mssql": "t"}, dead_letter_topics={"mssql": "t.dlq"},
                                  sink_settings=settings)
    text = path.read_text()
    sink = text.split("\nsink:\n", 1)[1].split("\n\n", 1)[0]
    assert ("  sqlserver_stage: rows" in sink.splitlines()) == bool(settings)
    assert "  connection: ${X}" in sink.splitlines()


def test_the_ceiling_stages_documents_one_statement_each_or_all_in_one():
    one = sqlserver.stage_sql(1)
    assert one.count("?") == 1 and "FROM OPENJSON(?) WITH ([SourceSystem] VARCHAR(16) '$[0]'" in one
    many = sqlserver.stage_sql(3)
    assert many.count("?") == 3
    assert "FROM (VALUES (?), (?), (?)) AS d([document]) CROSS APPLY OPENJSON(d.[document]) WITH (" in many
    assert "[SourcePosition] VARCHAR(100) '$[14]') AS j" in many


def test_the_ceiling_runs_the_one_statement_each_phase_needs():
    create, stage, insert = sqlserver.SqlServerBench.ceiling_sql(None, "T", new_keys=True)
    assert "PRIMARY KEY ([SourceSystem], [SourceMeterId])" in create and stage == sqlserver.stage_sql(1)
    assert insert.startswith("INSERT INTO [dbo].[T] (") and "NOT EXISTS" not in insert
    update = sqlserver.SqlServerBench.ceiling_sql(None, "T", new_keys=False)[2]
    assert update.startswith("UPDATE t SET ") and "FROM [dbo].[T] AS t INNER JOIN #bench_ceiling_stage AS s" in update
    assert update.endswith("WHERE t.[SourcePosition] COLLATE Latin1_General_BIN2 < s.[SourcePosition] COLLATE "
                           "Latin1_General_BIN2")


def test_a_path_drained_several_times_is_its_median_drain():
    fast, middle, slow = _drain(4000, 0.1, rss=70 << 20), _drain(4000, 0.2), _drain(4000, 0.4, rss=90 << 20)
    one = sqlserver.median_drain([dict(fast, round=1), dict(slow, round=2), dict(middle, round=3)])
    assert one["steady_rate"] == 20_000 and one["round"] == 3        # the middle one, whatever the order
    assert one["peak_rss"] == 90 << 20                                 # the largest of the three
    assert [d["steady_rate"] for d in one["drains"]] == [40_000, 10_000, 20_000]   # in the order drained
    # An even count takes the lower middle; a drain with no steady rate counts as the slowest.
    none = dict(_drain(4000, 0.2), steady_rate=None)
    assert sqlserver.median_drain([fast, none])["steady_rate"] is None
    assert sqlserver.median_drain([fast, slow, middle, none])["steady_rate"] == 10_000


def test_the_report_names_every_drain_beside_the_median(tmp_path):
    drains = [_drain(4000, 0.2), _drain(4000, 0.1), _drain(4000, 0.4)]
    pg = [_drain(8000, 0.2), _drain(8000, 0.1), _drain(8000, 0.16)]
    check = {"final_state_matches": True}
    ceiling = {"rows": 5000, "elapsed_s": 0.25, "chunk": 1000, "form": "one", "apply": "update",
               "staging_tried": [{"rows": 1000, "form": "one", "s": 0.1}], "stage_s": 0.1, "rate": 20000.0}
    res = {"skipped": False, "run_id": "r3", "date": "2026-12-07 12:00 UTC", "keys": 5000, "events": 10000, "drains": 3,
           "stage_setting": None, "phases": [{"name": "updates", "changes": 5000, "sqlserver": sqlserver.median_drain(drains),
                                              "postgres": sqlserver.median_drain(pg), "ceiling": ceiling, "check": check}],
           "sink": {"max_batch_events": "5000", "max_batch_wait_ms": "5"},
           "server": {"version": "Babelfish", "babelfish": True, "summary": "Babelfish 4.3, not SQL Server",
                      "database": "MeterMaster"}}
    md = tmp_path / "benchmarks.md"
    report.write({"sqlserver": res}, md, tmp_path / "bench")
    text = md.read_text()
    assert "**20,000**/s (4,000 in 0.20 s; median of 3: 20,000, 40,000, 10,000)" in text
    assert "50,000/s (8,000 in 0.16 s; median of 3: 40,000, 80,000, 50,000)" in text
    assert "| ≥ 0.5× the PostgreSQL path in the same run (updates) | 0.40× (20,000 vs 50,000 changes/s) | **missed** |" in text
    assert "drained each phase 3 times" in text and "the order alternated" in text
