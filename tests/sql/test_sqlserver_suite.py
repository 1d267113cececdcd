"""The sink's SQL Server path end to end on a SQL Server-compatible server (opt-in).

Set METERSYNC_SQLSERVER_ODBC to an ODBC connection string (FreeTDS) of SQL Server or
Babelfish; the sink's real-server tests then run their `sqlserver` (JSON stage) and
`sqlserver_rows` (multi-row INSERT stage) variants against it:
init, staged upserts with the stale-position guard, soft deletes, truncates, offsets in
the same transaction, exact round-trips, concurrent writers. Without it this is skipped
with the reason (CI has no SQL Server).

The same variable enables the end-to-end part through the metersync binary
(tests/integration/test_sqlserver_*.py); docs/sqlserver.md describes both.
"""
import os
import subprocess

import pytest

from test_tsql_statements import built_tool

CONNECTION = os.environ.get("METERSYNC_SQLSERVER_ODBC", "")


@pytest.mark.skipif(not CONNECTION, reason="SQL Server suite skipped: METERSYNC_SQLSERVER_ODBC is not set "
                                           "(no SQL Server-compatible server to run the sink's SQL Server path on)")
def test_sink_sqlserver_path():
    result = subprocess.run([built_tool("sink_server_test"), "--gtest_filter=*sqlserver:*sqlserver_rows"],
                            capture_output=True, text=True, timeout=900)
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "FAILED" not in result.stdout
    assert "[  PASSED  ]" in result.stdout
    # Both stage paths ran: every test has a json and a rows variant.
    assert result.stdout.count("/sqlserver_rows (") >= 2 and result.stdout.count("/sqlserver (") >= 2
